#!/usr/bin/env python3
"""Checks the TensorFlow models (tf_models.py) against Cairn's outputs, as
check_jax.py checks the JAX twin: per workload of `cairn-peer-bench`

  - forward: the tf.function's logits (predicted SPINN: and the moves taken)
    against Cairn's (`cairn-peer-bench export --run`: outputs/cairn_<i>.npy),
    max|tf - cairn| / max|cairn|; moves must be identical;
  - gradients (--grads, default on for the small cases): d mean cross-entropy
    (labels b % classes) / d every parameter from tf.GradientTape through the
    tf.while_loop (SPINN, TreeLSTM) or the Keras layers (BiRNN), mapped back to
    Cairn's names and layout, against the PyTorch reference's gradients
    (bench/reference, an independent formulation) on the same case;
  - training step (workloads with a train mode): the first step's loss and
    gradient norm (before clipping) against Cairn's training step from the
    same parameters (`serve --mode train`, `save`), and the Adam update of
    the TF step against torch.optim.Adam given TF's clipped gradients.

With --exported DIR (cases written by `cairn-export-reference --out DIR`, see
check_jax.py) the golden cases of tests/golden/ are checked instead: forward
against expected_<i>.npy and the gradients against grad_<param>.npy (an
embedding's stored as its nonzero rows). That covers the SNLI SPINN without a
tracker (spinn_pi_notracker) and the predicted SPINN's moves; the taggers
(bilstm_tag, bigru_tag) are not in tf_models.py and are reported as skipped.

Also prints the first call (trace + graph optimization + run) and the
steady-state time of each tf.function: informative only, not the benchmark.

  check_tf.py [--exe build/bin/cairn-peer-bench] [--data DIR] [--workload NAME]...
              [--tol 1e-4] [--threads 1] [--json FILE]

Exit status 1 on any mismatch.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "bench", "reference"))
sys.path.insert(0, here)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

CLIP, LR = 5.0, 1e-3
# (workload, train?): every model variant the benchmark times, small shapes
# where the workload set has them.
DEFAULT = [("bilstm_tiny", True), ("bilstm_b1", False), ("bigru_b1", False),
           ("spinn_pi_b1", False), ("spinn_pi_b8", False), ("spinn_pred_b128", False),
           ("spinn_pi_b128", True), ("treelstm_b128", True), ("bigru_b64", True)]
GRAD_CHECK = {"bilstm_tiny", "bilstm_b1", "bigru_b1", "spinn_pi_b8", "treelstm_b128"}


def cairn(exe, data, *args, stdin=None):
    cmd = [exe] + (["--data", data] if data else []) + list(args)
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout


def torch_grads(case_dir, config, labels):
    """The PyTorch reference's gradients in Cairn's layout (dense)."""
    import torch
    from common import ParamBag, load_inputs
    from run_reference import build, forward
    kind = config["kind"]
    P = ParamBag(case_dir, config["params"])
    model = build(kind, P, config["model"], config.get("names"))
    P.check_all_taken()
    logits = forward(kind, model, load_inputs(case_dir, config))["logits"]
    loss = torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels, dtype=torch.long))
    loss.backward()
    return float(loss), {k: g.numpy() for k, (g, _) in P.cairn_grads().items()}


def check(args, workload, train, tmp):
    import tensorflow as tf
    import tf_models as tm
    from common import load_config, load_inputs, max_rel_diff
    row = {"workload": workload}
    problems = []
    case = os.path.join(tmp, workload)
    cairn(args.exe, args.data, "export", "--workload", workload, "--out", case, "--run")
    config = load_config(case)
    kind, cfg = config["kind"], config["model"]
    inputs = load_inputs(case, config)
    model = tm.TfModel(kind, cfg, config.get("names"), case, config["params"], LR, CLIP,
                       jit_compile=args.xla)
    x = tm.inputs_to_tf(kind, cfg, inputs)
    row["shape"] = list(inputs["tokens"].shape)

    t0 = time.perf_counter()
    out = model.forward(x)
    row["fwd_first_s"] = time.perf_counter() - t0
    row["fwd_ms"] = 1e3 * min(timed(lambda: model.forward(x)) for _ in range(3))
    worst = 0.0
    for i, name in enumerate(config["outputs"]):
        c = np.load(os.path.join(case, "outputs", f"cairn_{i}.npy"))
        got = out[name].numpy()
        if c.dtype.kind in "iu":
            bad = int(np.sum(got != c)) if got.shape == c.shape else int(c.size)
            row["moves_differ"] = bad
            if bad:
                problems.append(f"{name}: {bad} of {c.size} moves differ")
        else:
            rel = max_rel_diff(got, c)
            worst = max(worst, rel)
            if not rel <= args.tol:
                problems.append(f"{name}: max rel diff {rel:.3e}")
    row["fwd_rel"] = worst

    B = inputs["tokens"].shape[-2] if kind == "spinn_snli" else inputs["tokens"].shape[0]
    labels = (np.arange(B) % cfg.get("classes", 3)).astype(np.int32)
    predicted = cfg.get("mode", "pi") == "predicted"
    if args.grads and workload in GRAD_CHECK and not predicted:
        loss, grads = model.grads(x, tf.constant(labels))
        t_loss, t_grads = torch_grads(case, config, labels)
        row["grad_loss_rel"] = abs(float(loss) - t_loss) / max(abs(t_loss), 1e-6)
        gworst, gname = 0.0, ""
        for k, g in t_grads.items():
            rel = max_rel_diff(np.asarray(grads[k]), g)
            if rel > gworst or not gname:
                gworst, gname = rel, k
        row["grad_rel"], row["grad_worst"] = gworst, gname
        if not gworst <= args.tol:
            problems.append(f"gradient {gname} vs torch: max rel diff {gworst:.3e}")
        if not row["grad_loss_rel"] <= args.tol:
            problems.append(f"loss {float(loss)} vs torch {t_loss}")

    if train:
        save = os.path.join(tmp, workload + "-train")
        cairn(args.exe, args.data, "serve", "--workload", workload, "--mode", "train",
              "--threads", str(args.threads), stdin=f"save {save}\nquit\n")
        c_loss = float(np.load(os.path.join(save, "cairn_loss.npy")))
        c_norm = float(np.load(os.path.join(save, "cairn_grad_norm.npy")))
        lab = tf.constant(labels)
        t0 = time.perf_counter()
        loss, norm = model.train_step(x, lab)
        row["train_first_s"] = time.perf_counter() - t0
        model.reset()
        # The Adam update on the same clipped gradients as torch.optim.Adam
        # gets: entries whose gradient is near eps (1e-8) after clipping are
        # rounding noise of the gradient, which Adam amplifies to ~lr, so the
        # update is checked on given gradients, not on two computations of them.
        before = [v.numpy() for v in model.variables]
        _, clipped = model.grads(x, lab, clip=True, by_variable=True)
        model.apply_adam(clipped)
        delta = [v.numpy() - b for v, b in zip(model.variables, before)]
        model.reset()
        row["loss"], row["cairn_loss"] = float(loss), c_loss
        row["loss_rel"] = abs(float(loss) - c_loss) / max(abs(c_loss), 1e-6)
        row["norm_rel"] = abs(float(norm) - c_norm) / max(abs(c_norm), 1e-6)
        for what in ("loss_rel", "norm_rel"):
            if not row[what] <= args.tol:
                problems.append(f"train {what} {row[what]:.3e} (tf loss {float(loss)} norm "
                                f"{float(norm)}; cairn {c_loss} {c_norm})")
        want = torch_adam_delta(before, clipped)
        row["adam_rel"] = max(max_rel_diff(d, w) for d, w in zip(delta, want))
        if not row["adam_rel"] <= args.tol:
            problems.append(f"Adam update vs torch: max rel diff {row['adam_rel']:.3e}")

        def one_step():
            model.reset()
            model.train_step(x, lab)[0].numpy()
        row["train_ms"] = 1e3 * min(timed(one_step) for _ in range(2))
        model.reset()
    row["note"] = "; ".join(problems)
    return row, not problems


def check_golden(args, case_dir, golden_dir):
    import tensorflow as tf
    import tf_models as tm
    from common import load_config, load_inputs, max_rel_diff
    config = load_config(case_dir)
    kind, cfg = config["kind"], config["model"]
    row = {"workload": config["case"]}
    if kind == "birnn_tag":
        row["note"] = "skipped: the tagger is not in tf_models.py"
        return row, True
    problems = []
    model = tm.TfModel(kind, cfg, config.get("names"), case_dir, config["params"], LR, CLIP,
                       jit_compile=args.xla)
    x = tm.inputs_to_tf(kind, cfg, load_inputs(case_dir, config))
    out = model.forward(x)
    worst = 0.0
    for i, name in enumerate(config["outputs"]):
        exp = np.load(os.path.join(golden_dir, f"expected_{i}.npy"))
        got = out[name].numpy()
        if exp.dtype.kind in "iu":
            bad = int(np.sum(got != exp)) if got.shape == exp.shape else int(exp.size)
            row["moves_differ"] = bad
            if bad:
                problems.append(f"{name}: {bad} of {exp.size} moves differ")
        else:
            worst = max(worst, max_rel_diff(got, exp))
    row["fwd_rel"] = worst
    if not worst <= args.tol:
        problems.append(f"forward: max rel diff {worst:.3e}")
    predicted = cfg.get("mode", "pi") == "predicted"
    grad_files = [f for f in os.listdir(golden_dir)
                  if f.startswith("grad_") and not f.endswith(".rows.npy")]
    if grad_files and not predicted:
        B = x["tokens"].shape[-2] if kind == "spinn_snli" else x["tokens"].shape[0]
        labels = tf.constant((np.arange(B) % cfg.get("classes", 3)).astype(np.int32))
        _, grads = model.grads(x, labels)
        gworst, gname = 0.0, ""
        for k in config["params"]:
            path = os.path.join(golden_dir, f"grad_{k}.npy")
            if not os.path.exists(path):
                problems.append(f"no golden gradient for {k}")
                continue
            exp = np.load(path)
            rows_path = os.path.join(golden_dir, f"grad_{k}.rows.npy")
            if os.path.exists(rows_path):  # an embedding: its nonzero rows only
                dense = np.zeros(model.initial[k].shape, np.float32)
                dense[np.load(rows_path)] = exp
                exp = dense
            rel = max_rel_diff(np.asarray(grads[k]), exp)
            if rel > gworst or not gname:
                gworst, gname = rel, k
        row["grad_rel"], row["grad_worst"] = gworst, gname
        row["grad_vs"] = "golden"
        if not gworst <= args.tol:
            problems.append(f"gradient {gname}: max rel diff {gworst:.3e}")
    row["note"] = "; ".join(problems)
    return row, not problems


def timed(fn):
    t0 = time.perf_counter()
    r = fn()
    if isinstance(r, dict):
        [v.numpy() for v in r.values()]
    return time.perf_counter() - t0


def torch_adam_delta(values, grads):
    import torch
    ts = [torch.nn.Parameter(torch.from_numpy(np.array(v))) for v in values]
    opt = torch.optim.Adam(ts, lr=LR)
    for t, g in zip(ts, grads):
        t.grad = torch.from_numpy(np.array(g))
    opt.step()
    return [t.detach().numpy() - v for t, v in zip(ts, values)]


def fmt(v, spec, unit=""):
    width = int(spec.split(".")[0]) + len(unit)
    return "-".rjust(width) if v is None else format(v, spec) + unit


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", default=os.path.join(
        os.environ.get("CAIRN_BUILD_DIR", os.path.join(root, "build")), "bin", "cairn-peer-bench"))
    ap.add_argument("--data", default=os.environ.get("CAIRN_DATA_DIR") or
                    os.path.join(root, "..", "shared", "data"))
    ap.add_argument("--workload", action="append", default=[],
                    help="NAME or NAME:train (default: the list in DEFAULT)")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-grads", dest="grads", action="store_false")
    ap.add_argument("--xla", action="store_true",
                    help="the forward and training-step tf.functions with jit_compile=True")
    ap.add_argument("--exported", help="golden cases written by cairn-export-reference --out "
                    "DIR: check those against tests/golden instead of the workloads")
    ap.add_argument("--golden", default=os.path.join(root, "tests", "golden"))
    ap.add_argument("--case", action="append", default=[], help="--exported: a case (default: all)")
    ap.add_argument("--json")
    args = ap.parse_args()
    try:
        import tensorflow as tf
    except ImportError as e:
        sys.exit(f"check_tf: TensorFlow is not installed ({e}): "
                 "CAIRN_PEERS_TF=1 bench/peers/setup_venv.sh")
    import tf_models as tm
    tm.set_threads(args.threads)
    if not os.path.isdir(args.data):
        args.data = None
    specs = [(w.split(":")[0], w.endswith(":train")) for w in args.workload] or DEFAULT
    rows, ok = [], True
    if args.exported:
        cases = args.case or sorted(d for d in os.listdir(args.exported)
                                    if os.path.isfile(os.path.join(args.exported, d, "config.json")))
        for c in cases:
            try:
                row, good = check_golden(args, os.path.join(args.exported, c),
                                         os.path.join(args.golden, c))
            except Exception as e:  # noqa: BLE001
                row, good = {"workload": c, "note": f"FAILED: {e!r}"}, False
            rows.append(row)
            ok = ok and good
        specs = []
    with tempfile.TemporaryDirectory(prefix="cairn-check-tf-") as tmp:
        for w, train in specs:
            try:
                row, good = check(args, w, train, tmp)
            except Exception as e:  # one broken case must not hide the others
                row, good = {"workload": w, "note": f"FAILED: {e!r}"}, False
            rows.append(row)
            ok = ok and good
            print(f"  {w}: done", flush=True)
    import keras
    print(f"TensorFlow {tf.__version__} (Keras {keras.__version__})"
          f"{', XLA (jit_compile)' if args.xla else ''}, {args.threads} thread(s) vs "
          f"Cairn, tol {args.tol:g} (max|a-b|/max|b|); first = first call of the tf.function "
          f"(trace + graph optimization + run), ms = fastest of the later calls")
    head = (f"{'workload':24} {'fwd rel':>9} {'grad rel':>9} {'loss rel':>9} {'norm rel':>9} "
            f"{'adam rel':>9} {'fwd first':>9} {'fwd ms':>8} {'train 1st':>9} {'train ms':>8}  note")
    print(head)
    print("-" * len(head))
    for r in rows:
        note = r.get("note", "")
        if r.get("grad_worst"):
            note = (note + "; " if note else "") + f"worst grad {r['grad_worst']} (vs {r.get('grad_vs', 'torch')})"
        if "moves_differ" in r:
            note = (note + "; " if note else "") + f"moves: {r['moves_differ']} differ"
        print(f"{r['workload']:24} {fmt(r.get('fwd_rel'), '9.2e')} "
              f"{fmt(r.get('grad_rel'), '9.2e')} {fmt(r.get('loss_rel'), '9.2e')} "
              f"{fmt(r.get('norm_rel'), '9.2e')} {fmt(r.get('adam_rel'), '9.2e')} "
              f"{fmt(r.get('fwd_first_s'), '8.2f', 's')} {fmt(r.get('fwd_ms'), '8.2f')} "
              f"{fmt(r.get('train_first_s'), '8.2f', 's')} {fmt(r.get('train_ms'), '8.1f')}  "
              f"{note}")
    print("check_tf: " + ("all workloads match" if ok else "MISMATCH"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tensorflow": tf.__version__, "tol": args.tol, "ok": ok, "rows": rows},
                      f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
