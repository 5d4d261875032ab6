#!/usr/bin/env python3
"""Self-check of the PyTorch reference against a second, NumPy (float64)
transcription of docs/models.md: SPINN as the batched thin stack with
pointers (the formulation Cairn's graph uses) and the BiRNN as explicit cell
loops with length masks. Random parameters and random valid trees; no Cairn
build needed. Run: bench/.venv/bin/python bench/reference/selftest.py
"""
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from birnn import BiRnn  # noqa: E402
from common import ParamBag, max_rel_diff  # noqa: E402
from spinn import SpinnSnli  # noqa: E402
from treelstm import TreeLstmSentiment  # noqa: E402


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def random_tree(rng, n):
    """A uniformly-ish random valid shift/reduce sequence of n tokens."""
    seq, sp, shifted = [], 0, 0
    while len(seq) < 2 * n - 1:
        can_shift, can_reduce = shifted < n, sp >= 2
        if can_shift and (not can_reduce or rng.random() < 0.5):
            seq.append(1); sp += 1; shifted += 1
        else:
            seq.append(2); sp -= 1
    return seq


class Params:
    def __init__(self, rng):
        self.rng, self.values, self.names = rng, {}, []

    def add(self, name, *shape):
        self.values[name] = (self.rng.uniform(-0.5, 0.5, size=shape)).astype(np.float32)
        self.names.append(name)

    def bag(self, d):
        os.makedirs(os.path.join(d, "params"), exist_ok=True)
        for k, v in self.values.items():
            np.save(os.path.join(d, "params", k + ".npy"), v)
        return ParamBag(d, self.names)

    def __getitem__(self, k):
        return self.values[k].astype(np.float64)


def np_spinn(p, tokens, trans, lengths, H, T, predicted):
    B, N = tokens.shape
    buf = p["embed.weight"][tokens] @ p["projection.weight"] + p["projection.bias"]
    stack = np.zeros((B, N + 1, 2 * H))
    bp = np.zeros(B, int); sp = np.zeros(B, int)
    th = np.zeros((B, T)); tc = np.zeros((B, T))
    steps = 2 * N - 1 if predicted else trans.shape[1]
    chosen = np.zeros((B, steps), np.int32)
    rows = np.arange(B)
    for s in range(steps):
        bt = np.where((bp < lengths)[:, None], buf[rows, np.minimum(bp, N - 1), :H], 0)
        top = np.where((sp >= 1)[:, None], stack[rows, np.maximum(sp - 1, 0)], 0)
        sec = np.where((sp >= 2)[:, None], stack[rows, np.maximum(sp - 2, 0)], 0)
        if predicted:
            active = s < 2 * lengths - 1
        else:
            active = trans[:, s] != 0
        nth, ntc = th, tc
        if T > 0:
            g = (np.concatenate([bt, top[:, :H], sec[:, :H]], 1) @ p["tracker.cell.wx"]
                 + th @ p["tracker.cell.wh"] + p["tracker.cell.b"])
            i, f, gg, o = np.split(g, 4, 1)
            ntc = sig(f) * tc + sig(i) * np.tanh(gg)
            nth = sig(o) * np.tanh(ntc)
        if predicted:
            lg = nth @ p["predictor.weight"] + p["predictor.bias"]
            lg[bp >= lengths, 0] = -np.inf
            lg[sp < 2, 1] = -np.inf
            t = np.where(lg[:, 1] > lg[:, 0], 2, 1)
        else:
            t = trans[:, s]
        t = np.where(active, t, 0)
        chosen[:, s] = t
        g = sec[:, :H] @ p["reduce.left.weight"] + p["reduce.left.bias"] + top[:, :H] @ p["reduce.right.weight"]
        if T > 0:
            g = g + nth @ p["reduce.track.weight"]
        a, i, f1, f2, o = np.split(g, 5, 1)
        c = np.tanh(a) * sig(i) + sig(f1) * sec[:, H:] + sig(f2) * top[:, H:]
        red = np.concatenate([sig(o) * np.tanh(c), c], 1)
        for b in range(B):
            if t[b] == 1:
                stack[b, sp[b]] = buf[b, bp[b]]; sp[b] += 1; bp[b] += 1
            elif t[b] == 2:
                stack[b, sp[b] - 2] = red[b]; sp[b] -= 1
        th = np.where(active[:, None], nth, th); tc = np.where(active[:, None], ntc, tc)
    return stack[rows, sp - 1, :H], chosen


def np_birnn(p, tokens, lengths, H, L, cell, tag):
    B, N = tokens.shape
    x = p["embed.weight"][tokens]
    for k in range(L):
        outs = []
        for d in ("fwd", "bwd"):
            w = lambda n: p[f"rnn.l{k}.{d}.{n}"]  # noqa: E731
            h = np.zeros((B, H)); c = np.zeros((B, H))
            y = np.zeros((B, N, H))
            for t in (range(N) if d == "fwd" else range(N - 1, -1, -1)):
                if cell == "lstm":
                    g = x[:, t] @ w("wx") + h @ w("wh") + w("b")
                    i, f, gg, o = np.split(g, 4, 1)
                    nc = sig(f) * c + sig(i) * np.tanh(gg); nh = sig(o) * np.tanh(nc)
                else:
                    gx = x[:, t] @ w("wx") + w("bx"); gh = h @ w("wh") + w("bh")
                    r = sig(gx[:, :H] + gh[:, :H]); z = sig(gx[:, H:2*H] + gh[:, H:2*H])
                    n = np.tanh(gx[:, 2*H:] + r * gh[:, 2*H:]); nh = (1 - z) * n + z * h; nc = c
                m = (t < lengths)[:, None]
                h = np.where(m, nh, h); c = np.where(m, nc, c)
                y[:, t] = np.where(m, h, 0)
            outs.append((y, h))
        x = np.concatenate([outs[0][0], outs[1][0]], 2)
        final = np.concatenate([outs[0][1], outs[1][1]], 1)
    z = x if tag else final
    return z @ p["out.weight"] + p["out.bias"]


def main():
    rng = np.random.default_rng(1)
    torch.manual_seed(0)
    V, E, H, T, M = 23, 8, 6, 5, 10
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        for mode, tracker in (("pi", T), ("pi", 0), ("predicted", T)):
            pr = Params(rng)
            pr.add("embed.weight", V, E); pr.add("projection.weight", E, 2 * H)
            pr.add("projection.bias", 2 * H)
            pr.add("reduce.left.weight", H, 5 * H); pr.add("reduce.left.bias", 5 * H)
            pr.add("reduce.right.weight", H, 5 * H)
            if tracker:
                pr.add("reduce.track.weight", tracker, 5 * H)
                pr.add("tracker.cell.wx", 3 * H, 4 * tracker); pr.add("tracker.cell.wh", tracker, 4 * tracker)
                pr.add("tracker.cell.b", 4 * tracker)
            if mode == "predicted":
                pr.add("predictor.weight", tracker, 2); pr.add("predictor.bias", 2)
            pr.add("mlp.0.weight", 4 * H, M); pr.add("mlp.0.bias", M)
            pr.add("mlp.1.weight", M, 3); pr.add("mlp.1.bias", 3)
            B, N = 5, 7
            lengths = rng.integers(1, N + 1, size=(2, B)); lengths[0, 0] = N
            tokens = np.zeros((2, B, N), np.int32); trans = np.zeros((2, B, 2 * N - 1), np.int32)
            for j in range(2):
                for b in range(B):
                    n = lengths[j, b]
                    tokens[j, b, :n] = rng.integers(1, V, size=n)
                    trans[j, b, :2 * n - 1] = random_tree(rng, n)
            P = pr.bag(d)
            cfg = dict(vocab=V, embed=E, hidden=H, tracker=tracker, mlp_hidden=M, mlp_layers=1, mode=mode)
            model = SpinnSnli(P, cfg)
            P.check_all_taken()
            with torch.no_grad():
                logits, chosen = model(tokens, None if mode == "predicted" else trans, lengths)
            roots, ch = np_spinn(pr, tokens.reshape(2 * B, N), trans.reshape(2 * B, -1),
                                 lengths.reshape(2 * B), H, tracker, mode == "predicted")
            pp, hh = roots[:B], roots[B:]
            feat = np.concatenate([pp, hh, pp - hh, pp * hh], 1)
            ref = np.maximum(feat @ pr["mlp.0.weight"] + pr["mlp.0.bias"], 0) @ pr["mlp.1.weight"] + pr["mlp.1.bias"]
            rel = max_rel_diff(logits.numpy(), ref)
            same = chosen is None or np.array_equal(chosen, ch)
            print(f"spinn {mode} tracker={tracker}: rel {rel:.2e}, transitions equal: {same}")
            failures += (rel > 1e-5) + (not same)
            if mode == "predicted":
                print("  predicted transitions row 0:", ch[0].tolist())
        # TreeLSTM sentiment: same encoder, no tracker, Linear(out, H, 5).
        pr = Params(rng)
        pr.add("embed.weight", V, E); pr.add("projection.weight", E, 2 * H); pr.add("projection.bias", 2 * H)
        pr.add("reduce.left.weight", H, 5 * H); pr.add("reduce.left.bias", 5 * H)
        pr.add("reduce.right.weight", H, 5 * H); pr.add("out.weight", H, 5); pr.add("out.bias", 5)
        B, N = 4, 9
        lengths = np.array([9, 3, 1, 6]); tokens = np.zeros((B, N), np.int32)
        trans = np.zeros((B, 2 * N - 1), np.int32)
        for b in range(B):
            tokens[b, :lengths[b]] = rng.integers(1, V, size=lengths[b])
            trans[b, :2 * lengths[b] - 1] = random_tree(rng, lengths[b])
        P = pr.bag(d)
        model = TreeLstmSentiment(P, dict(vocab=V, embed=E, hidden=H))
        P.check_all_taken()
        with torch.no_grad():
            out = model(tokens, trans, lengths).numpy()
        roots, _ = np_spinn(pr, tokens, trans, lengths, H, 0, False)
        rel = max_rel_diff(out, roots @ pr["out.weight"] + pr["out.bias"])
        print(f"treelstm: rel {rel:.2e}"); failures += rel > 1e-5
        for cell in ("lstm", "gru"):
            for tag in (False, True):
                pr = Params(rng); L = 2; C = 4; G = 4 if cell == "lstm" else 3
                pr.add("embed.weight", V, E)
                for k in range(L):
                    for dd in ("fwd", "bwd"):
                        pr.add(f"rnn.l{k}.{dd}.wx", E if k == 0 else 2 * H, G * H)
                        pr.add(f"rnn.l{k}.{dd}.wh", H, G * H)
                        if cell == "lstm":
                            pr.add(f"rnn.l{k}.{dd}.b", G * H)
                        else:
                            pr.add(f"rnn.l{k}.{dd}.bx", G * H); pr.add(f"rnn.l{k}.{dd}.bh", G * H)
                pr.add("out.weight", 2 * H, C); pr.add("out.bias", C)
                B, N = 5, 8
                lengths = np.array([8, 2, 5, 1, 7]); tokens = np.zeros((B, N), np.int32)
                for b in range(B):
                    tokens[b, :lengths[b]] = rng.integers(1, V, size=lengths[b])
                P = pr.bag(d)
                model = BiRnn(P, dict(cell=cell, vocab=V, embed=E, hidden=H, layers=L, classes=C, tag=tag))
                P.check_all_taken()
                with torch.no_grad():
                    out = model(tokens, lengths).numpy()
                rel = max_rel_diff(out, np_birnn(pr, tokens, lengths, H, L, cell, tag))
                print(f"bi{cell} {'tag' if tag else 'classify'}: rel {rel:.2e}"); failures += rel > 1e-5
    print("selftest:", "OK" if failures == 0 else f"{failures} FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
