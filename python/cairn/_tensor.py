"""Symbolic tensors: what a traced Python function computes with.

A `Tensor` wraps one SSA value of the function being built (a builder `Val`,
frontend/Builder.h). Every operator and method appends ops through the C++
builder, which infers the result type and broadcasts numpy-style (making the
broadcast explicit in the IR), so a shape or dtype error is raised at the
Python line that caused it, as cairn.BuildError. Each op records that line
as its IR location, so run-time errors (an index out of range) name it too.
"""
import os
import sys
import threading

import numpy as np

from . import _cairn
from ._dtypes import DType, as_dtype, f32, i64

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# The builders of the functions being traced on this thread, innermost last
# (nested traces are allowed; threads trace independently).
_TRACES = threading.local()


def trace_stack():
    stack = getattr(_TRACES, "stack", None)
    if stack is None:
        stack = _TRACES.stack = []
    return stack


def current_builder():
    stack = trace_stack()
    if not stack:
        raise RuntimeError("cairn: no function is being traced here (use cairn.function, "
                           "cairn.jit or cairn.grad)")
    return stack[-1]


def _locate(builder):
    """Points the builder's location at the first frame outside this package."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        f = f.f_back
    if f is not None:
        builder.set_location(f.f_code.co_filename, f.f_lineno)


def _builder_of(*xs):
    for x in xs:
        if isinstance(x, Tensor):
            return x._v.builder()
    return current_builder()


def _mk(v):
    return Tensor(v)


def _val(x, like=None):
    """A builder Val for `x`: a Tensor's own, or a constant for a number or
    array (numbers take `like`'s dtype when given)."""
    if isinstance(x, Tensor):
        return x._v
    b = like._v.builder() if like is not None else current_builder()
    _locate(b)
    if isinstance(x, (bool, np.bool_)):
        return b.scalar(float(x), "i1")
    if isinstance(x, (int, float, np.integer, np.floating)):
        d = like.dtype.name if like is not None else ("i64" if isinstance(x, (int, np.integer)) else "f32")
        return b.scalar(float(x), d)
    arr = np.asarray(x)
    if like is not None and arr.dtype.kind in "iuf" and like.dtype.numpy is not None:
        arr = arr.astype(like.dtype.numpy)
    return b.constant(arr)


def _number_or_val(x):
    if isinstance(x, Tensor):
        return x._v
    if isinstance(x, (bool, np.bool_)):
        return float(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return None


def _binary(name, a, b):
    x, y = _number_or_val(a), _number_or_val(b)
    if x is None:
        x = _val(a, like=b if isinstance(b, Tensor) else None)
    if y is None:
        y = _val(b, like=a if isinstance(a, Tensor) else None)
    _locate(_builder_of(a, b))
    return Tensor(_cairn.binary(name, x, y))


def _unary(name, x):
    x = as_tensor(x)
    _locate(x._v.builder())
    return Tensor(_cairn.unary(name, x._v))


def as_tensor(x, dtype=None):
    """`x` as a Tensor of the function being traced: a Tensor as it is, a
    number or array as a constant (ints i64, floats f32, bools i1 unless
    `dtype` says otherwise)."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.dtype == as_dtype(dtype) else x.astype(dtype)
    b = current_builder()
    _locate(b)
    if dtype is not None:
        d = as_dtype(dtype)
        if np.ndim(x) == 0 and not isinstance(x, np.ndarray):
            return Tensor(b.scalar(float(x), d.name))
        return Tensor(b.constant(np.asarray(x, dtype=d.numpy)))
    return Tensor(_val(x))


def _norm_axis(axis, rank):
    if not -rank <= axis < max(rank, 1):
        raise IndexError(f"cairn: axis {axis} out of range for rank {rank}")
    return axis % rank if rank else 0


def _axes(axis, rank):
    if axis is None:
        return list(range(rank))
    if isinstance(axis, int):
        axis = (axis,)
    return [_norm_axis(a, rank) for a in axis]


def _int_or_val(i):
    if isinstance(i, Tensor):
        return i._v
    return int(i)


class Tensor:
    """A symbolic tensor of a function being traced."""

    __slots__ = ("_v",)
    # NumPy arrays on the left defer to our reflected operators.
    __array_priority__ = 1000

    def __init__(self, v):
        self._v = v

    # ---- type ---------------------------------------------------------------
    @property
    def dtype(self) -> DType:
        return as_dtype(self._v.dtype)

    @property
    def shape(self):
        """Static sizes; None for a dim known only at run time."""
        return tuple(self._v.shape)

    @property
    def ndim(self):
        return len(self._v.shape)

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError("cairn: len() needs a static first dim")
        return self.shape[0]

    def __repr__(self):
        try:
            return f"cairn.Tensor({self._v.type})"
        except _cairn.BuildError:
            return "cairn.Tensor(<from a failed trace>)"

    def __bool__(self):
        raise TypeError("cairn: a traced tensor has no Python truth value (its value is "
                        "known only when the function runs); use cairn.cond, "
                        "cairn.while_loop or cairn.where")

    def __iter__(self):
        raise TypeError("cairn: a traced tensor cannot be iterated in Python; "
                        "index it or use cairn.while_loop")

    def __array__(self, *args, **kwargs):
        raise TypeError("cairn: a traced tensor has no value yet; it cannot become a NumPy array")

    def named(self, name):
        """The same value, printed `%name` in the IR."""
        return Tensor(self._v.named(name))

    # ---- arithmetic ---------------------------------------------------------
    def __add__(self, o): return _binary("add", self, o)
    def __radd__(self, o): return _binary("add", o, self)
    def __sub__(self, o): return _binary("sub", self, o)
    def __rsub__(self, o): return _binary("sub", o, self)
    def __mul__(self, o): return _binary("mul", self, o)
    def __rmul__(self, o): return _binary("mul", o, self)
    def __truediv__(self, o): return _binary("div", self, o)
    def __rtruediv__(self, o): return _binary("div", o, self)
    def __pow__(self, o): return _binary("pow", self, o)
    def __rpow__(self, o): return _binary("pow", o, self)
    def __neg__(self): return _unary("neg", self)
    def __pos__(self): return self
    def __abs__(self): return _unary("abs", self)
    def __matmul__(self, o): return matmul(self, o)
    def __rmatmul__(self, o): return matmul(o, self)
    def __and__(self, o): return _binary("and", self, o)
    def __rand__(self, o): return _binary("and", o, self)
    def __or__(self, o): return _binary("or", self, o)
    def __ror__(self, o): return _binary("or", o, self)
    def __invert__(self): return _unary("logical_not", self)

    # Comparisons give i1 tensors (so a Tensor is not hashable).
    def __eq__(self, o): return _binary("eq", self, o)
    def __ne__(self, o): return _binary("ne", self, o)
    def __lt__(self, o): return _binary("lt", self, o)
    def __le__(self, o): return _binary("le", self, o)
    def __gt__(self, o): return _binary("gt", self, o)
    def __ge__(self, o): return _binary("ge", self, o)
    __hash__ = None

    # ---- elementwise methods ------------------------------------------------
    def exp(self): return _unary("exp", self)
    def log(self): return _unary("log", self)
    def tanh(self): return _unary("tanh", self)
    def sigmoid(self): return _unary("sigmoid", self)
    def erf(self): return _unary("erf", self)
    def sin(self): return _unary("sin", self)
    def cos(self): return _unary("cos", self)
    def tan(self): return _unary("tan", self)
    def asin(self): return _unary("asin", self)
    def acos(self): return _unary("acos", self)
    def atan(self): return _unary("atan", self)
    def sinh(self): return _unary("sinh", self)
    def cosh(self): return _unary("cosh", self)
    def asinh(self): return _unary("asinh", self)
    def acosh(self): return _unary("acosh", self)
    def atanh(self): return _unary("atanh", self)
    def relu(self): return _unary("relu", self)
    def sqrt(self): return _unary("sqrt", self)
    def rsqrt(self): return _unary("rsqrt", self)
    def abs(self): return _unary("abs", self)

    def astype(self, dtype):
        _locate(self._v.builder())
        return Tensor(_cairn.cast(self._v, as_dtype(dtype).name))

    # ---- shape --------------------------------------------------------------
    def reshape(self, *shape):
        """numpy-style; one -1 is inferred; a Tensor entry is a run-time size."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        _locate(self._v.builder())
        return Tensor(_cairn.reshape(self._v, [_int_or_val(s) for s in shape]))

    def transpose(self, *perm):
        if len(perm) == 1 and isinstance(perm[0], (tuple, list)):
            perm = tuple(perm[0])
        if not perm:
            perm = tuple(reversed(range(self.ndim)))
        _locate(self._v.builder())
        return Tensor(_cairn.transpose(self._v, [int(p) for p in perm]))

    @property
    def T(self):
        return self.transpose()

    def broadcast_to(self, shape):
        _locate(self._v.builder())
        return Tensor(_cairn.broadcast_to(self._v, [_int_or_val(s) for s in shape]))

    def dim(self, axis, dtype=i64):
        """The run-time size of `axis` as a scalar tensor."""
        _locate(self._v.builder())
        return Tensor(_cairn.dim(self._v, axis, as_dtype(dtype).name))

    # ---- reductions ---------------------------------------------------------
    def _reduce(self, kind, axis, keepdims):
        _locate(self._v.builder())
        return Tensor(_cairn.reduce(kind, self._v, _axes(axis, self.ndim), keepdims))

    def sum(self, axis=None, keepdims=False): return self._reduce("sum", axis, keepdims)
    def max(self, axis=None, keepdims=False): return self._reduce("max", axis, keepdims)
    def min(self, axis=None, keepdims=False): return self._reduce("min", axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        axes = _axes(axis, self.ndim)
        total = self.sum(axes, keepdims)
        count, dynamic = 1, []
        for a in axes:
            if self.shape[a] is None:
                dynamic.append(a)
            else:
                count *= self.shape[a]
        n = None
        for a in dynamic:
            d = self.dim(a).astype(self.dtype)
            n = d if n is None else n * d
        if n is None:
            return total / float(count) if count else total / 0.0
        return total / (n * float(count))

    def argmax(self, axis=-1, dtype=i64):
        _locate(self._v.builder())
        return Tensor(_cairn.argmax(self._v, _norm_axis(axis, self.ndim), as_dtype(dtype).name))

    # ---- indexing -----------------------------------------------------------
    def gather(self, indices, axis=0, batch_dims=0):
        return gather(self, indices, axis, batch_dims)

    def scatter(self, indices, updates, axis=0, batch_dims=0):
        return scatter(self, indices, updates, axis, batch_dims)

    def scatter_add(self, indices, updates, axis=0, batch_dims=0):
        return scatter_add(self, indices, updates, axis, batch_dims)

    def __getitem__(self, key):
        """Ints (static or a scalar Tensor) pick along an axis; slices with
        static bounds cut one; an integer Tensor of rank >= 1 gathers rows;
        `...` skips dims; None inserts a dim of size 1."""
        if not isinstance(key, tuple):
            key = (key,)
        if sum(k is Ellipsis for k in key) > 1:
            raise IndexError("cairn: at most one ... in an index")
        if any(k is Ellipsis for k in key):
            i = next(j for j, k in enumerate(key) if k is Ellipsis)
            used = sum(1 for k in key if k is not Ellipsis and k is not None)
            key = key[:i] + (slice(None),) * (self.ndim - used) + key[i + 1:]
        if sum(1 for k in key if k is not None) > self.ndim:
            raise IndexError(f"cairn: {len(key)} indices for a rank-{self.ndim} tensor")
        x, axis = self, 0
        b = self._v.builder()
        for k in key:
            _locate(b)
            if k is None:  # numpy's newaxis: a dim of size 1 here
                sizes = [x.dim(a) if n is None else n for a, n in enumerate(x.shape)]
                x = x.reshape(sizes[:axis] + [1] + sizes[axis:])
                axis += 1
                continue
            size = x.shape[axis]
            if isinstance(k, Tensor):
                if k.ndim == 0:
                    x = Tensor(_cairn.slice_at(x._v, k._v, axis))
                else:
                    x = Tensor(_cairn.gather(x._v, k._v, axis, 0))
                    axis += k.ndim
            elif isinstance(k, slice):
                if k.start is None and k.stop is None and k.step in (None, 1):
                    axis += 1
                    continue
                if size is None:
                    raise IndexError("cairn: slicing a dynamic dim needs cairn.dynamic_slice")
                start, stop, step = k.indices(size)
                if step == 1:
                    x = Tensor(_cairn.slice_axis(x._v, axis, start, max(start, stop)))
                else:
                    if step < 0 or any(s is None for s in x.shape):
                        raise IndexError("cairn: only positive steps on static shapes")
                    starts = [0] * x.ndim
                    limits = list(x.shape)
                    strides = [1] * x.ndim
                    starts[axis], limits[axis], strides[axis] = start, max(start, stop), step
                    x = Tensor(_cairn.slice(x._v, starts, limits, strides))
                axis += 1
            elif isinstance(k, (int, np.integer)):
                k = int(k)
                if size is not None:
                    if not -size <= k < size:
                        raise IndexError(f"cairn: index {k} out of range for size {size}")
                    k %= size
                elif k < 0:
                    raise IndexError("cairn: negative index into a dynamic dim")
                x = Tensor(_cairn.slice_at(x._v, k, axis))
            else:
                raise IndexError(f"cairn: unsupported index {k!r}")
        return x

    @property
    def at(self):
        """`x.at[i].set(row)` / `.add(row)`: x with row i (axis 0) replaced
        or incremented, as in JAX."""
        return _At(self)


class _At:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x

    def __getitem__(self, i):
        return _AtIndex(self.x, i)


class _AtIndex:
    __slots__ = ("x", "i")

    def __init__(self, x, i):
        self.x, self.i = x, i

    def set(self, row):
        x = self.x
        row = as_tensor(row, x.dtype) if not isinstance(row, Tensor) else row
        _locate(x._v.builder())
        if isinstance(self.i, Tensor) and self.i.ndim >= 1:
            return scatter(x, self.i, row)
        return Tensor(_cairn.update_at(x._v, _int_or_val(self.i), row._v, 0))

    def add(self, row):
        x = self.x
        if isinstance(self.i, Tensor) and self.i.ndim >= 1:
            return scatter_add(x, self.i, row)
        return self.set(x[self.i] + row)


# ---- free functions ------------------------------------------------------------
def exp(x): return _unary("exp", x)
def log(x): return _unary("log", x)
def tanh(x): return _unary("tanh", x)
def sigmoid(x): return _unary("sigmoid", x)
def erf(x): return _unary("erf", x)
def sin(x): return _unary("sin", x)
def cos(x): return _unary("cos", x)
def tan(x): return _unary("tan", x)
def asin(x): return _unary("asin", x)
def acos(x): return _unary("acos", x)
def atan(x): return _unary("atan", x)
def sinh(x): return _unary("sinh", x)
def cosh(x): return _unary("cosh", x)
def asinh(x): return _unary("asinh", x)
def acosh(x): return _unary("acosh", x)
def atanh(x): return _unary("atanh", x)
def relu(x): return _unary("relu", x)
def sqrt(x): return _unary("sqrt", x)
def rsqrt(x): return _unary("rsqrt", x)
def stop_gradient(x): return _unary("stop_gradient", x)
def absolute(x): return _unary("abs", x)
def maximum(a, b): return _binary("max", a, b)
def minimum(a, b): return _binary("min", a, b)
def logical_not(x): return _unary("logical_not", x)


def where(pred, a, b):
    """`a` where `pred` else `b` (numbers take the other side's dtype)."""
    pred = as_tensor(pred)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    x = _number_or_val(a) if isinstance(a, Tensor) or like is not None else None
    y = _number_or_val(b) if isinstance(b, Tensor) or like is not None else None
    if x is None:
        x = _val(a, like=like)
    if y is None:
        y = _val(b, like=like)
    _locate(pred._v.builder())
    return Tensor(_cairn.select(pred._v, x, y))


def matmul(a, b):
    a, b = as_tensor(a), as_tensor(b)
    _locate(a._v.builder())
    return Tensor(_cairn.matmul(a._v, b._v))


def concat(xs, axis=0):
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("cairn: concat of nothing")
    _locate(xs[0]._v.builder())
    return Tensor(_cairn.concat([x._v for x in xs], _norm_axis(axis, xs[0].ndim)))


def stack(xs, axis=0):
    xs = [as_tensor(x) for x in xs]
    if not xs:
        raise ValueError("cairn: stack of nothing")
    rank = xs[0].ndim
    axis = axis % (rank + 1)
    expanded = []
    for x in xs:
        shape = [x.dim(a) if s is None else s for a, s in enumerate(x.shape)]
        shape.insert(axis, 1)
        expanded.append(x.reshape(shape))
    return concat(expanded, axis)


def split(x, parts, axis=0):
    x = as_tensor(x)
    _locate(x._v.builder())
    return tuple(Tensor(v) for v in _cairn.split(x._v, parts, _norm_axis(axis, x.ndim)))


def gather(x, indices, axis=0, batch_dims=0):
    """x's slices at `indices` along `axis` (indices' dims replace it)."""
    x, indices = as_tensor(x), as_tensor(indices)
    _locate(x._v.builder())
    return Tensor(_cairn.gather(x._v, indices._v, _norm_axis(axis, x.ndim), batch_dims))


def scatter(x, indices, updates, axis=0, batch_dims=0):
    """x with its slices at `indices` replaced by `updates`."""
    x, indices = as_tensor(x), as_tensor(indices)
    updates = as_tensor(updates, x.dtype) if not isinstance(updates, Tensor) else updates
    _locate(x._v.builder())
    return Tensor(_cairn.scatter(x._v, indices._v, updates._v, _norm_axis(axis, x.ndim),
                                 batch_dims, False))


def scatter_add(x, indices, updates, axis=0, batch_dims=0):
    """x with `updates` added at `indices` (repeated indices accumulate)."""
    x, indices = as_tensor(x), as_tensor(indices)
    updates = as_tensor(updates, x.dtype) if not isinstance(updates, Tensor) else updates
    _locate(x._v.builder())
    return Tensor(_cairn.scatter(x._v, indices._v, updates._v, _norm_axis(axis, x.ndim),
                                 batch_dims, True))


def dynamic_slice(x, starts, sizes):
    """The block of static `sizes` at run-time `starts` (one per dim)."""
    x = as_tensor(x)
    _locate(x._v.builder())
    return Tensor(_cairn.dynamic_slice(x._v, [_int_or_val(s) for s in starts],
                                       [int(s) for s in sizes]))


def dynamic_update_slice(x, update, starts):
    x, update = as_tensor(x), as_tensor(update)
    _locate(x._v.builder())
    return Tensor(_cairn.dynamic_update_slice(x._v, update._v, [_int_or_val(s) for s in starts]))


def nonzero(mask, dtype="i32"):
    """Indices of the true elements of a rank-1 mask (a dynamic-length vector)."""
    mask = as_tensor(mask)
    _locate(mask._v.builder())
    return Tensor(_cairn.nonzero(mask._v, as_dtype(dtype).name))


def _sizes(shape):
    if isinstance(shape, (int, np.integer, Tensor)):
        shape = (shape,)
    return [_int_or_val(s) for s in shape]


def full(shape, value, dtype=f32):
    """`value` broadcast to `shape` (entries may be run-time size Tensors)."""
    d = as_dtype(dtype)
    b = current_builder()
    _locate(b)
    return Tensor(_cairn.broadcast_to(b.scalar(float(value), d.name), _sizes(shape)))


def zeros(shape, dtype=f32): return full(shape, 0, dtype)
def ones(shape, dtype=f32): return full(shape, 1, dtype)


def zeros_like(x): return full([x.dim(a) if s is None else s for a, s in enumerate(x.shape)], 0, x.dtype)


def iota(shape, axis=0, dtype=i64):
    """The index along `axis` at every position of `shape`."""
    b = current_builder()
    _locate(b)
    return Tensor(b.iota(as_dtype(dtype).name, _sizes(shape), axis))


def arange(n, dtype=i64):
    return iota((n,), 0, dtype)


def constant(value, dtype=None):
    """A NumPy array or number as a constant of the function being traced."""
    return as_tensor(value if dtype is not None or isinstance(value, (int, float, bool))
                     else np.asarray(value), dtype)


def rng_uniform(state, shape, dtype=f32):
    """(new state, uniform [0, 1) samples) from a Philox state (i64[2])."""
    b = current_builder()
    _locate(b)
    s, v = b.rng_uniform(as_tensor(state)._v, as_dtype(dtype).name, _sizes(shape))
    return Tensor(s), Tensor(v)


def rng_categorical(state, logits, dtype=i64):
    state, logits = as_tensor(state), as_tensor(logits)
    _locate(logits._v.builder())
    s, v = _cairn.rng_categorical(state._v, logits._v, as_dtype(dtype).name)
    return Tensor(s), Tensor(v)


def softmax(x, axis=-1):
    z = x - stop_gradient(x.max(axis, keepdims=True))
    e = exp(z)
    return e / e.sum(axis, keepdims=True)


def log_softmax(x, axis=-1):
    z = x - stop_gradient(x.max(axis, keepdims=True))
    return z - log(exp(z).sum(axis, keepdims=True))
