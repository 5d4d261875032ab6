"""Nested tuples, lists and dicts of leaves, flattened and rebuilt.

The carried values of `while_loop`, the branches of `cond` and the results of
a traced function may be any nesting of tuples, lists and dicts (keys
sorted, as JAX does) whose leaves are tensors or numbers. Tracing works on
the flat list of leaves; the tree structure puts the results back together.
"""


class TreeDef:
    """The shape of a nest: ("leaf",), ("tuple"/"list", children) or
    ("dict", keys, children)."""

    __slots__ = ("kind", "keys", "children")

    def __init__(self, kind, children=(), keys=()):
        self.kind = kind
        self.children = tuple(children)
        self.keys = tuple(keys)

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind == other.kind
                and self.keys == other.keys and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.keys, self.children))

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        if self.kind == "dict":
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children))
            return "{" + inner + "}"
        inner = ", ".join(repr(c) for c in self.children)
        return f"({inner},)" if self.kind == "tuple" else f"[{inner}]"

    def num_leaves(self):
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves() for c in self.children)


LEAF = TreeDef("leaf")


def flatten(tree):
    """(leaves, treedef) of a nest of tuples, lists and dicts."""
    leaves = []

    def go(t):
        if isinstance(t, tuple) and not hasattr(t, "_fields"):
            return TreeDef("tuple", [go(c) for c in t])
        if isinstance(t, list):
            return TreeDef("list", [go(c) for c in t])
        if isinstance(t, dict):
            keys = sorted(t)
            return TreeDef("dict", [go(t[k]) for k in keys], keys)
        leaves.append(t)
        return LEAF

    return leaves, go(tree)


def unflatten(treedef, leaves):
    """The nest of `treedef` with `leaves` in flatten's order."""
    it = iter(leaves)

    def go(d):
        if d.kind == "leaf":
            return next(it)
        children = [go(c) for c in d.children]
        if d.kind == "tuple":
            return tuple(children)
        if d.kind == "list":
            return children
        return dict(zip(d.keys, children))

    return go(treedef)
