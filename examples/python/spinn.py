"""Trains the Python SPINN (spinn_model.py) on built-in ListOps and prints
cairn-train's report (the loss/accuracy curve, train and held-out accuracy).

    PYTHONPATH=build/python python3 examples/python/spinn.py --steps 300

The loss is traced from Python; cairn.train_step adds its gradient (reverse
mode through the encoder's while loop) and Adam (frontend/training, as IR),
so a step is one compiled function; batches of any size and length run
through it (the specs' dims are dynamic). Batches are drawn at random each
epoch (cairn-train buckets them by length).
"""
import argparse
import time

import numpy as np

import cairn
from cairn import nn
import spinn_model


def duration(seconds):  # as cairn-train's formatDuration
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02}:{s % 60:02}" if s >= 3600 else f"{s // 60}:{s % 60:02}"


def percent(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--tracker", type=int, default=0, help="the tracker's size (0: none)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--examples", type=int, default=2048, help="generated ListOps examples")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    corpus = cairn.models.listops(args.examples, seed=args.seed)
    held_out = corpus.split_tail(len(corpus) // 8)
    _, params = cairn.models.spinn_tree_classifier(
        vocab=corpus.vocab_size, embed=args.hidden, hidden=args.hidden, tracker=args.tracker,
        mlp_hidden=args.hidden, classes=corpus.classes, seed=args.seed)
    H, T = args.hidden, args.tracker

    def loss(p, tokens, transitions, lengths, labels):
        z = spinn_model.spinn_logits(tokens, transitions, lengths, p, H, T)
        return nn.cross_entropy(z, labels), nn.accuracy(z, labels)

    print(f"data: generated ListOps, {len(corpus)} train / {len(held_out)} held-out examples, "
          f"vocabulary {corpus.vocab_size}")
    print(f"model: spinn tree classifier in Python, hidden {H}, tracker {T} "
          f"({sum(v.size for v in params.values())} parameters, {len(params)} tensors)")
    t0 = time.time()
    step = cairn.train_step(loss, params,
                            [cairn.i32[None, None], cairn.i32[None, None], cairn.i32[None],
                             cairn.i32[None]], optimizer="adam", lr=args.lr)
    evaluate = cairn.jit(loss)
    print(f"traced, differentiated and compiled in {time.time() - t0:.3f} s; adam, lr {args.lr}")

    rng = np.random.default_rng(args.seed)
    per_epoch = -(-len(corpus) // args.batch)
    order, curve, examples, eval_seconds = [], [], 0, 0.0
    run_loss, run_acc, since = 0.0, 0.0, 0
    held = held_out.batch(list(range(len(held_out))))
    start = time.time()
    for k in range(1, args.steps + 1):
        if not order:
            perm = rng.permutation(len(corpus)).tolist()
            order = [sorted(perm[i:i + args.batch]) for i in range(0, len(perm), args.batch)]
        batch = corpus.batch(order.pop())
        value, acc = step(*batch)
        examples += len(batch[3])
        run_loss, run_acc, since = run_loss + float(value), run_acc + float(acc), since + 1
        if k % args.eval_every == 0 or k == args.steps:
            t = time.time()
            h_loss, h_acc = evaluate(step.params, *held)
            eval_seconds += time.time() - t
            curve.append((k, time.time() - start, run_loss / since, run_acc / since,
                          float(h_loss), float(h_acc)))
            print(f"eval: step {k} | held-out accuracy {percent(float(h_acc))} | "
                  f"loss {float(h_loss):.4f} ({len(held_out)} examples)", flush=True)
            run_loss, run_acc, since = 0.0, 0.0, 0
    seconds = time.time() - start
    _, train_acc = evaluate(step.params, *corpus.batch(list(range(len(corpus)))))

    stepping = max(seconds - eval_seconds, 1e-9)
    print("\nreport:")
    print(f"  steps {args.steps} ({args.steps} this run, {args.steps / per_epoch:.2f} epochs of "
          f"{per_epoch} batches of <= {args.batch}), {examples} examples this run")
    print(f"  time {duration(seconds)} ({seconds:.1f} s: {stepping:.1f} s stepping, "
          f"{eval_seconds:.1f} s evaluating); {args.steps / stepping:.2f} steps/s, "
          f"{examples / stepping:.1f} examples/s")
    print("  curve:")
    print(f"    {'step':>7} {'time':>8} {'train-loss':>10} {'train-acc':>9} {'held-loss':>9} "
          f"{'held-acc':>9}")
    for k, t, tl, ta, hl, ha in curve:
        print(f"    {k:>7} {duration(t):>8} {tl:>10.4f} {percent(ta):>9} {hl:>9.4f} "
              f"{percent(ha):>9}")
    print(f"  train accuracy    {percent(float(train_acc))} ({len(corpus)} examples)")
    print(f"  held-out accuracy {percent(curve[-1][5])} ({len(held_out)} examples)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
