"""Bad input is a Python exception naming the problem, never a crash."""
import re

import numpy as np
import pytest

import cairn


def test_shape_mismatch_at_trace_time_names_the_line():
    def bad(x, w):
        return x @ w  # the failing line

    with pytest.raises(cairn.BuildError, match="dot"):
        cairn.jit(bad)(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))


def test_dtype_mismatch_at_trace_time():
    with pytest.raises(cairn.BuildError):
        cairn.jit(lambda x, y: x + y)(np.ones(2, np.float32), np.ones(2, np.float64))


def test_function_checks_its_arguments():
    f = cairn.trace(lambda x: x * 2.0, cairn.f32[None, 3])
    with pytest.raises(TypeError, match="expected f32"):
        f(np.ones((2, 3), np.float64))
    with pytest.raises(ValueError, match="shape"):
        f(np.ones((2, 4), np.float32))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        f(np.ones((2, 3), np.float32), np.ones(1))


def test_executable_checks_its_arguments():
    f = cairn.trace(lambda x: x * 2.0, cairn.f32[3])
    exe = f.module.compile()
    with pytest.raises(cairn.CairnError):
        exe.run(f.name, np.ones(4, np.float32))
    with pytest.raises(cairn.CairnError):
        exe.run(f.name, np.ones(3, np.int32))
    with pytest.raises(cairn.CairnError):
        exe.run("nope", np.ones(3, np.float32))
    with pytest.raises(cairn.CairnError):
        f.module.interpret(f.name, np.ones(4, np.float32))


class Boom(Exception):
    pass


def test_python_exception_inside_while_body_propagates():
    def f(x):
        def body(c):
            raise Boom("from the body")

        return cairn.while_loop(lambda c: c < 3, body, 0)

    with pytest.raises(Boom, match="from the body"):
        cairn.jit(f)(np.ones(1, np.float32))
    # The failed trace left nothing behind; tracing still works.
    assert float(cairn.jit(lambda x: x.sum())(np.ones(2, np.float32))) == 2.0


def test_python_exception_inside_cond_branch_propagates():
    def f(x):
        return cairn.cond(x.sum() > 0, lambda: x, lambda: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        cairn.jit(f)(np.ones(2, np.float32))


def test_python_exception_leaves_module_clean():
    m = cairn.Module()

    def bad(x):
        cairn.while_loop(lambda c: c < 1, lambda c: c + 1, 0)
        raise Boom()

    with pytest.raises(Boom):
        cairn.trace(bad, cairn.f32[1], module=m)
    assert m.functions == []
    cairn.trace(lambda x: x, cairn.f32[1], module=m, name="ok")
    assert m.functions == ["ok"]


def test_body_type_change_is_a_build_error():
    def f(x):
        return cairn.while_loop(lambda c: c.sum() < 3.0, lambda c: c.sum(), x)

    with pytest.raises(cairn.BuildError, match="while"):
        cairn.jit(f)(np.ones(2, np.float32))


def test_body_structure_change_is_a_type_error():
    def f(x):
        return cairn.while_loop(lambda c: c[0] < 3, lambda c: c[0] + 1, (0, x))

    with pytest.raises(TypeError, match="structure"):
        cairn.jit(f)(np.ones(2, np.float32))


def test_branch_mismatch():
    def f(x):
        return cairn.cond(x.sum() > 0, lambda: x, lambda: x.sum())

    with pytest.raises(cairn.BuildError, match="if"):
        cairn.jit(f)(np.ones(2, np.float32))


def test_truth_value_of_a_traced_tensor():
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(TypeError, match="truth value"):
        cairn.jit(f)(np.ones(2, np.float32))


def test_leaked_value_from_another_trace():
    leaked = []

    def first(x):
        leaked.append(x)
        return x

    cairn.jit(first)(np.ones(2, np.float32))
    with pytest.raises(cairn.BuildError, match="finished"):
        cairn.jit(lambda y: y + leaked[0])(np.ones(2, np.float32))


def test_value_leaked_out_of_a_loop_body():
    inner = []

    def f(x):
        def body(c):
            inner.append(c * 2.0)
            return c + 1.0

        cairn.while_loop(lambda c: c.sum() < 3.0, body, x)
        return inner[0]  # defined inside the loop: does not verify outside it

    with pytest.raises(cairn.BuildError):
        cairn.jit(f)(np.zeros(1, np.float32))


def test_run_time_index_error_names_the_python_line():
    def f(x, i):
        return x[i]

    line = f.__code__.co_firstlineno + 1
    with pytest.raises(cairn.CairnError) as e:
        cairn.jit(f)(np.ones(3, np.float32), np.int64(7))
    assert re.search(rf"test_errors\.py:{line}:\d+: error", str(e.value)), str(e.value)
    with pytest.raises(cairn.CairnError):
        cairn.jit(f, backend="interpreter")(np.ones(3, np.float32), np.int64(-1))


def test_parse_error_has_a_location():
    with pytest.raises(cairn.CairnError, match=r"in\.cairn:1:\d+"):
        cairn.parse("func @f(", "in.cairn")


def test_bad_specs():
    with pytest.raises(ValueError):
        cairn.f32[-2]
    with pytest.raises(TypeError):
        cairn.trace(lambda x: x, "f32")
    with pytest.raises(TypeError, match="dtype"):
        cairn.trace(lambda x: x.astype("u1"), cairn.f32[1])
