"""Cairn's element types as Python objects: `cairn.f32` and friends.

A DType compares equal to its IR name ("f32") and to the NumPy dtype it maps
to, and indexing one makes an argument spec: `cairn.f32[None, 3]` is a rank-2
f32 tensor whose first dim is dynamic (`tensor<?x3xf32>` in the IR).
"""
import numpy as np


class DType:
    __slots__ = ("name", "numpy")

    def __init__(self, name, numpy_dtype):
        self.name = name
        self.numpy = numpy_dtype  # None for bf16: NumPy has no such type

    def __repr__(self):
        return f"cairn.{self.name}"

    def __str__(self):
        return self.name

    def __eq__(self, other):
        if isinstance(other, DType):
            return self.name == other.name
        if isinstance(other, str) and other in _BY_NAME:
            return other == self.name
        try:
            return self.numpy is not None and np.dtype(other) == self.numpy
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.name)

    @property
    def is_float(self):
        return self.name in ("f32", "f64", "f16", "bf16")

    def __getitem__(self, shape):
        if not isinstance(shape, tuple):
            shape = (shape,)
        if shape == ((),):
            shape = ()
        return TensorSpec(shape, self)


f32 = DType("f32", np.dtype(np.float32))
f64 = DType("f64", np.dtype(np.float64))
f16 = DType("f16", np.dtype(np.float16))
bf16 = DType("bf16", None)
i1 = DType("i1", np.dtype(np.bool_))
i32 = DType("i32", np.dtype(np.int32))
i64 = DType("i64", np.dtype(np.int64))
bool_ = i1

_BY_NAME = {d.name: d for d in (f32, f64, f16, bf16, i1, i32, i64)}
_BY_NUMPY = {d.numpy: d for d in (f32, f64, f16, i1, i32, i64)}


def as_dtype(d):
    """A DType from a DType, an IR name, or anything np.dtype accepts."""
    if isinstance(d, DType):
        return d
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        nd = np.dtype(d)
    except TypeError:
        raise TypeError(f"cairn: not a dtype: {d!r}") from None
    if nd not in _BY_NUMPY:
        raise TypeError(f"cairn: NumPy dtype {nd} has no Cairn type "
                        "(float32/64/16, bool, int32, int64)")
    return _BY_NUMPY[nd]


class TensorSpec:
    """The type of a traced function's argument: shape (None = dynamic) and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype=f32):
        shape = tuple(shape)
        for s in shape:
            if s is not None and (not isinstance(s, (int, np.integer)) or s < 0):
                raise ValueError(f"cairn: bad size {s!r} in shape {shape} "
                                 "(sizes are ints >= 0, or None for dynamic)")
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = as_dtype(dtype)

    def __repr__(self):
        dims = ", ".join("None" if s is None else str(s) for s in self.shape)
        return f"cairn.{self.dtype.name}[{dims}]"

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self.shape == other.shape
                and self.dtype == other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype.name))

    def ir_shape(self):
        return [-1 if s is None else s for s in self.shape]

    @staticmethod
    def of(array):
        """The exact (static) spec of a NumPy array."""
        return TensorSpec(array.shape, as_dtype(array.dtype))
