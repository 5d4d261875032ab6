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
