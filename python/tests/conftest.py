"""Shared helpers of the cairn pytest suite (run by ctest as python_tests)."""
import numpy as np
import pytest


def finite_difference(f, args, argnum, eps=1e-3):
    """Central differences of scalar f with respect to args[argnum], in f64."""
    x = args[argnum].astype(np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += eps
        minus[i] -= eps
        a = list(args)
        a[argnum] = plus.astype(args[argnum].dtype)
        fp = float(f(*a))
        a[argnum] = minus.astype(args[argnum].dtype)
        fm = float(f(*a))
        g[i] = (fp - fm) / (2 * eps)
    return g


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
