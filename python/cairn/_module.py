"""Modules and traced functions.

`trace(fn, *specs)` runs a Python function once on symbolic tensors (one per
spec) and records what it computes as a Cairn function (IR, docs/ir.md) in a
Module. The result is a `Function`: call it with NumPy arrays (compiled for
the CPU on first use, or interpreted), print its IR, differentiate it.
"""
import inspect
import sys

import numpy as np

from . import _cairn
from . import _pytree
from ._dtypes import TensorSpec
from ._tensor import Tensor, as_tensor, trace_stack

BuildError = _cairn.BuildError
CairnError = _cairn.CairnError


class Module:
    """A Cairn module: functions in the text IR's sense (docs/ir.md)."""

    def __init__(self, handle=None):
        self._h = handle if handle is not None else _cairn.ModuleHandle()

    def __str__(self):
        return self._h.print()

    def text(self):
        """The module in the text form (parse() reads it back)."""
        return self._h.print()

    def print(self, file=None):
        """Prints the module's text IR (to stdout or `file`)."""
        print(self._h.print(), end="", file=file if file is not None else sys.stdout)

    @property
    def functions(self):
        return list(self._h.functions())

    def __contains__(self, name):
        return name in self._h.functions()

    def __getitem__(self, name):
        if name not in self:
            raise KeyError(f"no function @{name} in the module")
        return Function(self, name, None)

    def verify(self):
        self._h.verify()

    def interpret(self, name, *args, default_max_trip=0):
        """Runs @name with the reference interpreter; a list of arrays."""
        return self._h.interpret(name, [_as_array(a) for a in args], default_max_trip)

    def compile(self, default_max_trip=0, reassociate=False):
        """The whole module compiled for the CPU (LLVM JIT): an Executable.
        `reassociate` lets the passes reassociate float sums (batched weight
        gradients, as cairn-train compiles training steps): faster, results
        differ from the interpreter in rounding."""
        return Executable(self._h.compile(default_max_trip, reassociate))

    def grad(self, name, wrt, loss_result=0, grad_name="", keep_rnn_ops=False):
        """Adds the gradient function of @name (compiler/autodiff); returns its name.
        It takes @name's arguments and returns its results, then d loss / d arg
        for each argument index in `wrt`. `keep_rnn_ops` (GradOptions::keepRnnOps)
        differentiates each `rnn` op to one `rnn_grad` op, what a device can run
        as cuDNN's RNN backward, instead of expanding it into a loop first."""
        return self._h.build_gradient(name, list(wrt), loss_result, grad_name, keep_rnn_ops)

    def compile_aot(self, object_path, prefix="model", cpu="x86-64-v3", shared=False):
        """Ahead-of-time compilation (as cairn-compile): writes an object file
        and returns the C header's text (runtime/capi/cairn.h). With
        `shared=True` the file is a shared object (cairn-compile --shared:
        linked by $CC or cc) that `cairn.load_aot` and the C API's
        cairn_model_load_file load."""
        if shared:
            return _cairn.compile_shared(self._h, str(object_path), prefix, cpu)
        return self._h.compile_aot(str(object_path), prefix, cpu)


class AotModel:
    """A model compiled ahead of time and loaded from its shared object
    (`cairn.load_aot`), run through the C API (runtime/capi/cairn.h) as a C
    program would: no compiler involved. `m["f"](*arrays)` or
    `m.run("f", *arrays)` returns a list of arrays (one array for a
    one-result function via `m["f"]`); the GIL is released while it runs."""

    def __init__(self, handle, path):
        self._h, self.path = handle, path

    @property
    def functions(self):
        return self._h.functions()

    @property
    def device(self):
        return self._h.device()

    def signature(self, name):
        """([(dtype, dims)] of the arguments, [...] of the results); -1 = dynamic."""
        return self._h.signature(name)

    def run(self, name, *args):
        return self._h.run(name, [_as_array(a) for a in args])

    def __getitem__(self, name):
        if name not in self.functions:
            raise KeyError(f"no function @{name} in {self.path}")

        def call(*args):
            out = self.run(name, *args)
            return out[0] if len(out) == 1 else tuple(out)

        call.__name__ = name
        return call


def load_aot(path):
    """Loads a shared object written by `Module.compile_aot(path,
    shared=True)` or `cairn-compile --shared` (ABI and CPU features checked;
    a file that is not such an object is a CairnError)."""
    return AotModel(_cairn.load_aot(str(path)), str(path))


def parse(text, filename=""):
    """A Module from its text form; errors are CairnError with file:line:col."""
    return Module(_cairn.parse(text, filename))


class Executable:
    """A compiled module. run() releases the GIL while the code runs."""

    def __init__(self, handle):
        self._h = handle

    def run(self, name, *args):
        return self._h.run(name, [_as_array(a) for a in args])

    def print(self, file=None):
        """The IR after the compiler's passes."""
        print(self._h.print(), end="", file=file if file is not None else sys.stdout)

    def describe(self):
        """The executor programs as text."""
        return self._h.describe()


def _as_array(a):
    """Python numbers as i1/i64/f32 arrays; NumPy scalars and the rest keep
    their dtype."""
    if isinstance(a, np.ndarray):
        return a
    if type(a) is bool:
        return np.asarray(a, dtype=np.bool_)
    if type(a) is int:
        return np.asarray(a, dtype=np.int64)
    if type(a) is float:
        return np.asarray(a, dtype=np.float32)
    return np.asarray(a)


class Function:
    """One function of a Module, callable with NumPy arrays.

    Calling it compiles the module for the CPU on first use (backend="cpu")
    or runs the reference interpreter (backend="interpreter"). Results come
    back in the structure the traced Python function returned.
    """

    def __init__(self, module, name, treedef, backend="cpu", default_max_trip=0):
        self.module = module
        self.name = name
        self._treedef = treedef
        self.backend = backend
        self.default_max_trip = default_max_trip
        self._exe = None

    @property
    def arg_specs(self):
        return [TensorSpec([None if s < 0 else s for s in shape], d)
                for d, shape in self.module._h.arg_types(self.name)]

    @property
    def result_specs(self):
        return [TensorSpec([None if s < 0 else s for s in shape], d)
                for d, shape in self.module._h.result_types(self.name)]

    def __repr__(self):
        args = ", ".join(repr(s) for s in self.arg_specs)
        return f"<cairn.Function @{self.name}({args})>"

    def print(self, file=None):
        self.module.print(file)

    def _check_args(self, args):
        specs = self.arg_specs
        if len(args) != len(specs):
            raise TypeError(f"@{self.name} takes {len(specs)} arguments, got {len(args)}")
        out = []
        for i, (a, s) in enumerate(zip(args, specs)):
            if isinstance(a, (bool, int, float, np.number, np.bool_)) and s.dtype.numpy is not None:
                a = np.asarray(a, dtype=s.dtype.numpy)
            a = _as_array(a)
            if s.dtype.numpy is None:
                raise TypeError(f"@{self.name} argument {i} is {s.dtype.name}, which NumPy "
                                "has no dtype for; call the function from a module that "
                                "takes f32 and casts")
            if a.dtype != s.dtype.numpy:
                raise TypeError(f"@{self.name} argument {i}: expected {s.dtype.name} "
                                f"({s.dtype.numpy}), got {a.dtype}")
            if a.ndim != len(s.shape) or any(d is not None and d != n
                                             for d, n in zip(s.shape, a.shape)):
                raise ValueError(f"@{self.name} argument {i}: expected shape {s!r}, "
                                 f"got {a.shape}")
            out.append(a)
        return out

    def __call__(self, *args):
        arrays = self._check_args(args)
        if self.backend == "interpreter":
            out = self.module._h.interpret(self.name, arrays, self.default_max_trip)
        else:
            if self._exe is None:
                self._exe = self.module._h.compile(self.default_max_trip)
            out = self._exe.run(self.name, arrays)
        return self._unflatten(out)

    def interpret(self, *args):
        """Runs with the reference interpreter (the oracle)."""
        out = self.module._h.interpret(self.name, self._check_args(args), self.default_max_trip)
        return self._unflatten(out)

    def _unflatten(self, out):
        if self._treedef is None:
            return out[0] if len(out) == 1 else tuple(out)
        return _pytree.unflatten(self._treedef, out)


def _spec(s):
    if isinstance(s, TensorSpec):
        return s
    if isinstance(s, np.ndarray):
        return TensorSpec.of(s)
    if isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], (tuple, list)):
        return TensorSpec(s[0], s[1])
    raise TypeError(f"cairn: not an argument spec: {s!r} (use e.g. cairn.f32[None, 3])")


def trace(fn, *specs, name=None, module=None, backend="cpu", default_max_trip=0):
    """Traces `fn` over symbolic tensors of `specs` into a Cairn function.

    Returns a Function in `module` (a new Module by default). `fn` may return
    a tensor, a number, or a nest of tuples/lists/dicts of them. A Python
    exception inside `fn` (or a BuildError from a bad op) propagates
    unchanged and leaves nothing in the module.
    """
    specs = [_spec(s) for s in specs]
    module = module if module is not None else Module()
    name = name or getattr(fn, "__name__", "f")
    if not name.isidentifier():
        name = "f"
    if name in module:
        raise ValueError(f"cairn.trace: the module already has a function @{name}")
    try:
        params = [n for n, p in inspect.signature(fn).parameters.items()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    arg_names = [params[i] if i < len(params) else "" for i in range(len(specs))]
    builder = _cairn.Builder.create(module._h, name,
                                    [(s.dtype.name, s.ir_shape()) for s in specs], arg_names)
    stack = trace_stack()
    stack.append(builder)
    try:
        args = [Tensor(builder.arg(i)) for i in range(len(specs))]
        out = fn(*args)
        leaves, treedef = _pytree.flatten(out)
        vals = [as_tensor(x)._v for x in leaves]
        builder.ret(vals)
    except BaseException:
        builder.abandon()
        raise
    finally:
        stack.pop()
    return Function(module, name, treedef, backend, default_max_trip)


def function(*specs, name=None, backend="cpu", default_max_trip=0):
    """Decorator: trace the function into a Cairn function.

        @cairn.function(cairn.f32[None, 3], cairn.f32[3, 4])
        def affine(x, w): return cairn.tanh(x @ w)

    or with the specs as annotations:

        @cairn.function
        def affine(x: cairn.f32[None, 3], w: cairn.f32[3, 4]): ...
    """
    if len(specs) == 1 and callable(specs[0]) and not isinstance(specs[0], TensorSpec):
        fn = specs[0]
        ann = [p.annotation for p in inspect.signature(fn).parameters.values()]
        if any(a is inspect.Parameter.empty for a in ann):
            raise TypeError("cairn.function without specs needs every argument annotated "
                            "with a spec such as cairn.f32[None, 3]")
        return trace(fn, *ann, name=name, backend=backend, default_max_trip=default_max_trip)

    def wrap(fn):
        return trace(fn, *specs, name=name, backend=backend, default_max_trip=default_max_trip)

    return wrap
