"""cairn.train_step: the optimizers of frontend/training as one compiled step,
against the same update written in NumPy."""
import numpy as np
import pytest

import cairn


def data(rng, n=16):
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    return x, y


def loss(p, x, y):
    err = x @ p["w"] + p["b"] - y
    return (err * err).mean(), cairn.abs(err).max()


def numpy_grads(p, x, y):
    err = x @ p["w"] + p["b"] - y
    n = err.size
    return {"w": 2 * x.T @ err / n, "b": 2 * err.sum(0) / n}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_train_step_matches_numpy(rng, optimizer):
    x, y = data(rng)
    p0 = {"w": np.zeros((3, 1), np.float32), "b": np.zeros(1, np.float32)}
    step = cairn.train_step(loss, p0, [cairn.f32[None, 3], cairn.f32[None, 1]],
                            optimizer=optimizer, lr=0.05)
    ref = {k: v.astype(np.float64) for k, v in p0.items()}
    m = {k: np.zeros_like(v) for k, v in ref.items()}
    v2 = {k: np.zeros_like(v) for k, v in ref.items()}
    for t in range(1, 6):
        value, worst = step(x, y)
        g = numpy_grads(ref, x, y)
        for k in ref:
            if optimizer == "sgd":
                ref[k] -= 0.05 * g[k]
            else:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v2[k] = 0.999 * v2[k] + 0.001 * g[k] ** 2
                ref[k] -= (0.05 / (1 - 0.9 ** t)) * m[k] / (np.sqrt(v2[k]) / np.sqrt(1 - 0.999 ** t) + 1e-8)
        assert value.shape == () and worst.shape == ()
    for k in ref:
        np.testing.assert_allclose(step.params[k], ref[k], rtol=1e-4, atol=1e-5)
    assert step.steps == 5 and step.last_lr == pytest.approx(0.05)


def test_train_step_trains_and_clips(rng):
    x, y = data(rng, 64)
    step = cairn.train_step(lambda p, x, y: ((x @ p[0] - y) ** 2.0).mean(),
                            [np.zeros((3, 1), np.float32)], [cairn.f32[None, 3], cairn.f32[None, 1]],
                            optimizer="sgd", lr=0.1, momentum=0.9, clip_norm=1.0)
    first = float(step(x, y))
    assert step.last_grad_norm > 1.0  # clipped
    for _ in range(100):
        last = float(step(x, y))
    assert last < first * 0.01
    np.testing.assert_allclose(step.params[0].ravel(), [1.0, -2.0, 0.5], atol=0.05)


def test_train_step_errors():
    with pytest.raises(ValueError, match="optimizer"):
        cairn.train_step(lambda p, x: (x * p[0]).sum(), [np.ones(2, np.float32)],
                         [cairn.f32[2]], optimizer="lbfgs")


@pytest.mark.parametrize("schedule, options, formula", [
    ("constant", {}, lambda s: 0.1 * min(s + 1, 2) / 2),
    ("step", {"step_size": 2, "gamma": 0.5}, lambda s: 0.1 * (s + 1) / 2 if s < 2
     else 0.1 * 0.5 ** ((s - 2) // 2)),
    ("exponential", {"gamma": 0.9}, lambda s: 0.1 * (s + 1) / 2 if s < 2 else 0.1 * 0.9 ** (s - 2)),
    ("cosine", {"total_steps": 6, "min_lr": 0.01}, lambda s: 0.1 * (s + 1) / 2 if s < 2 else
     0.01 + 0.09 * (1 + np.cos(np.pi * min(s - 2, 4) / 4)) / 2),
])
def test_learning_rate_schedules(rng, schedule, options, formula):
    """The in-graph schedule (LrSchedule::emit) against its formula (two
    warmup steps, then the decay), against LrSchedule::at (cairn.lr_at),
    and an SGD step that moves the parameter by exactly lr * gradient."""
    step = cairn.train_step(lambda p, x: (p["w"] * x).sum(), {"w": np.zeros(1, np.float32)},
                            [cairn.f32[1]], optimizer="sgd", lr=0.1, warmup=2, schedule=schedule,
                            **options)
    w = 0.0
    for s in range(8):
        step(np.ones(1, np.float32))
        assert step.last_lr == pytest.approx(formula(s), rel=1e-6), s
        assert cairn.lr_at(s, 0.1, 2, schedule, **options) == pytest.approx(formula(s), rel=1e-12)
        w -= formula(s)
        np.testing.assert_allclose(step.params["w"], [w], rtol=1e-5)


def test_learning_rate_schedule_errors():
    args = (lambda p, x: (p[0] * x).sum(), [np.ones(1, np.float32)], [cairn.f32[1]])
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        cairn.train_step(*args, schedule="linear")
    with pytest.raises(ValueError, match="total_steps"):
        cairn.train_step(*args, schedule="cosine")
    with pytest.raises(cairn.BuildError, match="schedule"):
        cairn.train_step(*args, schedule="cosine", total_steps=2, warmup=5)


def test_reassociated_step_agrees_with_the_exact_one(rng):
    """reassociate=True (cairn-train's compile option for steps) changes only
    the rounding."""
    x, y = data(rng, 32)
    p0 = {"w": np.zeros((3, 1), np.float32), "b": np.zeros(1, np.float32)}
    specs = [cairn.f32[None, 3], cairn.f32[None, 1]]
    exact = cairn.train_step(loss, p0, specs, optimizer="adam", lr=0.05)
    fast = cairn.train_step(loss, p0, specs, optimizer="adam", lr=0.05, reassociate=True)
    for _ in range(5):
        a, b = exact(x, y), fast(x, y)
        np.testing.assert_allclose(a[0], b[0], rtol=1e-5)
    for k in p0:
        np.testing.assert_allclose(exact.params[k], fast.params[k], rtol=1e-4, atol=1e-6)
