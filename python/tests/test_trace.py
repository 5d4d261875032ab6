"""Tracing Python functions into Cairn functions: operators, methods, the IR."""
import numpy as np

import cairn


def test_import_and_dtypes():
    assert cairn.f32 == "f32"
    assert cairn.f32 == np.float32
    assert cairn.as_dtype(np.int64) is cairn.i64
    assert repr(cairn.f32[None, 3]) == "cairn.f32[None, 3]"


def test_function_decorator_prints_ir(rng):
    @cairn.function(cairn.f32[None, 3], cairn.f32[3, 4], cairn.f32[4])
    def affine(x, w, b):
        assert x.shape == (None, 3) and x.dtype == cairn.f32
        return cairn.tanh(x @ w + b)

    text = affine.module.text()
    assert "func @affine(%x: tensor<?x3xf32>, %w: tensor<3x4xf32>, %b: tensor<4xf32>)" in text
    assert "dot" in text and "broadcast" in text and "tanh" in text
    x = rng.standard_normal((5, 3)).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    want = np.tanh(x @ w + b)
    np.testing.assert_allclose(affine(x, w, b), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(affine.interpret(x, w, b), want, rtol=1e-5, atol=1e-6)


def test_annotations_as_specs():
    @cairn.function
    def scale(x: cairn.f64[2, 2]):
        return x * 2.0

    np.testing.assert_array_equal(scale(np.eye(2)), 2 * np.eye(2))


def test_operators_against_numpy(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)

    @cairn.jit
    def ops(x, y):
        return (x + y, x - y, x * y, x / y, -x, abs(x), y ** 2.0, 2.0 - x, 1.0 / y,
                x < y, x >= y, x == x, cairn.maximum(x, y), cairn.where(x > 0, x, 0.0))

    got = ops(a, b)
    want = (a + b, a - b, a * b, a / b, -a, abs(a), b ** 2, 2 - a, 1 / b, a < b, a >= b,
            a == a, np.maximum(a, b), np.where(a > 0, a, 0))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_methods_against_numpy(rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)

    @cairn.jit
    def methods(x):
        return {
            "reshape": x.reshape(6, -1),
            "transpose": x.transpose(2, 0, 1),
            "T": x[0].T,
            "sum": x.sum(),
            "sum1": x.sum(axis=1),
            "mean": x.mean(axis=(0, 2), keepdims=True),
            "max": x.max(axis=-1),
            "min": x.min(),
            "argmax": x.argmax(axis=2),
            "exp": x.exp(),
            "cast": x.astype(cairn.i32),
            "softmax": cairn.softmax(x),
        }

    got = methods(a)
    e = np.exp(a - a.max(-1, keepdims=True))
    want = {
        "reshape": a.reshape(6, -1), "transpose": a.transpose(2, 0, 1), "T": a[0].T,
        "sum": a.sum(), "sum1": a.sum(1), "mean": a.mean((0, 2), keepdims=True),
        "max": a.max(-1), "min": a.min(), "argmax": a.argmax(2), "exp": np.exp(a),
        "cast": a.astype(np.int32), "softmax": e / e.sum(-1, keepdims=True),
    }
    assert set(got) == set(want)
    for k in want:
        assert got[k].shape == want[k].shape, k
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)


def test_indexing_gather_scatter_concat(rng):
    a = rng.standard_normal((4, 5)).astype(np.float32)
    idx = np.array([3, 0, 3], np.int64)

    @cairn.jit
    def f(x, i):
        return (x[1], x[-1, 2:4], x[:, ::2], x[..., 1], x[i], x.gather(i, axis=1),
                cairn.scatter_add(cairn.zeros((4, 5)), i, x[:3]),
                x.at[2].set(cairn.ones((5,))), cairn.concat([x, x[:1]], axis=0),
                cairn.stack([x[0], x[1]], axis=1), x[i[0]])

    got = f(a, idx)
    sa = np.zeros((4, 5), np.float32)
    np.add.at(sa, idx, a[:3])
    upd = a.copy()
    upd[2] = 1
    want = (a[1], a[-1, 2:4], a[:, ::2], a[..., 1], a[idx], a[:, idx], sa, upd,
            np.concatenate([a, a[:1]]), np.stack([a[0], a[1]], 1), a[3])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_dynamic_dims_and_mean():
    @cairn.function(cairn.f32[None, 2])
    def m(x):
        return x.mean(axis=0), x.shape[0] is None

    # A Python value in the results becomes a constant.
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    mean, dyn = m(x)
    np.testing.assert_allclose(mean, x.mean(0))
    assert bool(dyn)
    mean3, _ = m(x[:3].copy())
    np.testing.assert_allclose(mean3, x[:3].mean(0))


def test_module_parse_roundtrip():
    f = cairn.trace(lambda x: cairn.exp(x) * 3.0, cairn.f32[2])
    text = f.module.text()
    m = cairn.parse(text)
    assert m.text() == text
    assert m.functions == [f.name]
    out = m.interpret(f.name, np.zeros(2, np.float32))
    np.testing.assert_allclose(out[0], [3.0, 3.0])
    out = m.compile().run(f.name, np.ones(2, np.float32))
    np.testing.assert_allclose(out[0], 3 * np.e * np.ones(2), rtol=1e-6)


def test_module_print(capsys):
    f = cairn.trace(lambda x: x + 1.0, cairn.f32[2])
    f.module.print()
    assert "func @" in capsys.readouterr().out


def test_compile_aot(tmp_path):
    f = cairn.trace(lambda x: x * 2.0, cairn.f32[4], name="double")
    header = f.module.compile_aot(tmp_path / "m.o", prefix="m")
    assert "m_double" in header
    assert (tmp_path / "m.o").stat().st_size > 0


def test_compile_aot_shared_and_load(tmp_path):
    """A module with a loop compiled ahead of time into a shared object and
    run through the C API from Python: the same results as the JIT."""
    import pytest
    m = cairn.Module()

    def count_up(x, n):
        return cairn.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0), (0, x))[1]

    cairn.trace(count_up, cairn.f32[None], cairn.i64[()], name="count_up", module=m)
    cairn.trace(lambda x: (x.sum(), x + 1.0), cairn.f32[2, 3], name="two", module=m)
    header = m.compile_aot(tmp_path / "m.so", prefix="m", shared=True)
    assert "m_count_up" in header and not (tmp_path / "m.so.o").exists()
    aot = cairn.load_aot(tmp_path / "m.so")
    assert sorted(aot.functions) == ["count_up", "two"] and aot.device == "cpu"
    assert aot.signature("count_up") == ([("f32", [-1]), ("i64", [])], [("f32", [-1])])
    x = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(aot["count_up"](x, 3), x * 8)
    np.testing.assert_array_equal(aot["count_up"](x[::2], 0), x[::2])  # strided input
    total, plus = aot["two"](np.ones((2, 3), np.float32))
    assert total == 6.0 and plus.shape == (2, 3)
    again = aot["count_up"](aot["count_up"](x, 1), 1)  # a result fed back in
    np.testing.assert_array_equal(again, x * 4)
    with pytest.raises(cairn.CairnError, match="dtype|f32"):
        aot.run("count_up", np.ones(2, np.int32), 1)
    with pytest.raises(cairn.CairnError):
        aot.run("nope", x)
    with pytest.raises(KeyError):
        aot["nope"]
    (tmp_path / "junk.so").write_bytes(b"not an object")
    with pytest.raises(cairn.CairnError):
        cairn.load_aot(tmp_path / "junk.so")
    with pytest.raises(cairn.CairnError):
        cairn.load_aot(tmp_path / "missing.so")


def test_function_results_nest():
    f = cairn.trace(lambda x: {"b": (x, [x + 1.0]), "a": x * 2.0}, cairn.f32[1])
    out = f(np.ones(1, np.float32))
    assert set(out) == {"a", "b"}
    np.testing.assert_allclose(out["b"][1][0], [2.0])


def test_newaxis_indexing():
    @cairn.function(cairn.f32[None, 3])
    def f(x):
        return x[None], x[:, None, 1:], x[..., None], x[0, None]

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    for got, want in zip(f(a), (a[None], a[:, None, 1:], a[..., None], a[0, None])):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
