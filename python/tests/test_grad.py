"""Reverse-mode gradients from Python (compiler/autodiff) against finite
differences, through loops and branches."""
import numpy as np
import pytest

import cairn
from conftest import finite_difference


def check_grad(fn, args, argnums, rtol=2e-2, atol=2e-3):
    g = cairn.grad(fn, argnums=argnums)(*args)
    f64 = cairn.jit(fn)
    nums = [argnums] if isinstance(argnums, int) else list(argnums)
    gs = [g] if isinstance(argnums, int) else list(g)
    for a, gi in zip(nums, gs):
        assert gi.shape == args[a].shape and gi.dtype == args[a].dtype
        fd = finite_difference(f64, args, a)
        np.testing.assert_allclose(gi, fd, rtol=rtol, atol=atol)


def test_grad_of_mlp(rng):
    def loss(x, w1, w2):
        h = cairn.tanh(x @ w1)
        return (cairn.sigmoid(h @ w2) ** 2.0).mean()

    x = rng.standard_normal((4, 3))
    w1 = rng.standard_normal((3, 5)) * 0.5
    w2 = rng.standard_normal((5, 2)) * 0.5
    check_grad(loss, [x, w1, w2], (1, 2), rtol=1e-5, atol=1e-7)


def test_value_and_grad_f32(rng):
    def loss(w):
        return (w * w).sum()

    w = rng.standard_normal(5).astype(np.float32)
    value, g = cairn.value_and_grad(loss)(w)
    np.testing.assert_allclose(value, (w * w).sum(), rtol=1e-6)
    np.testing.assert_allclose(g, 2 * w, rtol=1e-6)


def test_grad_through_while_loop(rng):
    # An RNN of data-dependent length: h <- tanh(h @ w + x[i]) while i < n.
    def loss(w, xs, n):
        def body(c):
            i, h = c
            return i + 1, cairn.tanh(h @ w + xs[i])

        _, h = cairn.while_loop(lambda c: c[0] < n, body, (0, cairn.zeros((3,), cairn.f64)),
                                max_trip=xs.shape[0])
        return (h * h).sum()

    w = rng.standard_normal((3, 3)) * 0.5
    xs = rng.standard_normal((6, 3))
    for n in (0, 1, 4):
        check_grad(loss, [w, xs, np.int64(n)], (0, 1), rtol=1e-5, atol=1e-7)


def test_grad_through_cond(rng):
    def loss(x):
        return cairn.cond(x.sum() > 0, lambda: (x * x).sum(), lambda: cairn.exp(x).sum())

    for sign in (1.0, -1.0):
        x = np.abs(rng.standard_normal(4)) * sign
        check_grad(loss, [x], 0, rtol=1e-5, atol=1e-7)


def test_grad_through_gather_scatter(rng):
    def loss(table, idx):
        rows = table[idx]
        out = cairn.scatter_add(cairn.zeros((5, 2), cairn.f64), idx, rows * rows)
        return out.sum() + rows.max()

    table = rng.standard_normal((5, 2))
    idx = np.array([1, 3, 1], np.int64)
    check_grad(loss, [table, idx], 0, rtol=1e-5, atol=1e-7)


def test_grad_has_aux():
    def loss(w):
        return (w * 3.0).sum(), w * 2.0

    g, aux = cairn.grad(loss, has_aux=True)(np.ones(2, np.float32))
    np.testing.assert_allclose(g, [3.0, 3.0])
    np.testing.assert_allclose(aux, [2.0, 2.0])


def test_grad_errors():
    with pytest.raises(TypeError, match="float"):
        cairn.grad(lambda n: (n * 2).sum())(np.arange(3))
    with pytest.raises(TypeError, match="one scalar loss"):
        cairn.grad(lambda w: (w, w))(np.ones(2, np.float32))
    with pytest.raises(cairn.CairnError, match="scalar"):
        cairn.grad(lambda w: w * 2.0)(np.ones(2, np.float32))


def test_grad_of_nested_arguments(rng):
    def loss(params, x):
        h = cairn.tanh(x @ params["w"] + params["b"])
        return (h * params["scale"][0]).sum()

    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2),
              "scale": [np.array(1.5)]}
    x = rng.standard_normal((4, 3))
    g = cairn.grad(loss)(params, x)
    assert set(g) == {"w", "b", "scale"} and isinstance(g["scale"], list)
    flat = lambda w, b, s, x: loss({"w": w, "b": b, "scale": [s]}, x)
    args = [params["w"], params["b"], params["scale"][0], x]
    for k, name in enumerate(("w", "b")):
        np.testing.assert_allclose(g[name], finite_difference(cairn.jit(flat), args, k),
                                   rtol=1e-4, atol=1e-5)
    value, (gp, gx) = cairn.value_and_grad(loss, argnums=(0, 1))(params, x)
    np.testing.assert_allclose(gp["w"], g["w"])
    assert gx.shape == x.shape
    # jit takes nests too, and caches by structure as well as shapes.
    f = cairn.jit(loss)
    np.testing.assert_allclose(f(params, x), value)
    f({"w": params["w"], "b": params["b"], "scale": [np.array(2.0)]}, x)
    assert len(f._cache) == 1


def test_grad_inside_a_traced_training_step(rng):
    def loss(w, x, y):
        return ((x @ w - y) ** 2.0).mean()

    @cairn.jit
    def step(w, x, y):
        value, g = cairn.value_and_grad(loss)(w, x, y)
        return w - 0.1 * g, value

    x = rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 1))
    w = np.zeros((3, 1))
    w1, value = step(w, x, y)
    np.testing.assert_allclose(value, ((x @ w - y) ** 2).mean())
    np.testing.assert_allclose(w1, w - 0.1 * (2 * x.T @ (x @ w - y) / 8), rtol=1e-12)
    text = step.lower(w, x, y).text()
    assert "call @loss_" in text and "func @loss_" in text


def test_second_derivative_through_a_loop():
    def inner(x):
        return cairn.fori_loop(0, 3, lambda i, acc: acc * x, x * 0.0 + 1.0).sum()  # sum(x**3)

    d2 = cairn.grad(lambda x: cairn.grad(inner)(x).sum())
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(d2(x), 6 * x, rtol=1e-12)


def test_static_arguments():
    def power(x, n, scale):
        acc = x
        for _ in range(n - 1):  # Python control flow on a static value: unrolled
            acc = acc * x
        return (acc * scale).sum()

    x = np.array([1.0, 2.0, 3.0])
    f = cairn.jit(power, static_argnums=1)
    two = np.float64(2.0)  # a NumPy scalar keeps its dtype (a Python float is f32)
    assert float(f(x, 3, two)) == pytest.approx(2 * (1 + 8 + 27))
    assert float(f(x, 2, np.float64(1.0))) == pytest.approx(1 + 4 + 9)
    assert len(f._per_static) == 2
    g = cairn.grad(power, argnums=(0, 2), static_argnums=(1,))(x, 3, two)
    np.testing.assert_allclose(g[0], 2 * 3 * x ** 2)
    np.testing.assert_allclose(g[1], (x ** 3).sum())
    with pytest.raises(ValueError, match="static"):
        cairn.grad(power, argnums=1, static_argnums=1)
    with pytest.raises(TypeError, match="hashable"):
        cairn.jit(power, static_argnums=1)(x, [3], two)
