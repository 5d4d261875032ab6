"""while_loop, fori_loop and cond from Python callables: compiled and
interpreted against plain Python."""
import numpy as np
import pytest

import cairn


@pytest.mark.parametrize("backend", ["cpu", "interpreter"])
def test_while_loop_tuple_carry(backend):
    def collatz_steps(n):
        def cond(c):
            return c[0] != 1

        def body(c):
            n, steps = c
            even = (n - (n / 2) * 2) == 0  # integer division rounds toward zero
            return cairn.where(even, n / 2, 3 * n + 1), steps + 1

        return cairn.while_loop(cond, body, (n, 0))[1]

    f = cairn.jit(collatz_steps, backend=backend)
    for n in (1, 6, 27):
        want, k = 0, n
        while k != 1:
            k = k // 2 if k % 2 == 0 else 3 * k + 1
            want += 1
        assert int(f(np.int64(n))) == want


def test_while_loop_dict_carry_and_max_trip():
    @cairn.jit
    def f(x):
        out = cairn.while_loop(lambda c: c["i"] < 5,
                               lambda c: {"i": c["i"] + 1, "acc": c["acc"] * x},
                               {"i": 0, "acc": cairn.ones((3,))}, max_trip=5)
        return out["acc"]

    x = np.array([1.0, 2.0, 0.5], np.float32)
    np.testing.assert_allclose(f(x), x ** 5, rtol=1e-6)


def test_while_loop_past_max_trip_is_an_error():
    @cairn.jit
    def f(n):
        return cairn.while_loop(lambda i: i < n, lambda i: i + 1, 0, max_trip=3)

    assert int(f(np.int64(3))) == 3
    with pytest.raises(cairn.CairnError, match="max"):
        f(np.int64(10))


def test_fori_loop_matches_python():
    @cairn.jit
    def f(x):
        return cairn.fori_loop(0, 4, lambda i, acc: acc + x * i.astype(cairn.f32), cairn.zeros((2,)))

    x = np.array([1.0, -1.0], np.float32)
    np.testing.assert_allclose(f(x), x * 6)


@pytest.mark.parametrize("backend", ["cpu", "interpreter"])
def test_cond(backend):
    @cairn.jit
    def f(x):
        return cairn.cond(x.sum() > 0, lambda: (x * 2.0, 1), lambda: (-x, 0))

    f = cairn.jit(f.fn, backend=backend)
    pos = np.array([1.0, 2.0], np.float32)
    y, which = f(pos)
    np.testing.assert_allclose(y, pos * 2)
    assert int(which) == 1
    y, which = f(-pos)
    np.testing.assert_allclose(y, pos)
    assert int(which) == 0


def test_cond_with_operands_and_python_bool():
    @cairn.jit
    def f(x, flag):
        y = cairn.cond(flag, lambda a: a + 1.0, lambda a: a - 1.0, x)
        return cairn.cond(True, lambda: y, lambda: y * 0.0)

    x = np.zeros(3, np.float32)
    np.testing.assert_allclose(f(x, np.bool_(True)), x + 1)
    np.testing.assert_allclose(f(x, np.bool_(False)), x - 1)


def test_loop_inside_branch_inside_loop():
    @cairn.jit
    def f(x):
        def body(c):
            i, acc = c
            inner = cairn.fori_loop(0, 3, lambda j, a: a + x, cairn.zeros_like(x))
            acc = cairn.cond(i < 2, lambda: acc + inner, lambda: acc - x)
            return i + 1, acc

        return cairn.while_loop(lambda c: c[0] < 4, body, (0, cairn.zeros_like(x)))[1]

    x = np.array([1.0, 2.0], np.float32)
    np.testing.assert_allclose(f(x), 2 * 3 * x - 2 * x)


def test_while_printed_as_one_op():
    f = cairn.trace(lambda n: cairn.while_loop(lambda i: i < n, lambda i: i + 1, 0), cairn.i64[()])
    text = f.module.text()
    assert text.count("while") == 1
