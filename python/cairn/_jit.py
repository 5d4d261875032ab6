"""`jit`, `grad` and `value_and_grad`: Python functions of NumPy arrays,
traced and compiled once per signature.

The signature of a call is the dtypes and shapes of its arrays. The first
call with a new signature traces the function with exactly those (static)
shapes, adds the gradient function when asked (compiler/autodiff, through
loops and branches), compiles the module for the CPU (or keeps it for the
reference interpreter) and caches the result; later calls with the same
signature go straight to the compiled code, with the GIL released while it
runs.
"""
import collections
import itertools

import numpy as np

from . import _pytree
from ._dtypes import TensorSpec, as_dtype
from ._module import Module, _as_array, _spec, trace
from ._tensor import Tensor, as_tensor, current_builder


def _scalar_array(a):
    if isinstance(a, np.ndarray):
        return a
    return _as_array(a)


_INLINED = itertools.count(1)  # numbers the gradient functions built inside traces


class _Compiled:
    __slots__ = ("module", "run", "fname", "treedef", "argdef")


CacheInfo = collections.namedtuple("CacheInfo", "size maxsize misses evictions")


class jit:
    """`cairn.jit(fn)`: `fn` traced and compiled per signature of its arguments.

    Arguments are NumPy arrays (or numbers: ints i64, floats f32, bools i1)
    passed positionally. With `specs` (e.g. `[cairn.i32[None, None], ...]`,
    dynamic dims allowed) the function is traced once, for every call. `backend="interpreter"` runs the reference
    interpreter instead of compiling. `default_max_trip` bounds loops without
    a max_trip (0: unbounded).

    The compiled signatures are kept in an LRU cache of `cache_size` entries
    (None: unbounded); the least recently called one is dropped (its
    compiled code freed once no call is running it) when a new signature
    needs the room. With static_argnums, each distinct tuple of static
    values has such a cache, and at most `cache_size` of those are kept.
    `cache_info()` gives (size, maxsize, misses, evictions) over them all.
    """

    def __init__(self, fn, backend="cpu", default_max_trip=0, specs=None, static_argnums=(),
                 cache_size=128):
        if backend not in ("cpu", "interpreter"):
            raise ValueError(f"cairn.jit: unknown backend {backend!r} (cpu, interpreter)")
        if cache_size is not None and (not isinstance(cache_size, int) or cache_size < 1):
            raise ValueError(f"cairn.jit: cache_size must be a positive int or None, "
                             f"not {cache_size!r}")
        self.fn = fn
        self.backend = backend
        self.default_max_trip = default_max_trip
        self.cache_size = cache_size
        self._cache = collections.OrderedDict()  # signature -> _Compiled, oldest first
        self._misses = 0
        self._evictions = 0
        # Given specs (dynamic dims allowed): one trace serves every call.
        self._specs = None if specs is None else [_spec(s) for s in specs]
        self.__name__ = getattr(fn, "__name__", "f")
        self.__doc__ = getattr(fn, "__doc__", None)
        # Static arguments: Python values fixed at trace time; one traced
        # function per distinct (hashable) tuple of them.
        self._static = (static_argnums,) if isinstance(static_argnums, int) else \
            tuple(sorted(static_argnums))
        self._per_static = collections.OrderedDict()
        self._static_evictions = 0
        self._static_misses = 0

    def cache_info(self):
        """(size, maxsize, misses, evictions) of the signature cache (summed
        over the per-static-argument caches, whose own evictions count too)."""
        size, misses, evictions = len(self._cache), self._misses + self._static_misses, \
            self._evictions
        for inner in self._per_static.values():
            i = inner.cache_info()
            size, misses, evictions = size + i.size, misses + i.misses, evictions + i.evictions
        return CacheInfo(size, self.cache_size, misses, evictions + self._static_evictions)

    def cache_clear(self):
        self._cache.clear()
        self._per_static.clear()

    def _for_static(self, args):
        """The jit of fn with this call's static arguments bound, and the
        remaining arguments."""
        statics = tuple(args[i] for i in self._static if i < len(args))
        if len(statics) != len(self._static):
            raise TypeError(f"cairn.jit: static_argnums {self._static} but {len(args)} arguments")
        try:
            inner = self._per_static.get(statics)
        except TypeError:
            raise TypeError("cairn.jit: static arguments must be hashable") from None
        if inner is not None:
            self._per_static.move_to_end(statics)
        else:
            static, fn = self._static, self.fn

            def bound(*dyn):
                it, full = iter(dyn), []
                for i in range(len(dyn) + len(static)):
                    full.append(statics[static.index(i)] if i in static else next(it))
                return fn(*full)

            bound.__name__ = self.__name__
            inner = self._per_static[statics] = self._rebind(bound)
            if self.cache_size is not None and len(self._per_static) > self.cache_size:
                _, old = self._per_static.popitem(last=False)
                i = old.cache_info()  # its counts stay in the totals
                self._static_misses += i.misses
                self._static_evictions += i.evictions + i.size
        return inner, [a for i, a in enumerate(args) if i not in self._static]

    def _rebind(self, fn):
        return jit(fn, self.backend, self.default_max_trip, self._specs,
                   cache_size=self.cache_size)

    def _specs_for(self, arrays):
        if self._specs is not None:
            return self._specs
        return [TensorSpec.of(a) for a in arrays]

    def _traced(self, specs, argdef, module=None, name=None):
        """`fn` traced over the leaves of its arguments (argdef: their nest)."""
        def of_leaves(*leaves):
            return self.fn(*_pytree.unflatten(argdef, leaves))

        fn = self.fn if argdef is None else of_leaves
        return trace(fn, *specs, name=name or self.__name__, module=module)

    def _build(self, specs, argdef, module=None, name=None):
        """Traces (into a new module by default); returns (module, function
        name to run, treedef)."""
        f = self._traced(specs, argdef, module, name)
        return f.module, f.name, f._treedef

    def _inline(self, args):
        """Called on symbolic tensors (inside another trace): `fn` itself."""
        return self.fn(*args)

    def _compile(self, arrays, argdef):
        module, fname, treedef = self._build(self._specs_for(arrays), argdef)
        c = _Compiled()
        c.module, c.fname, c.treedef, c.argdef = module, fname, treedef, argdef
        if self.backend == "cpu":
            c.run = module._h.compile(self.default_max_trip).run
        else:
            h, trip = module._h, self.default_max_trip
            c.run = lambda name, args: h.interpret(name, args, trip)
        return c

    @staticmethod
    def _flatten_args(args):
        """(arrays, argdef): the leaves of the arguments as arrays, and their
        nest (None when every argument is an array or a number); (None, None)
        when a leaf is a symbolic tensor (a call inside a trace)."""
        for a in args:
            if type(a) is not np.ndarray:
                break
        else:
            return list(args), None  # the common case, kept cheap
        leaves, argdef = _pytree.flatten(list(args))
        if any(isinstance(x, Tensor) for x in leaves):
            return None, None
        if all(ch is _pytree.LEAF for ch in argdef.children):
            argdef = None
        return [a if type(a) is np.ndarray else _scalar_array(a) for a in leaves], argdef

    def lower(self, *args):
        """The traced Module for these arguments (without compiling)."""
        arrays, argdef = self._flatten_args(args)
        if arrays is None:
            raise TypeError("cairn.jit.lower takes arrays, not traced tensors")
        return self._build(self._specs_for(arrays), argdef)[0]

    def __call__(self, *args):
        if self._static:
            inner, rest = self._for_static(args)
            return inner(*rest)
        arrays, argdef = self._flatten_args(args)
        if arrays is None:
            return self._inline(args)
        key = None if self._specs is not None else \
            (argdef, tuple((a.dtype, a.shape) for a in arrays))
        cache = self._cache
        c = cache.get(key)
        if c is None:
            c = self._compile(arrays, argdef)
            cache[key] = c
            self._misses += 1
            if self.cache_size is not None and len(cache) > self.cache_size:
                cache.popitem(last=False)
                self._evictions += 1
        elif len(cache) > 1:
            cache.move_to_end(key)
        out = c.run(c.fname, arrays)
        return self._finish(c, out)

    def _finish(self, c, out):
        if c.treedef is _pytree.LEAF:
            return out[0]
        return _pytree.unflatten(c.treedef, out)


class value_and_grad(jit):
    """`cairn.value_and_grad(fn, argnums=0)`: (fn's value, d value / d args).

    `fn` returns a float scalar loss, or with `has_aux=True` a pair
    (loss, aux). The gradient is reverse-mode autodiff of the traced IR
    (docs/autodiff.md), through `while_loop` and `cond`. `argnums` is an int
    (one gradient) or a tuple of ints (a tuple of gradients).
    """

    def __init__(self, fn, argnums=0, has_aux=False, backend="cpu", default_max_trip=0,
                 specs=None, static_argnums=(), cache_size=128):
        super().__init__(fn, backend, default_max_trip, specs, static_argnums, cache_size)
        if any(i in self._static for i in ([argnums] if isinstance(argnums, int) else argnums)):
            raise ValueError("cairn.grad: an argument cannot be both differentiated and static")
        self.argnums = argnums
        self.has_aux = has_aux
        self._wrt = [argnums] if isinstance(argnums, int) else list(argnums)
        if not self._wrt:
            raise ValueError("cairn.grad: argnums is empty")
        self._groups = {}  # argument nest -> the nests of the gradients

    def _rebind(self, fn):
        # argnums counted among the remaining (non-static) arguments.
        shift = lambda i: i - sum(1 for k in self._static if k < i)
        argnums = shift(self.argnums) if isinstance(self.argnums, int) else \
            tuple(shift(i) for i in self.argnums)
        return type(self)(fn, argnums, self.has_aux, self.backend, self.default_max_trip,
                          self._specs, cache_size=self.cache_size)

    def _build(self, specs, argdef, module=None, name=None):
        f = self._traced(specs, argdef, module, name)
        nres = f._treedef.num_leaves()
        if self.has_aux:
            td = f._treedef
            if td.kind not in ("tuple", "list") or len(td.children) != 2:
                raise TypeError("cairn.grad with has_aux=True: fn must return (loss, aux)")
        elif nres != 1:
            raise TypeError("cairn.grad: fn must return one scalar loss "
                            "(use has_aux=True to return (loss, aux))")
        # The leaves of each differentiated argument (an argument may be a nest).
        subtrees = [_pytree.LEAF] * len(specs) if argdef is None else list(argdef.children)
        offsets = [0]
        for t in subtrees:
            offsets.append(offsets[-1] + t.num_leaves())
        wrt = []
        for i in self._wrt:
            if not 0 <= i < len(subtrees):
                raise ValueError(f"cairn.grad: argnum {i} out of range for {len(subtrees)} "
                                 "arguments")
            for k in range(offsets[i], offsets[i + 1]):
                d = specs[k].dtype
                if not as_dtype(d).is_float:
                    raise TypeError(f"cairn.grad: argument {i} has dtype {d.name}; gradients "
                                    "are taken with respect to float arguments")
                wrt.append(k)
        self._groups[argdef] = [subtrees[i] for i in self._wrt]
        gname = f.module.grad(f.name, wrt, 0)
        return f.module, gname, f._treedef

    def _inline(self, args):
        """Called on symbolic tensors (inside another trace): `fn` is traced as
        a function of the same module, its gradient function built, and a
        `call` of it made here (passes inline it). The gradient is then part
        of the enclosing function: a training step written in Python compiles
        to one function."""
        leaves, argdef = _pytree.flatten(list(args))
        tensors = [as_tensor(x) for x in leaves]
        if all(ch is _pytree.LEAF for ch in argdef.children):
            argdef = None
        b = current_builder()
        # Built in a scratch module (passes verify their whole module, and the
        # enclosing function is unfinished), then moved into the enclosing one
        # under a name unique in the process.
        scratch = Module()
        name = f"{self.__name__ if self.__name__.isidentifier() else 'f'}_{next(_INLINED)}"
        specs = [TensorSpec(t.shape, t.dtype) for t in tensors]
        _, gname, treedef = self._build(specs, argdef, scratch, name)
        b.module().adopt(scratch._h)
        c = _Compiled()
        c.treedef, c.argdef = treedef, argdef
        outs = b.call(gname, [t._v for t in tensors])
        return self._finish(c, [Tensor(v) for v in outs])

    def _finish(self, c, out):
        nres = c.treedef.num_leaves()
        value = _pytree.unflatten(c.treedef, out[:nres])
        grads, groups, at = out[nres:], [], 0
        for t in self._groups[c.argdef]:
            n = t.num_leaves()
            groups.append(_pytree.unflatten(t, grads[at:at + n]))
            at += n
        g = groups[0] if isinstance(self.argnums, int) else tuple(groups)
        return value, g


class grad(value_and_grad):
    """`cairn.grad(fn, argnums=0)`: d fn / d args (see value_and_grad)."""

    def _finish(self, c, out):
        value, g = super()._finish(c, out)
        return (g, value[1]) if self.has_aux else g
