"""Data-dependent control flow from Python callables: `while_loop`, `cond`,
`fori_loop`. Each becomes one structured `while`/`if` op (docs/ir.md): the
callables run once, at trace time, to build the op's regions.

Carried values and branch results are nests of tuples/lists/dicts of tensors
(or numbers, which become constants: ints i64, floats f32, bools i1; a number
returned for a carried value takes that value's dtype).
"""
from . import _pytree
from ._tensor import Tensor, _locate, as_tensor, current_builder


def _leaves_as_tensors(tree, like=None):
    leaves, treedef = _pytree.flatten(tree)
    out = []
    for i, x in enumerate(leaves):
        if isinstance(x, Tensor):
            out.append(x)
        else:
            out.append(as_tensor(x, like[i].dtype if like is not None else None))
    return out, treedef


def while_loop(cond_fn, body_fn, init, max_trip=None):
    """Runs `init = body_fn(init)` while `cond_fn(init)` (an i1 scalar tensor).

    `max_trip` (an int or an integer scalar tensor) bounds the iterations:
    passing it is a run-time error, and it spares reverse-mode autodiff a
    counting run of the loop (docs/autodiff.md)."""
    inits, treedef = _leaves_as_tensors(init)
    b = current_builder()
    _locate(b)

    def cond(carried):
        c = cond_fn(_pytree.unflatten(treedef, [Tensor(v) for v in carried]))
        if not isinstance(c, Tensor):
            raise TypeError("cairn.while_loop: cond_fn must return a tensor (an i1 scalar), "
                            f"got {type(c).__name__}")
        return c._v

    def body(carried):
        nxt = body_fn(_pytree.unflatten(treedef, [Tensor(v) for v in carried]))
        leaves, td = _pytree.flatten(nxt)
        if td != treedef:
            raise TypeError(f"cairn.while_loop: body_fn returned the structure {td!r}, "
                            f"but the carried values have {treedef!r}")
        return [x._v if isinstance(x, Tensor) else as_tensor(x, inits[i].dtype)._v
                for i, x in enumerate(leaves)]

    if isinstance(max_trip, Tensor):
        max_trip = max_trip._v
    out = b.while_loop([x._v for x in inits], cond, body, max_trip)
    return _pytree.unflatten(treedef, [Tensor(v) for v in out])


def fori_loop(lower, upper, body_fn, init, max_trip=None):
    """`for i in range(lower, upper): init = body_fn(i, init)` as a while loop
    (i is an i64 scalar tensor)."""
    def cond(c):
        return c[0] < c[2]

    def body(c):
        return (c[0] + 1, body_fn(c[0], c[1]), c[2])

    lo = as_tensor(lower, "i64") if not isinstance(lower, Tensor) else lower.astype("i64")
    hi = as_tensor(upper, "i64") if not isinstance(upper, Tensor) else upper.astype("i64")
    if max_trip is None and not isinstance(lower, Tensor) and not isinstance(upper, Tensor):
        max_trip = max(int(upper) - int(lower), 0)
    return while_loop(cond, body, (lo, init, hi), max_trip=max_trip)[1]


def cond(pred, true_fn, false_fn, *operands):
    """`true_fn(*operands)` if `pred` (an i1 scalar tensor) else
    `false_fn(*operands)`; both must return the same structure and types.
    A Python bool picks the branch at trace time."""
    if isinstance(pred, bool):
        return true_fn(*operands) if pred else false_fn(*operands)
    pred = as_tensor(pred)
    b = pred._v.builder()
    _locate(b)
    trees, firsts = {}, {}

    def branch(which, fn):
        def run():
            tree = fn(*operands)
            if which == 1:
                # Numbers in the false branch take the true branch's dtypes.
                td = _pytree.flatten(tree)[1]
                if td != trees[0]:
                    raise TypeError(f"cairn.cond: false_fn returned the structure {td!r}, "
                                    f"but true_fn returned {trees[0]!r}")
                out, _ = _leaves_as_tensors(tree, like=firsts[0])
            else:
                out, td = _leaves_as_tensors(tree)
                firsts[0] = out
            trees[which] = td
            return [x._v for x in out]
        return run

    out = b.if_else(pred._v, branch(0, true_fn), branch(1, false_fn))
    return _pytree.unflatten(trees[0], [Tensor(v) for v in out])
