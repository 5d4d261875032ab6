"""Cairn from Python: trace models with loops and branches into Cairn's IR,
differentiate them (reverse mode, through the loops), compile them for the
CPU and run them on NumPy arrays. See docs/python.md.

    import cairn, numpy as np

    @cairn.jit
    def f(x, w):
        return cairn.tanh(x @ w).sum()

    df = cairn.grad(f.fn, argnums=1)
    df(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
"""
from . import _cairn
from . import models, nn
from ._control import cond, fori_loop, while_loop
from ._dtypes import DType, TensorSpec, as_dtype, bf16, bool_, f16, f32, f64, i1, i32, i64
from ._jit import grad, jit, value_and_grad
from ._train import lr_at, train_step
from ._module import (AotModel, BuildError, CairnError, Executable, Function, Module, function,
                      load_aot, parse, trace)
from ._tensor import absolute as abs  # noqa: A001 (cairn.abs, as numpy's)
from ._tensor import (Tensor, absolute, acos, acosh, arange, as_tensor, asin, asinh, atan, atanh,
                      concat, constant, cos, cosh, dynamic_slice, dynamic_update_slice, erf, exp,
                      full, gather, iota, log, log_softmax, logical_not, matmul, maximum, minimum,
                      nonzero, ones, relu, rng_categorical, rng_uniform, rsqrt, scatter,
                      scatter_add, sigmoid, sin, sinh, softmax, split, sqrt, stack, stop_gradient,
                      tan, tanh, where, zeros, zeros_like)

__all__ = [n for n in dir() if not n.startswith("_")]
