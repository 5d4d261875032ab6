#!/usr/bin/env python3
"""Runs the PyTorch reference on golden-case directories written by
cairn-export-reference, writing <case>/outputs/torch_<i>.npy.

  run_reference.py CASE_DIR [CASE_DIR ...] [--compare] [--time] [--threads N]

--compare prints, per output, the relative difference against Cairn's
outputs/cairn_<i>.npy: max|cairn - torch| / max(max|torch|, 1e-6) for float
outputs, and the count of differing entries for integer ones; the exit
status is 1 when a float output is off by more than 1e-5 or an integer one
differs. --time prints each case's forward time (the model call only, the
fastest of --repeat calls, after one untimed warm-up call on the first case).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from birnn import BiRnn  # noqa: E402
from common import ParamBag, load_config, load_inputs, max_rel_diff, save_outputs  # noqa: E402
from spinn import SpinnSnli  # noqa: E402
from treelstm import TreeLstmSentiment  # noqa: E402


def build(kind, P, cfg, names):
    if kind == "spinn_snli":
        return SpinnSnli(P, cfg, names)
    if kind == "treelstm_sst":
        return TreeLstmSentiment(P, cfg, names)
    if kind in ("birnn_classify", "birnn_tag"):
        return BiRnn(P, {**cfg, "tag": kind == "birnn_tag"}, names)
    raise ValueError(f"unknown kind {kind!r}")


@torch.no_grad()
def run_case(case_dir, timing=None, warmup=False, repeat=1):
    config = load_config(case_dir)
    kind, cfg = config["kind"], config["model"]
    inputs = load_inputs(case_dir, config)
    P = ParamBag(case_dir, config["params"])
    model = build(kind, P, cfg, config.get("names"))
    P.check_all_taken()
    model.eval()

    if warmup:
        forward(kind, model, inputs)
    best = float("inf")
    for _ in range(repeat if timing is not None else 1):
        t0 = time.perf_counter()
        results = forward(kind, model, inputs)
        best = min(best, time.perf_counter() - t0)
    if timing is not None:
        timing.append(best)
        shape = inputs["tokens"].shape
        print(f"  pytorch reference: {config['case']}: tokens {list(shape)}: "
              f"{1e3 * timing[-1]:.1f} ms")
    if "transitions" in results:
        print(f"  {config['case']}: smallest |reduce - shift| logit gap of a predicted "
              f"choice: {model.encoder.min_margin:.3e}")

    outs = []
    for name in config["outputs"]:
        if name not in results:
            raise KeyError(f"{case_dir}: the reference has no output {name!r}")
        v = results[name]
        v = v.numpy() if isinstance(v, torch.Tensor) else v
        outs.append(v.astype(np.int32) if v.dtype.kind in "iu" else v.astype(np.float32))
    save_outputs(case_dir, outs)
    return config, outs


def forward(kind, model, inputs):
    results = {}
    if kind == "spinn_snli":
        logits, chosen = model(inputs["tokens"], inputs.get("transitions"), inputs["lengths"])
        results["logits"] = logits
        if chosen is not None:
            results["transitions"] = chosen
    elif kind == "treelstm_sst":
        results["logits"] = model(inputs["tokens"], inputs["transitions"], inputs["lengths"])
    else:
        results["logits"] = model(inputs["tokens"], inputs["lengths"])
    return results


def run_grads(case_dir):
    """For classifier cases: the gradient of the mean cross-entropy of the
    logits against labels b % classes w.r.t. every parameter, in Cairn's
    layout, written to <case>/outputs/grad_<param>.npy (the C++ side,
    GoldenGradientTest, builds the same loss). Returns how many were written."""
    config = load_config(case_dir)
    kind, cfg = config["kind"], config["model"]
    if kind == "birnn_tag":
        return 0
    inputs = load_inputs(case_dir, config)
    P = ParamBag(case_dir, config["params"])
    model = build(kind, P, cfg, config.get("names"))
    P.check_all_taken()
    model.eval()
    logits = forward(kind, model, inputs)["logits"]
    labels = torch.arange(logits.shape[0]) % logits.shape[1]
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    out_dir = os.path.join(case_dir, "outputs")
    os.makedirs(out_dir, exist_ok=True)
    grads = P.cairn_grads()
    for name, (g, sparse) in grads.items():
        g = g.numpy().astype(np.float32)
        if sparse:
            # An embedding's gradient is zero outside the batch's tokens: store
            # those rows and their indices (grad_<name>.rows.npy).
            rows = np.nonzero(np.any(g != 0, axis=1))[0].astype(np.int64)
            np.save(os.path.join(out_dir, f"grad_{name}.rows.npy"), rows)
            g = g[rows]
        np.save(os.path.join(out_dir, f"grad_{name}.npy"), np.ascontiguousarray(g))
    print(f"  {config['case']}: loss {loss.item():.6f}, {len(grads)} parameter gradients")
    return len(grads)


def compare(case_dir, config, outs):
    worst = 0.0
    ok = True
    for i, (name, ref) in enumerate(zip(config["outputs"], outs)):
        path = os.path.join(case_dir, "outputs", f"cairn_{i}.npy")
        if not os.path.exists(path):
            print(f"  {config['case']}: output {i} ({name}): no Cairn output to compare")
            continue
        got = np.load(path)
        if got.shape != ref.shape:
            print(f"  {config['case']}: output {i} ({name}): shape {got.shape} vs torch {ref.shape}")
            ok = False
        elif ref.dtype.kind in "iu":
            bad = int(np.sum(got != ref))
            print(f"  {config['case']}: output {i} ({name}): {bad} of {ref.size} entries differ")
            ok = ok and bad == 0
        else:
            rel = max_rel_diff(got, ref)
            worst = max(worst, rel)
            print(f"  {config['case']}: output {i} ({name}): max rel diff {rel:.3e}")
            ok = ok and rel <= 1e-5
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="+")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--grads", action="store_true",
                    help="also write the loss gradients of classifier cases (grad_<param>.npy)")
    ap.add_argument("--time", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="--time: runs per case (fastest counts)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    timing = [] if args.time else None
    ok = True
    for k, case_dir in enumerate(args.cases):
        config, outs = run_case(case_dir, timing, warmup=args.time and k == 0,
                                repeat=args.repeat)
        if args.compare:
            ok = compare(case_dir, config, outs) and ok
        if args.grads:
            run_grads(case_dir)
    if timing:
        print(f"pytorch reference: mean forward {1e3 * sum(timing) / len(timing):.1f} ms per "
              f"batch over {len(timing)} batches (fastest of {args.repeat} runs each; "
              f"torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
