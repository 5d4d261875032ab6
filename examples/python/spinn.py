"""Trains the Python SPINN (spinn_model.py) on built-in ListOps and prints
cairn-train's report: the eval lines, steps and time, the curve, train and
held-out accuracy with the held-out accuracy by root operator, and the
accuracy on longer, deeper lists than any in training.

    PYTHONPATH=build/python python3 examples/python/spinn.py --steps 300

The data is cairn-train's: generated ListOps (its defaults: depth <= 3,
<= 3 arguments, 4-20 tokens), a held-out set from the same generator with
another seed (examples also in training dropped), a longer/deeper set (two
more levels, 21-40 tokens); batches are bucketed by length with
cairn-train's seeds (frontend/data, bound in cairn.models). The loss is
traced from Python; cairn.train_step adds its gradient (reverse mode
through the encoder's while loop), clipping and Adam with a cosine schedule
(frontend/training, as IR), so a step is one compiled function for every
batch shape. The model is Python's, not cairn-train's C++ SPINN.
"""
import argparse
import collections
import time

import numpy as np

import cairn
from cairn import nn
import spinn_model

fmt_time = cairn.models.format_duration


def percent(v):
    return "-" if v is None else f"{100 * v:.1f}%"


def evaluate(logits_fn, params, corpus, limit, batch):
    """(accuracy, mean cross-entropy, examples, {root: [right, all]}) on the
    first `limit` examples, in length buckets, as cairn-train's evaluate."""
    n = min(limit, len(corpus))
    roots = corpus.first_tokens()
    right, loss, by_root = 0, 0.0, collections.defaultdict(lambda: [0, 0])
    for idx in cairn.models.bucket_by_length(corpus.lengths()[:n], batch, 0):
        tokens, transitions, lengths, labels = corpus.batch(idx)
        z = logits_fn(tokens, transitions, lengths, *params.values()).astype(np.float64)
        m = z.max(1)
        loss += float((m + np.log(np.exp(z - m[:, None]).sum(1)) - z[np.arange(len(z)), labels]).sum())
        for i, ok in zip(idx, z.argmax(1) == labels):
            right += int(ok)
            counts = by_root[roots[i] if len(roots[i]) > 1 else "digit"]
            counts[0], counts[1] = counts[0] + int(ok), counts[1] + 1
    return right / max(n, 1), loss / max(n, 1), n, by_root


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--tracker", type=int, default=0, help="the tracker's size (0: none)")
    ap.add_argument("--lr", type=float, default=1e-2, help="cosine from this to --min-lr")
    ap.add_argument("--min-lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-examples", type=int, default=500)
    ap.add_argument("--examples", type=int, default=20000, help="generated ListOps examples")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--args", type=int, default=3)
    ap.add_argument("--length", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    train = cairn.models.listops(a.examples, a.seed, a.depth, a.args, a.length, min_length=4)
    held = cairn.models.listops_like(train, 2 * a.eval_examples, a.seed + 1000, a.depth, a.args,
                                     4, a.length, exclude=train)
    held.truncate(a.eval_examples)
    deep = dict(max_depth=a.depth + 2, max_args=a.args, min_length=a.length + 1,
                max_length=2 * a.length)
    try:
        longer = cairn.models.listops_like(train, a.eval_examples, a.seed + 2000, **deep)
    except cairn.CairnError:  # too rare at this nesting rate: nest whenever allowed
        longer = cairn.models.listops_like(train, a.eval_examples, a.seed + 2000, **deep,
                                           nest_probability=1.0)
    print(f"cairn-train (Python SPINN): generated ListOps (seed {a.seed}, depth <= {a.depth}, "
          f"<= {a.args} arguments, 4-{a.length} tokens): {len(train)} training, {len(held)} "
          f"held-out, {len(longer)} longer/deeper examples, vocab {train.vocab_size}")
    _, params = cairn.models.spinn_tree_classifier(
        vocab=train.vocab_size, embed=a.hidden, hidden=a.hidden, tracker=a.tracker,
        mlp_hidden=a.hidden, classes=train.classes, seed=a.seed)
    H, T, names = a.hidden, a.tracker, list(params)
    print(f"model: spinn (Python) listops classes=10 vocab={train.vocab_size} embed={H} "
          f"hidden={H} tracker={T} mlp=1x{H} transitions=given optimizer=adam "
          f"({sum(v.size for v in params.values())} parameters, {len(params)} tensors)")

    def loss(p, tokens, transitions, lengths, labels):
        z = spinn_model.spinn_logits(tokens, transitions, lengths, p, H, T)
        return nn.cross_entropy(z, labels), nn.accuracy(z, labels)

    t0 = time.time()
    data = [cairn.i32[None, None], cairn.i32[None, None], cairn.i32[None]]
    step = cairn.train_step(loss, params, data + [cairn.i32[None]], optimizer="adam", lr=a.lr,
                            clip_norm=a.clip, schedule="cosine", total_steps=a.steps,
                            min_lr=a.min_lr, reassociate=True)  # as cairn-train compiles
    logits = cairn.jit(lambda *x: spinn_model.spinn_logits(*x[:3], dict(zip(names, x[3:])), H, T),
                       specs=data + [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()])
    logits(*train.batch([0])[:3], *params.values())  # compile now, not in the first eval
    print(f"compile: {time.time() - t0:.3f} s (traced, differentiated, compiled; adam, clip "
          f"{a.clip}, cosine(lr={a.lr:g}, total={a.steps}, min={a.min_lr:g}))", flush=True)

    per_epoch = -(-len(train) // a.batch)
    lengths = train.lengths()
    curve, examples, eval_seconds, run_loss, run_acc, since = [], 0, 0.0, 0.0, 0.0, 0
    start = time.time()
    for k in range(a.steps):
        if k % per_epoch == 0:
            batches = cairn.models.bucket_by_length(lengths, a.batch,
                                                    a.seed * 1000003 + k // per_epoch)
        batch = train.batch(batches[k % per_epoch])
        value, acc = step(*batch)
        examples += len(batch[3])
        run_loss, run_acc, since = run_loss + float(value), run_acc + float(acc), since + 1
        if (k + 1) % a.eval_every == 0 or k + 1 == a.steps:
            t = time.time()
            h_acc, h_loss, n, by_root = evaluate(logits, step.params, held, a.eval_examples, 128)
            eval_seconds += time.time() - t
            curve.append((k + 1, t - start, run_loss / since, run_acc / since, h_loss, h_acc,
                          by_root))
            print(f"eval: step {k + 1} | {fmt_time(t - start)} | held-out accuracy "
                  f"{percent(h_acc)} | loss {h_loss:.4f} ({n} examples)", flush=True)
            run_loss, run_acc, since = 0.0, 0.0, 0
    seconds = time.time() - start
    train_acc, _, n_train, _ = evaluate(logits, step.params, train, a.eval_examples, 128)
    deep_acc, _, n_deep, _ = evaluate(logits, step.params, longer, a.eval_examples, 128)

    stepping = max(seconds - eval_seconds, 1e-9)
    print("\nreport:")
    print(f"  steps {a.steps} ({a.steps} this run, {a.steps / per_epoch:.2f} epochs of "
          f"{per_epoch} batches of <= {a.batch}), {examples} examples this run")
    print(f"  time {fmt_time(seconds)} ({seconds:.1f} s: {stepping:.1f} s stepping, "
          f"{eval_seconds:.1f} s evaluating); {a.steps / stepping:.2f} steps/s, "
          f"{examples / stepping:.1f} examples/s")
    print("  curve:")
    print(f"    {'step':>7} {'time':>8} {'train-loss':>10} {'train-acc':>9} {'held-loss':>9} "
          f"{'held-acc':>9}")
    for k, t, tl, ta, hl, ha, _ in curve:
        print(f"    {k:>7} {fmt_time(t):>8} {tl:>10.4f} {percent(ta):>9} {hl:>9.4f} "
              f"{percent(ha):>9}")
    print(f"  train accuracy    {percent(train_acc)} ({n_train} examples)")
    by_root = sorted(curve[-1][6].items())
    print(f"  held-out accuracy {percent(curve[-1][5])} ({len(held)} examples)" + "".join(
        f"{': by root' if i == 0 else ','} {op} {percent(r / n)}"
        for i, (op, (r, n)) in enumerate(by_root)))
    print(f"  longer/deeper     {percent(deep_acc)} ({n_deep} examples: depth <= "
          f"{deep['max_depth']}, {deep['min_length']}-{deep['max_length']} tokens)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
