"""NumPy arrays in and out: every dtype, non-contiguous and zero-size arrays,
and the errors for what does not fit."""
import threading

import numpy as np
import pytest

import cairn


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("backend", ["cpu", "interpreter"])
def test_identity_round_trip(dtype, backend):
    f = cairn.jit(lambda x: x, backend=backend)
    a = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    out = f(a)
    assert out.dtype == a.dtype and out.shape == a.shape
    np.testing.assert_array_equal(out, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_arithmetic_per_dtype(dtype):
    f = cairn.jit(lambda x, y: (x + y) * 2)
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    np.testing.assert_array_equal(f(a, a), (a + a) * 2)


def test_non_contiguous_inputs():
    f = cairn.jit(lambda x: x * 1.0)
    base = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    for view in (base.T, base[:, ::2, 1:], base[::-1], base.transpose(1, 0, 2)[1:3]):
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(f(view), view)
    # Fortran order, broadcast (zero stride) views.
    np.testing.assert_array_equal(f(np.asfortranarray(base)), base)
    b = np.broadcast_to(np.arange(3, dtype=np.float32), (4, 3))
    np.testing.assert_array_equal(f(b), b)


def test_zero_size_dims():
    f = cairn.jit(lambda x: (x * 2.0, x.sum(axis=0)))
    for shape in ((0,), (0, 3), (3, 0), (2, 0, 4)):
        a = np.zeros(shape, np.float32)
        y, s = f(a)
        assert y.shape == shape
        np.testing.assert_array_equal(s, a.sum(0))


def test_scalars_and_zero_rank():
    f = cairn.jit(lambda x, n: x * 2.0 + n.astype(cairn.f32))
    out = f(np.float32(1.5), 2)
    assert out.shape == () and float(out) == 5.0


def test_outputs_are_owned_arrays():
    f = cairn.jit(lambda x: x + 1.0)
    a = np.zeros(4, np.float32)
    outs = [f(a) for _ in range(3)]
    outs[0][0] = 42.0  # writable, and not shared with later results
    np.testing.assert_array_equal(outs[1], np.ones(4))
    del outs
    assert f(a).flags.writeable


def test_cache_per_signature():
    f = cairn.jit(lambda x: x * 2.0)
    f(np.ones(3, np.float32))
    f(np.ones(3, np.float32))
    f(np.ones(4, np.float32))
    f(np.ones(3, np.float64))
    assert len(f._cache) == 3


def test_threads_share_a_compiled_function():
    f = cairn.jit(lambda x: (x @ x.T).sum())
    a = np.ones((8, 8), np.float32)
    want = f(a)
    results = []

    def work():
        for _ in range(20):
            results.append(float(f(a)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [float(want)] * 80


def test_unsupported_dtype_is_a_type_error():
    f = cairn.jit(lambda x: x)
    with pytest.raises(TypeError):
        f(np.zeros(3, np.uint8))
    with pytest.raises(TypeError):
        f(np.zeros(3, np.complex64))


def test_threads_trace_independently():
    results, errors = {}, []

    def work(k):
        try:
            f = cairn.jit(lambda x: cairn.fori_loop(0, k, lambda i, c: c + x, x))
            results[k] = float(f(np.float32(1.0)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert results == {k: float(k + 1) for k in range(1, 6)}


def copies():
    copied, _, borrowed = cairn._cairn.input_stats()
    return copied, borrowed


def test_row_major_inputs_are_borrowed_not_copied():
    """Row-major, aligned arrays (fresh NumPy arrays, results fed back,
    contiguous slices) are read in place; strided or misaligned ones are
    gathered into a copy. Either way the answer is the same and the caller's
    array is never written."""
    f = cairn.jit(lambda x: x * 2.0)
    before = copies()
    y = f(np.ones((3, 4), np.float32))
    assert copies() == (before[0], before[1] + 1)
    before = copies()
    z = f(y)
    assert copies() == (before[0], before[1] + 1)  # borrowed, not copied
    np.testing.assert_array_equal(z, 4.0)
    np.testing.assert_array_equal(y, 2.0)  # intact and still usable after the run
    y[0, 0] = 5.0  # the same memory: a write shows in the next call
    assert f(y)[0, 0] == 10.0
    y[0, 0] = 2.0

    for view, borrowed in [(y[1:], True), (y.reshape(4, 3), True), (y.copy(), True),
                           (y[:, :1], False), (y[:, ::2], False), (y.T, False),
                           (np.asfortranarray(y), False), (y[::-1], False)]:
        before = copies()
        out = f(view)
        want = (before[0], before[1] + 1) if borrowed else (before[0] + 1, before[1])
        assert copies() == want, (view.shape, view.strides)
        np.testing.assert_array_equal(out, view * 2.0)
    same_bytes = y.view(np.int32)
    before = copies()
    np.testing.assert_array_equal(cairn.jit(lambda x: x + 0)(same_bytes), same_bytes)
    assert copies() == (before[0], before[1] + 1)

    # Misaligned memory (a float32 array one byte into a buffer): copied.
    raw = np.zeros(17, np.uint8)
    odd = np.frombuffer(raw.data, dtype=np.float32, count=4, offset=1)
    assert odd.ctypes.data % 4 != 0
    before = copies()
    np.testing.assert_array_equal(f(odd), 0.0)
    assert copies() == (before[0] + 1, before[1])

    # The same array twice in one call, and an update of an input: the
    # caller's memory is read, never written.
    g = cairn.jit(lambda a, b: a - b)
    before = copies()
    np.testing.assert_array_equal(g(z, z), 0.0)
    assert copies() == (before[0], before[1] + 2)
    upd = cairn.jit(lambda x: x.at[1].set(9.0))
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(upd(x), [0, 9, 2, 3])
    np.testing.assert_array_equal(x, [0, 1, 2, 3])


def test_borrowed_inputs_on_the_interpreter_and_after_errors():
    f = cairn.jit(lambda x: x + 1.0, backend="interpreter")
    y = f(np.zeros(3, np.float32))
    before = copies()
    np.testing.assert_array_equal(f(y), 2.0)
    assert copies() == (before[0], before[1] + 1)
    # A bad later argument: an error, and the borrowed array is untouched.
    h = cairn.Module()
    fn = cairn.trace(lambda a, b: a + b, cairn.f32[3], cairn.f32[3], module=h)
    with pytest.raises(TypeError):
        h.compile().run(fn.name, y, np.zeros(3, np.uint8))
    np.testing.assert_array_equal(y, 1.0)
    np.testing.assert_array_equal(f(y), 2.0)


def test_train_steps_copy_no_inputs():
    step = cairn.train_step(lambda p, x: ((x @ p["w"]) ** 2.0).mean(),
                            {"w": np.ones((4, 2), np.float32)}, [cairn.f32[None, 4]],
                            optimizer="adam", lr=0.1)
    x = np.ones((3, 4), np.float32)
    step(x)
    before = copies()
    for _ in range(3):
        step(x)
    copied, borrowed = copies()
    assert copied == before[0]  # the batch, parameters and state: all borrowed
    assert borrowed - before[1] == 3 * (2 + len(step.state))


def test_jit_cache_is_an_lru():
    f = cairn.jit(lambda x: x + 1.0, cache_size=2)
    a, b, c = (np.ones(n, np.float32) for n in (1, 2, 3))
    f(a), f(b), f(a)
    assert f.cache_info() == (2, 2, 2, 0)
    f(c)  # evicts b, the least recently called
    assert f.cache_info() == (2, 2, 3, 1)
    f(a)
    assert f.cache_info() == (2, 2, 3, 1)
    np.testing.assert_array_equal(f(b), 2.0)  # traced again; evicts c
    assert f.cache_info() == (2, 2, 4, 2)
    assert [k[1][0][1] for k in f._cache] == [(1,), (2,)]

    g = cairn.jit(lambda x, n: x * n, static_argnums=1, cache_size=1)
    g(a, 2.0), g(a, 3.0), g(b, 3.0)
    assert g.cache_info() == (1, 1, 3, 2)
    unbounded = cairn.jit(lambda x: x, cache_size=None)
    for n in range(5):
        unbounded(np.ones(n + 1, np.float32))
    assert unbounded.cache_info() == (5, None, 5, 0)
    with pytest.raises(ValueError, match="cache_size"):
        cairn.jit(lambda x: x, cache_size=0)
    dg = cairn.grad(lambda x: (x * x).sum(), cache_size=1)
    dg(a), dg(b)
    assert dg.cache_info().evictions == 1


def test_threads_feeding_back_one_result():
    """Threads passing the same result at once: every run borrows the same
    memory, and all see the same data."""
    f = cairn.jit(lambda x: (x * 2.0).sum())
    y = cairn.jit(lambda x: x + 1.0)(np.zeros((16, 16), np.float32))
    results = []

    def work():
        for _ in range(50):
            results.append(float(f(y)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [512.0] * 200
    np.testing.assert_array_equal(y, 1.0)
    assert float(f(y)) == 512.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("backend", ["cpu", "interpreter"])
def test_gelu_through_erf(dtype, backend):
    # GELU's exact form, as PyTorch exports it: compiled (f32 erf in the fused
    # kernel; f64 through the reference kernel) and interpreted, against math.erf.
    import math
    f = cairn.jit(lambda x: x * 0.5 * (cairn.erf(x * 0.7071067811865476) + 1.0), backend=backend)
    a = np.linspace(-5, 5, 101).astype(dtype)
    want = np.array([v * 0.5 * (math.erf(v / math.sqrt(2)) + 1) for v in a.astype(np.float64)])
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(f(a), want, rtol=tol, atol=tol)
    assert np.asarray(f(a)).dtype == dtype


@pytest.mark.parametrize("name,lo,hi", [("sin", -3, 3), ("cos", -3, 3), ("tan", -1.2, 1.2),
                                        ("asin", -0.9, 0.9), ("acos", -0.9, 0.9),
                                        ("atan", -4, 4), ("sinh", -2, 2), ("cosh", -2, 2),
                                        ("asinh", -4, 4), ("acosh", 1.1, 4),
                                        ("atanh", -0.9, 0.9)])
def test_trigonometric_functions(name, lo, hi):
    # Compiled (each runs alone, by libm) against NumPy's; and their gradients
    # against NumPy's derivative of the same function, by central differences.
    fn = getattr(cairn, name)
    ref = getattr(np, "arc" + name[1:] if name.startswith("a") else name)  # np.arcsin, ...
    a = np.linspace(lo, hi, 17)
    np.testing.assert_allclose(cairn.jit(fn)(a), ref(a), rtol=1e-12, atol=1e-12)
    g = cairn.grad(lambda x: fn(x).sum())(a)
    h = 1e-6
    np.testing.assert_allclose(g, (ref(a + h) - ref(a - h)) / (2 * h), rtol=1e-5, atol=1e-6)
