#!/usr/bin/env python3
"""torch.compile beside Cairn (issue 16): the PyTorch models of the peers
benchmark compiled with torch.compile (Dynamo + Inductor, the default
backend), measured where it works, its graph breaks or failure recorded where
it does not. Beside bench.py rather than in it: a compile can take minutes,
or not finish, and it needs its own deadline.

  torch_compile.py [--exe build/bin/cairn-peer-bench] [--data DIR]
                   [--workload NAME:MODE]... [--threads 1] [--budget 5]
                   [--compile-timeout 240] [--json FILE] [--markdown FILE]

Per workload and mode, in one process pinned to --threads CPUs (torch threads
N, Inductor's compile workers 1):

  columns  - Cairn: `cairn-peer-bench serve` (as in bench.py);
           - ref eager / ref compiled: the reference model of bench/reference
             (BiRNN: nn.LSTM / nn.GRU on packed sequences; SPINN: the
             define-by-run model with per-example Python stacks), eager and
             torch.compile(model);
           - cells eager / cells compiled (BiRNN only): the same BiRNN written
             as a loop of cell steps over time (this file's CellBiRnn: input
             projections of all steps at once, then per step h.Wh + the gate
             math, rows past their length keep their state: the formulation
             jax_models.py and Cairn use), eager and torch.compile'd: the form
             a tracing compiler can fuse.
           - cells, step compiled (BiRNN only): CellBiRnn with only its cell
             step under torch.compile, the loop over time in Python (one
             small graph, compiled once, called per step); the unrolled
             whole-model compile is tried only in --unroll-modes (default
             forward): Inductor takes minutes on it;
  explain  - torch._dynamo.explain on the same call first: graphs, graph
             breaks and their reasons (the first few, deduplicated);
  compile  - the first call's wall time (Dynamo trace + AOTAutograd +
             Inductor codegen and C++ compile + one run; train: forward and
             backward graphs), reported apart from the steady-state times;
             a compile that raises, or is still running after
             --compile-timeout seconds (SIGALRM), is recorded as failed;
  check    - forward: max|x - Cairn| / max|Cairn| of the logits; train: the
             first step's loss and gradient norm against Cairn's;
  timing   - warm-up, then interleaved rounds (order rotated per round) within
             --budget seconds, at least --min-reps; training steps are each
             the first step from the exported parameters and a fresh Adam
             state (reset outside the timing), as in bench.py.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "bench", "reference"))
sys.path.insert(0, here)

CLIP, LR = 5.0, 1e-3
DEFAULT = ["bilstm_b64:forward", "bilstm_b64:train", "bigru_b64:forward", "bigru_b64:train",
           "bilstm_b1:forward", "spinn_pi_b1:forward", "spinn_pi_b8:forward",
           "spinn_pi_b128:forward", "spinn_pi_b128:train"]


class CompileTimeout(Exception):
    pass


def describe(e):
    """An exception in one line: Inductor wraps ours (BackendCompilerFailed:
    ... CompileTimeout: ...), so the message's lines are joined."""
    return f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"


def with_deadline(seconds, fn):
    """fn() under SIGALRM: CompileTimeout past `seconds`."""
    def on_alarm(signum, frame):
        raise CompileTimeout(f"still compiling after {seconds:.0f} s")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(seconds)))
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def lstm_step(gx_t, h, c, wh, m):
    """One LSTM step of all rows: gates i, f, g, o; rows with m False keep
    their state and output zero."""
    import torch
    i, f, g, o = (gx_t + h @ wh).chunk(4, dim=1)
    c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h2 = torch.sigmoid(o) * torch.tanh(c2)
    return torch.where(m, h2, h), torch.where(m, c2, c), torch.where(m, h2, torch.zeros_like(h2))


def gru_step(gx_t, h, wh, bh, m):
    """One GRU step (PyTorch's formula, gates r, z, n)."""
    import torch
    xr, xz, xn = gx_t.chunk(3, dim=1)
    hr, hz, hn = (h @ wh + bh).chunk(3, dim=1)
    r = torch.sigmoid(xr + hr)
    z = torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    h2 = (1 - z) * n + z * h
    return torch.where(m, h2, h), torch.where(m, h2, torch.zeros_like(h2))


def cell_birnn(config, case_dir, compile_step=False):
    """The BiRNN classifier as a cell loop over time, from Cairn's parameters.
    compile_step: the step function under torch.compile, the loop over time
    left to Python (one small graph compiled once, called N times per
    direction), instead of the whole model compiled (the loop unrolled)."""
    import numpy as np
    import torch

    cfg = config["model"]
    names = {"embed": "embed", "rnn": "rnn", "out": "out", **(config.get("names") or {})}
    cell, L = cfg["cell"], cfg["layers"]
    step = lstm_step if cell == "lstm" else gru_step
    if compile_step:
        step = torch.compile(step)

    def load(name):
        return torch.nn.Parameter(torch.from_numpy(
            np.load(os.path.join(case_dir, "params", name + ".npy")).copy()))

    class CellBiRnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.ParameterDict()
            for name in config["params"]:
                self.p[name.replace(".", "__")] = load(name)

        def w(self, name):
            return self.p[name.replace(".", "__")]

        def direction(self, base, x, mask, reverse):
            B, N, _ = x.shape
            wh = self.w(base + ".wh")
            H = wh.shape[0]
            bias = self.w(base + (".b" if cell == "lstm" else ".bx"))
            gx = x @ self.w(base + ".wx") + bias  # every step's input half at once
            h = x.new_zeros(B, H)
            c = x.new_zeros(B, H)
            outs = [None] * N
            for t in (range(N - 1, -1, -1) if reverse else range(N)):
                m = mask[:, t:t + 1]
                if cell == "lstm":
                    h, c, outs[t] = step(gx[:, t], h, c, wh, m)
                else:
                    h, outs[t] = step(gx[:, t], h, wh, self.w(base + ".bh"), m)
            return torch.stack(outs, dim=1), h

        def forward(self, tokens, lengths):
            N = tokens.shape[1]
            x = self.w(names["embed"] + ".weight")[tokens]
            mask = torch.arange(N)[None, :] < lengths[:, None]
            hf = hb = None
            for k in range(L):
                base = f"{names['rnn']}.l{k}"
                yf, hf = self.direction(base + ".fwd", x, mask, False)
                yb, hb = self.direction(base + ".bwd", x, mask, True)
                x = torch.cat([yf, yb], dim=2)
            return torch.cat([hf, hb], dim=1) @ self.w(names["out"] + ".weight") + \
                self.w(names["out"] + ".bias")

    return CellBiRnn()


def make_runner(kind, model, inputs, mode, labels, as_tensors):
    """(run, reset, check values) for a model (eager or compiled) called as
    the reference is called (numpy inputs) or, as_tensors, with tensors."""
    import numpy as np
    import torch
    from run_reference import forward

    if as_tensors:
        args = (torch.as_tensor(inputs["tokens"], dtype=torch.long),
                torch.as_tensor(inputs["lengths"], dtype=torch.long))

        def logits_of(m):
            return m(*args)
    else:
        def logits_of(m):
            return forward(kind, m, inputs)["logits"]

    def call():  # the model call alone: what torch._dynamo.explain looks at
        return logits_of(model)

    if mode == "forward":
        def run():
            with torch.no_grad():
                return logits_of(model)
        return run, None, lambda: [run().detach().numpy()], call

    params = [p for n, p in model.named_parameters() if p.requires_grad]
    initial = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=LR)
    lab = torch.as_tensor(labels, dtype=torch.long)

    def run():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(logits_of(model), lab)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        return loss, norm

    @torch.no_grad()
    def reset():
        for p, p0 in zip(params, initial):
            p.copy_(p0)
        opt.state.clear()

    def values():
        loss, norm = run()
        reset()
        return [np.float32(loss.item()), np.float32(norm.item())]
    return run, reset, values, call


def explain(fn, timeout):
    """torch._dynamo.explain of one call: graphs, breaks, the reasons."""
    import torch._dynamo as dynamo
    dynamo.reset()
    try:
        ex = with_deadline(timeout, lambda: dynamo.explain(fn)())
    except Exception as e:  # noqa: BLE001 (recorded, not hidden)
        return {"error": describe(e)}
    reasons = []
    for b in ex.break_reasons:
        r = str(getattr(b, "reason", b)).splitlines()[0][:200]
        if r not in reasons:
            reasons.append(r)
    return {"graphs": ex.graph_count, "graph_breaks": ex.graph_break_count,
            "ops": ex.op_count, "reasons": reasons[:5], "distinct_reasons": len(reasons)}
    # (dynamo.reset() again before the real compile: explain's graphs are not reused)


def bench_workload(args, spec, tmp):
    import numpy as np
    import torch
    import torch._dynamo as dynamo
    from bench import CairnServer, stats, check_forward, check_train  # noqa: F401
    from common import ParamBag, load_config, load_inputs, max_rel_diff
    from run_reference import build

    workload, mode = spec.split(":")
    case = os.path.join(tmp, workload)
    rec = {"workload": workload, "mode": mode, "threads": args.threads, "columns": {}}
    srv = CairnServer(args.exe, workload, mode, args.threads,
                      None if os.path.isfile(os.path.join(case, "config.json")) else case,
                      args.data)
    try:
        config = load_config(case)
        kind = config["kind"]
        inputs = load_inputs(case, config)
        rec["kind"] = kind
        rec["shapes"] = {k: list(v.shape) for k, v in inputs.items()}
        srv.ask(f"save {os.path.join(tmp, workload + '-' + mode)}")
        cdir = os.path.join(tmp, workload + "-" + mode)
        B = inputs["tokens"].shape[-2] if kind == "spinn_snli" else inputs["tokens"].shape[0]
        labels = np.arange(B) % config["model"].get("classes", 3)
        if mode == "forward":
            want = np.load(os.path.join(cdir, "cairn_0.npy"))
        else:
            want = (float(np.load(os.path.join(cdir, "cairn_loss.npy"))),
                    float(np.load(os.path.join(cdir, "cairn_grad_norm.npy"))))

        def check(vals):
            if mode == "forward":
                return {"logits_rel": max_rel_diff(vals[0], want)}
            return {"loss_rel": abs(float(vals[0]) - want[0]) / max(abs(want[0]), 1e-6),
                    "grad_norm_rel": abs(float(vals[1]) - want[1]) / max(abs(want[1]), 1e-6)}

        def ref_model():
            P = ParamBag(case, config["params"])
            m = build(kind, P, config["model"], config.get("names"))
            P.check_all_taken()
            if mode == "train" and kind.startswith("birnn") and config["model"]["cell"] == "lstm":
                for name, p in m.named_parameters():  # Cairn's LSTM has one bias
                    if name.startswith("rnn.bias_hh"):
                        p.requires_grad_(False)
            return m.train() if mode == "train" else m.eval()

        variants = [("ref", ref_model, False)]
        if kind.startswith("birnn"):
            variants.append(("cells", lambda: cell_birnn(config, case), True))
        runners = {}
        if kind.startswith("birnn"):
            # The cell step compiled, the loop in Python: checked and timed
            # as a compiled column (its eager twin is cells_eager).
            dynamo.reset()
            stepped = cell_birnn(config, case, compile_step=True)
            s_run, s_reset, s_values, _ = make_runner(kind, stepped, inputs, mode, labels, True)
            col = {}
            t0 = time.perf_counter()
            try:
                vals = with_deadline(args.compile_timeout, s_values)
                col["compile_s"] = time.perf_counter() - t0
                col["check"] = check(vals)
                runners["step_compiled"] = (s_run, s_reset)
            except Exception as e:  # noqa: BLE001 (recorded)
                col["compile_s"] = time.perf_counter() - t0
                col["error"] = describe(e)
            rec["columns"]["step_compiled"] = col
            print(f"  {workload} {mode} step compiled: {col}", flush=True)
        for label, make, as_tensors in variants:
            eager = make()
            run, reset, values, _ = make_runner(kind, eager, inputs, mode, labels, as_tensors)
            runners[f"{label}_eager"] = (run, reset)
            rec["columns"][f"{label}_eager"] = {"check": check(values())}
            if label == "cells" and mode not in args.unroll_modes:
                rec["columns"]["cells_compiled"] = {
                    "error": f"not attempted in {mode} mode (--unroll-modes "
                             f"{','.join(args.unroll_modes) or 'empty'})"}
                continue
            # Dynamo's view of the same call (on a fresh copy: explain runs it).
            ex_model = make()
            _, _, _, ex_call = make_runner(kind, ex_model, inputs, mode, labels, as_tensors)
            if mode == "forward":
                col = {"explain": explain(lambda: torch.no_grad()(ex_call)(),
                                          args.compile_timeout)}
            else:
                col = {"explain": explain(ex_call, args.compile_timeout)}
            print(f"  {workload} {mode} {label}: explain {col['explain']}", flush=True)
            dynamo.reset()
            comp = torch.compile(make())
            c_run, c_reset, c_values, _ = make_runner(kind, comp, inputs, mode, labels,
                                                      as_tensors)
            t0 = time.perf_counter()
            try:
                vals = with_deadline(args.compile_timeout, c_values)
                col["compile_s"] = time.perf_counter() - t0
                col["check"] = check(vals)
                runners[f"{label}_compiled"] = (c_run, c_reset)
            except Exception as e:  # noqa: BLE001 (recorded)
                col["compile_s"] = time.perf_counter() - t0
                col["error"] = describe(e)
                print(f"  {workload} {mode} {label} compiled: FAILED after "
                      f"{col['compile_s']:.0f} s: {col['error']}", flush=True)
            rec["columns"][f"{label}_compiled"] = col

        def once(fw):
            if fw == "cairn":
                return srv.ask("run 1")["ms"][0]
            run, reset = runners[fw]
            if reset:
                reset()
            t0 = time.perf_counter()
            run()
            return 1e3 * (time.perf_counter() - t0)

        fws = ["cairn"] + list(runners)
        t0 = time.perf_counter()
        for _ in range(args.warmup):
            for fw in fws:
                once(fw)
        round_ms = 1e3 * (time.perf_counter() - t0) / max(args.warmup, 1)
        reps = int(min(args.max_reps, max(args.min_reps, 1e3 * args.budget / max(round_ms, 1e-3))))
        times = {fw: [] for fw in fws}
        for r in range(reps):
            for fw in fws[r % len(fws):] + fws[:r % len(fws)]:
                times[fw].append(once(fw))
        rec["time"] = {fw: stats(v) for fw, v in times.items()}
        c = rec["time"]["cairn"]["median"]
        rec["ratio"] = {fw: rec["time"][fw]["median"] / c for fw in fws if fw != "cairn"}
        rec["cairn_compile"] = srv.ready
    finally:
        srv.close()
    return rec


COLS = ["ref_eager", "ref_compiled", "cells_eager", "cells_compiled", "step_compiled"]
TITLES = {"ref_eager": "ref eager", "ref_compiled": "ref compiled",
          "cells_eager": "cells eager", "cells_compiled": "cells compiled (unrolled)",
          "step_compiled": "cells, step compiled"}


def markdown(out):
    lines = ["### torch.compile (Inductor) beside Cairn: time per run (ms, median [p25-p75]; "
             "ratio = torch / Cairn, > 1: Cairn faster)\n",
             "ref = the reference model of bench/reference (BiRNN: nn.LSTM / nn.GRU, packed; "
             "SPINN: define-by-run); cells = the BiRNN as a loop of cell steps "
             "(torch_compile.py's CellBiRnn): compiled whole (Dynamo unrolls the loop over "
             "time) or with only the cell step compiled (the loop in Python).\n"]
    head = ["workload", "mode", "threads", "Cairn"] + [TITLES[c] for c in COLS] + \
        [f"{TITLES[c]} / Cairn" for c in COLS] + ["reps"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + " --- |" * len(head))
    for r in out["results"]:
        t = r["time"]

        def cell(c):
            return f"{t[c]['median']:.2f} [{t[c]['p25']:.2f}-{t[c]['p75']:.2f}]" if c in t else "-"
        row = [r["workload"], r["mode"], str(r["threads"]), cell("cairn")]
        row += [cell(c) for c in COLS]
        row += [f"{r['ratio'][c]:.2f}" if c in r["ratio"] else "-" for c in COLS]
        row.append(str(t["cairn"]["n"]))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("\n### torch.compile: compile, graph breaks, checks\n")
    lines.append("Graphs, ops, breaks: torch._dynamo.explain of the model call (ops: captured "
                 "in its graphs; a function Dynamo skips, such as pack_padded_sequence, runs "
                 "eagerly outside them). First call: a cold Inductor cache (a fresh "
                 "TORCHINDUCTOR_CACHE_DIR) unless --warm-cache.\n")
    lines.append("| workload | mode | model | first call (compile + run) s | graphs | ops | "
                 "graph breaks | break reasons (first, deduplicated) | check vs Cairn | failure |")
    lines.append("|" + " --- |" * 10)
    for r in out["results"]:
        for label in ("ref", "cells", "step"):
            col = r["columns"].get(f"{label}_compiled")
            if col is None:
                continue
            ex = col.get("explain", {})
            chk = col.get("check") or {}
            chk_s = ", ".join(f"{k} {v:.0e}" for k, v in chk.items()) or "-"
            reasons = "; ".join(ex.get("reasons", [])) or ex.get("error", "-")
            if ex.get("distinct_reasons", 0) > len(ex.get("reasons", [])):
                reasons += f" (+{ex['distinct_reasons'] - len(ex['reasons'])} more)"
            lines.append(f"| {r['workload']} | {r['mode']} | {label} | "
                         f"{col.get('compile_s', 0):.1f} | {ex.get('graphs', '-')} | "
                         f"{ex.get('ops', '-')} | "
                         f"{ex.get('graph_breaks', '-')} | {reasons.replace('|', '/')} | {chk_s} | "
                         f"{col.get('error', '-').replace('|', '/')} |")
    for e in out["errors"]:
        lines.append(f"\n- {e['spec']}: FAILED: {e['error']}")
    lines.append(f"\nPyTorch {out['torch']}, {out['threads']} thread(s), Inductor compile "
                 f"threads 1, Inductor cache {out.get('inductor_cache')} (its one-time setup, "
                 f"{out.get('inductor_setup_s', 0):.1f} s on a trivial function first, not in "
                 f"the compile times); Cairn: "
                 f"{out.get('blas', '?')}.")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exe", default=os.path.join(
        os.environ.get("CAIRN_BUILD_DIR", os.path.join(root, "build")), "bin", "cairn-peer-bench"))
    ap.add_argument("--data", default=None)
    ap.add_argument("--workload", action="append", default=[], help="NAME:MODE")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--compile-timeout", type=float, default=240)
    ap.add_argument("--unroll-modes", default="forward",
                    help="modes in which the whole cell-loop BiRNN is compiled (Dynamo unrolls "
                         "its loop over time: minutes of Inductor per mode); comma-separated, "
                         "'' for none")
    ap.add_argument("--deadline", type=float, default=0,
                    help="seconds for the whole run: workloads not started by then are skipped "
                         "(and listed); 0: none")
    ap.add_argument("--warm-cache", action="store_true",
                    help="use Inductor's on-disk cache as it is (default: a fresh one, so the "
                         "first call is a cold compile)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    args.unroll_modes = [m for m in args.unroll_modes.split(",") if m]
    n = args.threads
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:n]))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    cache = None
    if not args.warm_cache:  # before torch is imported: Inductor reads it then
        cache = tempfile.TemporaryDirectory(prefix="cairn-inductor-")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache.name
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch
    import torch._inductor.config as inductor_config
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    inductor_config.compile_threads = 1  # no pool of compile workers on a shared machine
    # Inductor's one-time setup (its C++ toolchain probe, the first module
    # build) on a trivial function, so no workload's compile time carries it.
    t0 = time.perf_counter()
    torch.compile(lambda a: torch.sigmoid(a) * 2)(torch.ones(8))
    setup_s = time.perf_counter() - t0
    peak = json.loads(subprocess.run([args.exe, "peak", "--threads", str(n), "--reps", "1"],
                                     check=True, capture_output=True, text=True).stdout)
    out = {"torch": torch.__version__, "threads": n, "blas": peak.get("blas"),
           "inductor_cache": "warm (as found)" if args.warm_cache else "cold (fresh)",
           "inductor_setup_s": setup_s,
           "results": [], "errors": []}
    with tempfile.TemporaryDirectory(prefix="cairn-torch-compile-") as tmp:
        start = time.time()
        for spec in args.workload or DEFAULT:
            if args.deadline and time.time() - start > args.deadline:
                out["errors"].append({"spec": spec, "error": "skipped: past --deadline"})
                print(f"{spec}: skipped (past --deadline)", flush=True)
                continue
            t0 = time.perf_counter()
            try:
                rec = bench_workload(args, spec, tmp)
            except Exception as e:  # noqa: BLE001
                out["errors"].append({"spec": spec, "error": repr(e)[:400]})
                print(f"{spec}: FAILED: {e!r}", flush=True)
                continue
            out["results"].append(rec)
            cols = "  ".join(f"{fw} {v['median']:.2f} ms" for fw, v in rec["time"].items())
            print(f"{spec}: {cols}  [{time.perf_counter() - t0:.0f} s]", flush=True)
    md = markdown(out)
    print()
    print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
