"""SPINN's thin stack in Python, checked against the C++ model.

    PYTHONPATH=build/python python3 examples/python/spinn_model.py [--tracker 16]
    PYTHONPATH=build/python python3 examples/python/spinn_model.py --golden ../shared/data

The encoder is one `cairn.while_loop` over the transition steps that moves
every row of the batch at once: the stack is a [B, N, 2H] tensor carried by
the loop, pushed with `scatter` and read with `gather` (batch_dims=1), and
each row's SHIFT / REDUCE / no-op is a `where` (docs/models.md, "SPINN
encoder", given transitions, with or without the tracker; the layers are
cairn.nn's, which mirror the C++ ones). The same model is built by C++
(frontend/models/SpinnEncoder.cpp): this script compares the two on a
ListOps batch with the same parameters, and with `--golden` the SNLI
classifier on the golden batches against the C++ model and PyTorch's stored
logits. spinn.py trains it.
"""
import argparse
import os

import numpy as np

import cairn
from cairn import i32, nn


def spinn_encode(tokens, transitions, lengths, p, H, T=0):
    """The root's h [B, H] of each row's tree (T: the tracker's size, 0 = none)."""
    B, N = tokens.dim(0, i32), tokens.dim(1, i32)
    buffer = nn.linear(nn.embedding(tokens, p, "embed"), p, "projection")  # [B, N, 2H]
    rows = lambda pred, width: pred.reshape(B, 1).broadcast_to((B, width))  # [B] -> [B, width]
    steps, last_slot, done_at = transitions.dim(1, i32), N - 1, lengths * 2 - 1
    hc = lambda item: (item[:, :H], item[:, H:])

    def body(c):
        s, sp, bp, stack = c[:4]
        has_buf = bp < lengths
        buf_row = cairn.gather(buffer, cairn.minimum(bp, last_slot), axis=1, batch_dims=1)
        top_raw = cairn.gather(stack, cairn.maximum(sp - 1, 0), axis=1, batch_dims=1)
        second_raw = cairn.gather(stack, cairn.maximum(sp - 2, 0), axis=1, batch_dims=1)
        top = cairn.where(rows(sp >= 1, 2 * H), top_raw, 0.0)
        second = cairn.where(rows(sp >= 2, 2 * H), second_raw, 0.0)
        track = None
        if T:
            buf_top = cairn.where(rows(has_buf, 2 * H), buf_row, 0.0)
            track = nn.tracker(buf_top[:, :H], top[:, :H], second[:, :H], c[4:], p, "tracker")
        can_shift, can_reduce, live = has_buf & (sp < N), sp >= 2, s < done_at
        move = transitions[:, s]
        do_shift = (move == 1) & can_shift & live
        do_reduce = (move == 2) & can_reduce & live
        slot = cairn.where(do_shift, sp, cairn.where(do_reduce, sp - 2, cairn.maximum(sp - 1, 0)))
        reduced = nn.tree_lstm_reduce(hc(second), hc(top), p, "reduce", track and track[0])
        item = cairn.where(rows(do_shift, 2 * H), buf_row,
                           cairn.where(rows(do_reduce, 2 * H), cairn.concat(reduced, 1), top_raw))
        nxt = (s + 1, cairn.where(do_shift, sp + 1, cairn.where(do_reduce, sp - 1, sp)),
               cairn.where(do_shift, bp + 1, bp),
               cairn.scatter(stack, slot, item, axis=1, batch_dims=1))
        acts = rows(do_shift | do_reduce, T) if T else None
        return nxt + tuple(cairn.where(acts, new, old) for new, old in zip(track or (), c[4:]))

    zeros = cairn.zeros((B,), i32)
    init = (cairn.constant(0, i32), zeros, zeros, cairn.zeros((B, N, 2 * H)))
    init += (cairn.zeros((B, T)),) * 2 if T else ()
    _, sp, _, stack = cairn.while_loop(lambda c: c[0] < steps, body, init, max_trip=steps)[:4]
    root = cairn.gather(stack, cairn.maximum(sp - 1, 0), axis=1, batch_dims=1)[:, :H]
    return cairn.where(rows(sp >= 1, H), root, 0.0)


def spinn_logits(tokens, transitions, lengths, p, hidden, tracker=0):
    return nn.mlp(spinn_encode(tokens, transitions, lengths, p, hidden, tracker), p, "mlp")


def snli_logits(tokens, transitions, lengths, p, H, T=0):
    """SNLI: premises [0] and hypotheses [1] encoded as one batch of 2B rows."""
    merge = lambda x: x.reshape(-1, x.dim(2))
    both = spinn_encode(merge(tokens), merge(transitions), lengths.reshape(-1), p, H, T)
    pair = both.reshape(2, -1, H)
    prem, hyp = pair[0], pair[1]
    return nn.mlp(cairn.concat([prem, hyp, prem - hyp, prem * hyp], axis=1), p, "mlp")


def check_golden(data_dir):
    """The golden SNLI batches (tests/golden/spinn_pi_*): the C++ model and
    PyTorch's stored logits, with the same parameters."""
    worst = 0.0
    for name in ("spinn_pi_notracker", "spinn_pi_tracker"):
        case = cairn.models.golden_case(name, data_dir)
        params, inputs = case["params"], list(case["inputs"].values())
        H = params["reduce.right.weight"].shape[0]
        T = params["tracker.cell.wh"].shape[0] if "tracker.cell.wh" in params else 0
        f = lambda t, tr, ln, *ps: snli_logits(t, tr, ln, dict(zip(params, ps)), H, T)
        ours = cairn.jit(f)(*inputs, *params.values())
        cxx = case["module"][case["function"]](*inputs, *params.values())
        torch = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "tests", "golden", name, "expected_0.npy"))
        vs_cxx = np.abs(ours - cxx).max()
        vs_torch = np.abs(ours - torch).max() / np.abs(torch).max()
        print(f"{name}, SNLI batch {ours.shape}: max |python - C++| = {vs_cxx:.3g}, "
              f"relative to PyTorch = {vs_torch:.3g}")
        worst = max(worst, vs_cxx / 1e-6, vs_torch / 1e-5)
    return 0 if worst <= 1 else 1


def make_functions(names, hidden, tracker=0):
    data = [cairn.i32[None, None], cairn.i32[None, None], cairn.i32[None]]

    def logits(tokens, transitions, lengths, *params):
        return spinn_logits(tokens, transitions, lengths, dict(zip(names, params)), hidden, tracker)

    def loss(tokens, transitions, lengths, labels, *params):
        z = logits(tokens, transitions, lengths, *params)
        return nn.cross_entropy(z, labels), nn.accuracy(z, labels)

    return data, logits, loss


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--tracker", type=int, default=0, help="the tracker's size (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--golden", metavar="DATA_DIR", help="check the golden SNLI batches instead")
    args = ap.parse_args()
    if args.golden:
        return check_golden(args.golden)
    # The C++ model on a ListOps batch, with the same parameters.
    corpus = cairn.models.listops(256, seed=args.seed)
    cxx, params = cairn.models.spinn_tree_classifier(
        vocab=corpus.vocab_size, embed=args.hidden, hidden=args.hidden, tracker=args.tracker,
        mlp_hidden=args.hidden, classes=corpus.classes, seed=args.seed)
    data, logits_fn, _ = make_functions(list(params), args.hidden, args.tracker)
    specs = data + [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]
    batch = corpus.batch(list(range(args.batch)))[:3]
    ours = cairn.jit(logits_fn, specs=specs)(*batch, *params.values())
    diff = float(np.abs(ours - cxx(*batch, *params.values())).max())
    print(f"python SPINN vs C++ SPINN, ListOps batch of {args.batch}: max |diff| = {diff:.3g}")
    return 0 if diff <= 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
