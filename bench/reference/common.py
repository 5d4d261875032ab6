"""Shared helpers of the PyTorch reference: reading a golden-case directory
written by cairn-export-reference and writing the reference's outputs.

A case directory holds:
  config.json          {"case", "kind", "model": {...}, "inputs": [names],
                        "outputs": [names], "params": [names in declaration order]}
  inputs/<name>.npy    int32 data inputs (tokens, transitions, lengths)
  params/<name>.npy    float32 parameters, named as in docs/models.md
  outputs/cairn_<i>.npy  Cairn's reference-interpreter outputs (for comparison)

The reference writes outputs/torch_<i>.npy, one per entry of config["outputs"].
"""
import json
import os

import numpy as np
import torch


def load_config(case_dir):
    with open(os.path.join(case_dir, "config.json")) as f:
        return json.load(f)


def load_inputs(case_dir, config):
    out = {}
    for name in config["inputs"]:
        a = np.load(os.path.join(case_dir, "inputs", name + ".npy"))
        if a.dtype != np.int32:
            raise ValueError(f"input {name}: expected int32, got {a.dtype}")
        out[name] = a
    return out


class ParamBag:
    """The parameters of a case, by name. Every parameter must be taken
    exactly once (take()), so a naming mismatch with the C++ model is an
    error instead of a silently unused or missing tensor."""

    def __init__(self, case_dir, names):
        self._values = {}
        for name in names:
            a = np.load(os.path.join(case_dir, "params", name + ".npy"))
            if a.dtype != np.float32:
                raise ValueError(f"param {name}: expected float32, got {a.dtype}")
            self._values[name] = torch.from_numpy(a.copy())
        self._taken = set()

    def take(self, name, shape=None):
        if name not in self._values:
            raise KeyError(f"parameter {name!r} missing (have: {sorted(self._values)})")
        if name in self._taken:
            raise KeyError(f"parameter {name!r} taken twice")
        t = self._values[name]
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(f"parameter {name!r}: shape {tuple(t.shape)}, expected {tuple(shape)}")
        self._taken.add(name)
        return t

    def has(self, name):
        return name in self._values

    @torch.no_grad()
    def load_into(self, param, name, shape, transpose=False, sparse_rows=False):
        """Copies Cairn's `name` (of `shape`) into the module parameter
        `param`, transposed when PyTorch stores it the other way round, and
        remembers the pair so cairn_grads() can map gradients back.
        sparse_rows: an embedding table, whose gradient is stored as its
        nonzero rows only."""
        t = self.take(name, shape)
        param.copy_(t.t() if transpose else t)
        self._bound = getattr(self, "_bound", [])
        self._bound.append((name, param, transpose, sparse_rows))

    def cairn_grads(self):
        """d loss / d (each Cairn parameter), in Cairn's layout, after
        backward(): zeros for parameters the loss does not reach."""
        out = {}
        for name, param, transpose, sparse in getattr(self, "_bound", []):
            g = param.grad if param.grad is not None else torch.zeros_like(param)
            out[name] = ((g.t() if transpose else g).detach().clone(), sparse)
        return out

    def check_all_taken(self):
        left = sorted(set(self._values) - self._taken)
        if left:
            raise ValueError(f"parameters not used by the reference: {left}")


@torch.no_grad()
def linear_from(P, name, in_dim, out_dim, bias=True):
    """torch.nn.Linear holding Cairn's Linear(name, in, out): Cairn stores
    weight as [in, out] (x . W + b); PyTorch as [out, in] (x . W^T + b)."""
    lin = torch.nn.Linear(in_dim, out_dim, bias=bias)
    P.load_into(lin.weight, name + ".weight", (in_dim, out_dim), transpose=True)
    if bias:
        P.load_into(lin.bias, name + ".bias", (out_dim,))
    return lin


@torch.no_grad()
def embedding_from(P, name, vocab, dim):
    emb = torch.nn.Embedding(vocab, dim)
    P.load_into(emb.weight, name + ".weight", (vocab, dim), sparse_rows=True)
    return emb


@torch.no_grad()
def lstm_cell_from(P, name, in_dim, hidden):
    """torch.nn.LSTMCell holding Cairn's LSTMCell(name, in, H): gates in the
    same i, f, g, o order; weight_ih = wx^T, weight_hh = wh^T, bias_ih = b,
    bias_hh = 0."""
    cell = torch.nn.LSTMCell(in_dim, hidden)
    P.load_into(cell.weight_ih, name + ".wx", (in_dim, 4 * hidden), transpose=True)
    P.load_into(cell.weight_hh, name + ".wh", (hidden, 4 * hidden), transpose=True)
    P.load_into(cell.bias_ih, name + ".b", (4 * hidden,))
    cell.bias_hh.zero_()
    return cell


class Mlp(torch.nn.Module):
    """Mlp(name, in, hidden, layers, out): layers x (Linear, ReLU), then a
    final Linear; linears named name.0 .. name.<layers>."""

    def __init__(self, P, name, in_dim, hidden, layers, out):
        super().__init__()
        mods = []
        d = in_dim
        for k in range(layers):
            mods.append(linear_from(P, f"{name}.{k}", d, hidden))
            mods.append(torch.nn.ReLU())
            d = hidden
        mods.append(linear_from(P, f"{name}.{layers}", d, out))
        self.net = torch.nn.Sequential(*mods)

    def forward(self, x):
        return self.net(x)


def save_outputs(case_dir, tensors, prefix="torch"):
    os.makedirs(os.path.join(case_dir, "outputs"), exist_ok=True)
    for i, t in enumerate(tensors):
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().numpy()
        np.save(os.path.join(case_dir, "outputs", f"{prefix}_{i}.npy"), t)


def max_rel_diff(a, b):
    """max|a - b| / max(max|b|, 1e-6): the per-tensor relative difference the
    golden test bounds by 1e-5 (b = the expected value)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-6))
