#!/usr/bin/env python3
"""The peers benchmark's driver: Cairn's compiled executor, PyTorch eager and
JAX (jax.jit) on the same workloads, shapes, data and parameters, interleaved
one repetition at a time. Run it in bench/.venv-peers (bench/peers/run.sh
builds, sets up the venv and runs it).

  bench.py [--threads 1,2] [--workload NAME[:MODE]]... [--budget 15]
           [--min-reps 7] [--max-reps 60] [--warmup 2]
           [--json FILE] [--markdown FILE] [--exe build/bin/cairn-peer-bench]

Per thread count N, one child process (this script with --child) is pinned to
N CPUs (os.sched_setaffinity, before torch or jax is imported) and sets each
framework's threads at start:
  - PyTorch: torch.set_num_threads(N), set_num_interop_threads(1);
  - JAX 0.10.2: XLA's CPU client sizes its intra-op pool from the process's
    CPU affinity; XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
    intra_op_parallelism_threads=1" alone does NOT stop it using several
    threads (measured: 4 busy threads on this 2-core machine), so the pinning
    is what makes N = 1 one thread; the flags are set too for N = 1;
  - Cairn: `cairn-peer-bench serve --threads N` (openblas_set_num_threads)
    and OPENBLAS_NUM_THREADS=N; its compiled kernels are single-threaded.
OMP_NUM_THREADS and MKL_NUM_THREADS are N as well, and OMP_WAIT_POLICY is
PASSIVE (unless --omp-active): torch's OpenMP threads otherwise spin at each
barrier, and on a shared machine, where the other core is often busy, a
2-thread SPINN batch-1 forward took ~1 s instead of ~11 ms (the spinning
thread waits for a time slice at every small op).

Per workload and mode, in the child:
 1. Cairn: `cairn-peer-bench serve` builds and compiles the model (first
    exporting the case directory: config.json, params/, inputs/, read with
    bench/reference/common.py); its ready line carries the compile times.
 2. PyTorch: the define-by-run reference model of bench/reference (forward
    under no_grad; training: cross_entropy, backward, clip_grad_norm_(5),
    torch.optim.Adam(lr 1e-3)). JAX: jax_models.py, jitted; compile time is
    jitted.lower(args) (trace) + .compile() wall time.
 3. Check: forward outputs of all three on the case's inputs (max|a - b| /
    max|b| against Cairn's; predicted transitions must be identical);
    training: the first step's loss and gradient norm from the same start.
 4. Warm-up rounds, then timed rounds: each round runs every framework once,
    in an order rotated per round (Cairn, torch, JAX / torch, JAX, Cairn /
    ...), so drift and other load on the machine fall on all three alike.
    Rounds: --budget seconds / (time of one warm-up round), within
    [--min-reps, --max-reps]. Cairn's time is measured in its process around
    Executable::run; the peers' around the Python call (block_until_ready for
    JAX). Every training-step repetition is the first step from the exported
    parameters and a fresh Adam state, in all three (torch's parameters and
    optimizer state are reset between repetitions, outside the timing; JAX's
    step does not donate its inputs, as Cairn's does not reuse them): the same
    work every time. (Carried forward, steps drift: with these parameters the
    gradients hold denormal floats, and how many changes from step to step.)
 5. Cairn's achieved GFLOP/s: ExecStats::gemmFlops (2*M*N*K over its BLAS
    calls) per run / its median time, against `cairn-peer-bench peak` (sgemm
    at the SPINN shapes, same N); and one profiled run (time by instruction
    kind).

Writes the results as JSON (--json) and Markdown tables (--markdown), and
prints the tables.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))

DEFAULT_WORKLOADS = [
    ("spinn_pi_b128", "forward"), ("spinn_pi_b128", "train"),
    ("bilstm_b64", "forward"), ("bilstm_b64", "train"),
    ("bigru_b64", "forward"), ("bigru_b64", "train"),
    ("bilstm_b1", "forward"), ("bigru_b1", "forward"),
    ("spinn_pred_b128", "forward"), ("spinn_pi_b8", "forward"), ("spinn_pi_b1", "forward"),
    ("treelstm_b128", "forward"), ("treelstm_b128", "train"),
]
CLIP, LR = 5.0, 1e-3
FRAMEWORKS = ("cairn", "torch", "jax")


# ----------------------------------------------------------------------------
# The child: one thread count, every workload.


class CairnServer:
    """A `cairn-peer-bench serve` process answering one JSON line per command."""

    def __init__(self, exe, workload, mode, threads, export_dir=None, data=None, ftz=False):
        cmd = [exe, "serve", "--workload", workload, "--mode", mode, "--threads", str(threads)]
        if ftz:
            cmd.append("--flush-denormals")
        if export_dir:
            cmd += ["--export", export_dir]
        if data:
            cmd = [exe, "--data", data] + cmd[1:]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.ready = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"cairn-peer-bench serve exited (status {self.p.wait()})")
        return json.loads(line)

    def ask(self, command):
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        r = self._read()
        if "error" in r:
            raise RuntimeError(r["error"])
        return r

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=60)


def stats(samples):
    import numpy as np
    a = np.asarray(samples, dtype=np.float64)
    return {"median": float(np.median(a)), "p25": float(np.percentile(a, 25)),
            "p75": float(np.percentile(a, 75)), "min": float(a.min()), "max": float(a.max()),
            "n": int(a.size), "samples": [round(float(x), 4) for x in a]}


def torch_side(kind, case_dir, config, inputs, mode, labels_np):
    """(run function, reset function or None, check outputs/values) for
    PyTorch eager."""
    import numpy as np
    import torch
    from common import ParamBag
    from run_reference import build, forward

    P = ParamBag(case_dir, config["params"])
    model = build(kind, P, config["model"], config.get("names"))
    P.check_all_taken()
    if mode == "forward":
        model.eval()

        def run():
            with torch.no_grad():
                return forward(kind, model, inputs)

        out = run()
        vals = [out[name] for name in config["outputs"]]
        return run, None, [v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
                           for v in vals]

    model.train()
    # nn.LSTM's second bias is fixed at 0 in Cairn's parameterization (one
    # bias per cell): not a trainable parameter here either.
    for name, p in model.named_parameters():
        if name.startswith("rnn.bias_hh") and kind.startswith("birnn") and \
                config["model"]["cell"] == "lstm":
            p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    initial = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=LR)
    labels = torch.as_tensor(labels_np, dtype=torch.long)

    def run():
        opt.zero_grad(set_to_none=True)
        logits = forward(kind, model, inputs)["logits"]
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        return loss, norm

    @torch.no_grad()
    def reset():  # back to the exported parameters and a fresh Adam state
        for p, p0 in zip(params, initial):
            p.copy_(p0)
        opt.state.clear()

    loss, norm = run()  # the first step, from the exported parameters
    reset()
    return run, reset, [np.float32(loss.item()), np.float32(norm.item())]


def jax_side(kind, case_dir, config, inputs, mode, labels_np):
    """(run function, check values, compile times) for JAX."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import jax_models as jm

    cfg, names = config["model"], config.get("names")
    if jm.param_names(kind, cfg, names) != config["params"]:
        raise ValueError("jax_models' parameter names differ from the case's")
    params = {k: jnp.asarray(np.load(os.path.join(case_dir, "params", k + ".npy")))
              for k in config["params"]}
    x = {k: jnp.asarray(v) for k, v in inputs.items()}
    compile_info = {}
    if mode == "forward":
        fn = jm.make_forward(kind, cfg, names)
        t0 = time.perf_counter()
        lowered = fn.lower(params, x)
        t1 = time.perf_counter()
        compiled = lowered.compile()
        t2 = time.perf_counter()
        compile_info = {"trace_ms": 1e3 * (t1 - t0), "compile_ms": 1e3 * (t2 - t1)}

        def run():
            return jax.block_until_ready(compiled(params, x))

        out = run()
        return run, [np.asarray(out[name]) for name in config["outputs"]], compile_info

    loss_fn = jm.make_loss(kind, cfg, names)

    def step(p, state, xs, labels):
        loss, grads = jax.value_and_grad(loss_fn)(p, xs, labels)
        grads, norm = jm.clip_by_global_norm(grads, CLIP)
        p, state = jm.adam_update(p, grads, state, LR)
        return p, state, loss, norm

    labels = jnp.asarray(labels_np, jnp.int32)
    state = jm.adam_init(params)
    jitted = jax.jit(step)
    t0 = time.perf_counter()
    lowered = jitted.lower(params, state, x, labels)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    compile_info = {"trace_ms": 1e3 * (t1 - t0), "compile_ms": 1e3 * (t2 - t1)}

    def run():
        p, s, loss, norm = jax.block_until_ready(compiled(params, state, x, labels))
        return loss, norm

    loss, norm = run()  # the first step, from the exported parameters
    return run, [np.float32(loss), np.float32(norm)], compile_info


def check_forward(config, cairn_dir, torch_out, jax_out):
    import numpy as np
    from common import max_rel_diff
    res = {}
    for i, name in enumerate(config["outputs"]):
        c = np.load(os.path.join(cairn_dir, f"cairn_{i}.npy"))
        for fw, outs in (("torch", torch_out), ("jax", jax_out)):
            o = np.asarray(outs[i])
            if c.dtype.kind in "iu":
                bad = int(np.sum(o != c)) if o.shape == c.shape else int(c.size)
                res[f"{fw}_{name}_differ"] = bad
            else:
                res[f"{fw}_{name}_rel"] = max_rel_diff(o, c)
    return res


def check_train(cairn_dir, torch_vals, jax_vals):
    import numpy as np
    loss = float(np.load(os.path.join(cairn_dir, "cairn_loss.npy")))
    norm = float(np.load(os.path.join(cairn_dir, "cairn_grad_norm.npy")))
    res = {"cairn_loss": loss, "cairn_grad_norm": norm}
    for fw, (l, n) in (("torch", torch_vals), ("jax", jax_vals)):
        res[f"{fw}_loss_rel"] = abs(float(l) - loss) / max(abs(loss), 1e-6)
        res[f"{fw}_grad_norm_rel"] = abs(float(n) - norm) / max(abs(norm), 1e-6)
    return res


def bench_one(args, workload, mode, threads, cases_dir):
    import numpy as np
    from common import load_config, load_inputs

    case_dir = os.path.join(cases_dir, workload)
    fresh = not os.path.isfile(os.path.join(case_dir, "config.json"))
    srv = CairnServer(args.exe, workload, mode, threads, case_dir if fresh else None, args.data,
                      args.flush_denormals)
    rec = {"workload": workload, "mode": mode, "threads": threads}
    try:
        config = load_config(case_dir)
        kind = config["kind"]
        inputs = load_inputs(case_dir, config)
        rec["kind"], rec["model"] = kind, config["model"]
        rec["shapes"] = {k: list(v.shape) for k, v in inputs.items()}
        labels = None
        if mode == "train":
            B = inputs["tokens"].shape[-2] if kind == "spinn_snli" else inputs["tokens"].shape[0]
            labels = (np.arange(B) % config["model"].get("classes", 3)).astype(np.int32)
        rec["compile"] = {"cairn": srv.ready}

        with tempfile.TemporaryDirectory() as tmp:
            srv.ask(f"save {tmp}")
            t_run, t_reset, t_vals = torch_side(kind, case_dir, config, inputs, mode, labels)
            j_run, j_vals, jinfo = jax_side(kind, case_dir, config, inputs, mode, labels)
            rec["compile"]["jax"] = jinfo
            rec["check"] = (check_forward(config, tmp, t_vals, j_vals) if mode == "forward"
                            else check_train(tmp, t_vals, j_vals))

        def once(fw):
            if fw == "cairn":
                r = srv.ask("run 1")
                rec["gemm_flops"] = r["gemm_flops"]
                return r["ms"][0]
            if fw == "torch" and t_reset:
                t_reset()
            t0 = time.perf_counter()
            (t_run if fw == "torch" else j_run)()
            return 1e3 * (time.perf_counter() - t0)

        round_ms = 0.0
        for w in range(args.warmup):
            round_ms = sum(once(fw) for fw in FRAMEWORKS)
        reps = int(min(args.max_reps, max(args.min_reps, 1e3 * args.budget / max(round_ms, 1e-3))))
        times = {fw: [] for fw in FRAMEWORKS}
        for r in range(reps):
            order = FRAMEWORKS[r % 3:] + FRAMEWORKS[:r % 3]
            for fw in order:
                times[fw].append(once(fw))
        rec["time"] = {fw: stats(times[fw]) for fw in FRAMEWORKS}
        c = rec["time"]["cairn"]["median"]
        rec["ratio"] = {fw: rec["time"][fw]["median"] / c for fw in ("torch", "jax")}
        if rec.get("gemm_flops"):
            rec["cairn_gflops"] = rec["gemm_flops"] / (c * 1e-3) / 1e9
        rec["profile"] = srv.ask("profile")
    finally:
        srv.close()
    return rec


def child_main(args):
    threads = args.child_threads
    import numpy as np  # noqa: F401
    import torch
    import jax
    torch.set_num_threads(threads)
    if args.flush_denormals:
        torch.set_flush_denormal(True)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    sys.path.insert(0, os.path.join(root, "bench", "reference"))
    sys.path.insert(0, here)
    import warnings
    warnings.filterwarnings("ignore", message=".*donated buffers.*")

    out = {"threads": threads, "affinity": sorted(os.sched_getaffinity(0)),
           "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
           "jax": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "flush_denormals": args.flush_denormals,
           "results": [], "errors": []}
    peak = subprocess.run([args.exe, "peak", "--threads", str(threads)], check=True,
                          capture_output=True, text=True)
    out["peak"] = json.loads(peak.stdout)
    load0 = os.getloadavg()[0]
    print(f"[threads {threads}] sgemm peak {out['peak']['peak_gflops']:.1f} GFLOP/s", flush=True)
    for spec in args.child_specs:
        workload, mode = spec.split(":")
        t0 = time.perf_counter()
        try:
            rec = bench_one(args, workload, mode, threads, args.cases)
        except Exception as e:  # one broken workload must not lose the others
            out["errors"].append({"workload": workload, "mode": mode, "error": repr(e)})
            print(f"[threads {threads}] {workload} {mode}: FAILED: {e!r}", flush=True)
            continue
        out["results"].append(rec)
        t = rec["time"]
        print(f"[threads {threads}] {workload:16} {mode:7} cairn {t['cairn']['median']:9.2f} ms  "
              f"torch {t['torch']['median']:9.2f} ms ({rec['ratio']['torch']:5.2f}x)  "
              f"jax {t['jax']['median']:9.2f} ms ({rec['ratio']['jax']:5.2f}x)  "
              f"n={t['cairn']['n']}  [{time.perf_counter() - t0:.0f} s]", flush=True)
    out["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    with open(args.child_out, "w") as f:
        json.dump(out, f)


# ----------------------------------------------------------------------------
# The parent: one child per thread count, then the tables.


def machine_info(exe):
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            k, _, v = line.partition(":")
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket",
                             "L2 cache", "L3 cache", "Flags"):
                info[k.strip()] = v.strip() if k.strip() != "Flags" else \
                    " ".join(f for f in v.split() if f.startswith("avx512") or f in ("avx2", "fma"))
    except OSError:
        pass
    return info


def fmt_t(s):
    return f"{s['median']:.2f} [{s['p25']:.2f}-{s['p75']:.2f}]"


def fmt_check(r):
    c = r["check"]
    if r["mode"] == "train":
        return (f"loss {c['torch_loss_rel']:.0e} / {c['jax_loss_rel']:.0e}, "
                f"norm {c['torch_grad_norm_rel']:.0e} / {c['jax_grad_norm_rel']:.0e}")
    parts = []
    for fw in ("torch", "jax"):
        vals = [v for k, v in c.items() if k.startswith(fw + "_") and k.endswith("_rel")]
        ints = [v for k, v in c.items() if k.startswith(fw + "_") and k.endswith("_differ")]
        s = f"{max(vals):.0e}" if vals else "-"
        if ints:
            s += f" ({sum(ints)} moves differ)" if sum(ints) else " (moves equal)"
        parts.append(s)
    return " / ".join(parts)


def fmt_batch(r):
    """The batch's shape, for people: SNLI pairs x tokens (steps), or batch x length."""
    sh = r["shapes"]
    tok = sh["tokens"]
    if r["kind"] == "spinn_snli":
        steps = sh["transitions"][2] if "transitions" in sh else 2 * tok[2] - 1
        return f"{tok[1]} pairs, N {tok[2]}, T {steps}"
    if r["kind"] == "treelstm_sst":
        return f"{tok[0]} trees, N {tok[1]}, T {sh['transitions'][1]}"
    return f"{tok[0]} x {tok[1]}"


def markdown(all_out, info):
    lines = []
    lines.append("### Time per run (ms: median [p25-p75]; ratio = peer median / Cairn median, "
                 "> 1: Cairn faster)\n")
    lines.append("| workload | batch | mode | threads | Cairn | PyTorch eager | JAX jit | "
                 "torch / Cairn | JAX / Cairn | reps | check vs Cairn (torch / JAX) |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    recs = sorted((r for o in all_out for r in o["results"]),
                  key=lambda r: (order_key(r), r["threads"]))
    for r in recs:
        t = r["time"]
        lines.append(f"| {r['workload']} | {fmt_batch(r)} | {r['mode']} | {r['threads']} | "
                     f"{fmt_t(t['cairn'])} | {fmt_t(t['torch'])} | {fmt_t(t['jax'])} | "
                     f"{r['ratio']['torch']:.2f} | {r['ratio']['jax']:.2f} | {t['cairn']['n']} | "
                     f"{fmt_check(r)} |")
    lines.append("\nChecks, before timing, on the same inputs and parameters: forward: "
                 "max|peer - Cairn| / max|Cairn| of the logits (predicted SPINN: and how many of "
                 "the moves taken differ); train: the relative difference of the first step's "
                 "loss and of its gradient's global norm (before clipping).\n")

    lines.append("### Compile time (ms)\n")
    lines.append("| workload | mode | threads | Cairn gradient + train step built | Cairn compile "
                 "| Cairn IR to runnable | JAX trace (lower) | JAX compile | JAX total |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in recs:
        c, j = r["compile"]["cairn"], r["compile"].get("jax", {})
        lines.append(f"| {r['workload']} | {r['mode']} | {r['threads']} | "
                     f"{c['build_ms']:.0f} | {c['compile_ms']:.0f} | {c['ir_to_runnable_ms']:.0f} | "
                     f"{j.get('trace_ms', 0):.0f} | {j.get('compile_ms', 0):.0f} | "
                     f"{j.get('trace_ms', 0) + j.get('compile_ms', 0):.0f} |")

    lines.append("\n### Roofline: sgemm through Cairn's GEMM (OpenBLAS)\n")
    lines.append("| threads | " + " | ".join(f"{s['m']}x{s['k']} @ {s['k']}x{s['n']}"
                                              for s in all_out[0]["peak"]["shapes"]) + " | peak |")
    lines.append("| --- | " + " | ".join("---" for _ in all_out[0]["peak"]["shapes"]) + " | --- |")
    for o in all_out:
        p = o["peak"]
        lines.append(f"| {o['threads']} | " + " | ".join(f"{s['gflops']:.1f} GFLOP/s"
                                                          for s in p["shapes"]) +
                     f" | {p['peak_gflops']:.1f} |")
    lines.append("\nPeak = the better of the two SPINN shapes. Per Cairn workload: GEMM FLOPs "
                 "per run (ExecStats::gemmFlops), achieved = those / Cairn's median time, and "
                 "the share of one profiled run spent in BLAS calls.\n")
    lines.append("| workload | mode | threads | GEMM GFLOP/run | achieved GFLOP/s | of peak | "
                 "BLAS share of time | top non-GEMM instruction kinds (ms) |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    peaks = {o["threads"]: o["peak"]["peak_gflops"] for o in all_out}
    for r in recs:
        if not r.get("gemm_flops"):
            continue
        prof = r.get("profile", {})
        rows = prof.get("rows", [])
        gemm = sum(x["ms"] for x in rows if x["what"].startswith("gemm"))
        total = prof.get("total_ms") or 1.0
        top = ", ".join([f"{x['what']} {x['ms']:.1f}" for x in rows
                         if not x["what"].startswith("gemm")][:3])
        lines.append(f"| {r['workload']} | {r['mode']} | {r['threads']} | "
                     f"{r['gemm_flops'] / 1e9:.3f} | {r['cairn_gflops']:.1f} | "
                     f"{100 * r['cairn_gflops'] / peaks[r['threads']]:.0f}% | "
                     f"{100 * gemm / total:.0f}% | {top} |")
    errs = [e for o in all_out for e in o["errors"]]
    if errs:
        lines.append("\n### Failures\n")
        for e in errs:
            lines.append(f"- threads {e.get('threads', '?')}: {e['workload']} {e['mode']}: "
                         f"{e['error']}")
    o0 = all_out[0]
    loads = ", ".join(f"{o['threads']} threads: {o['loadavg'][0]} -> {o['loadavg'][1]}"
                      for o in all_out)
    lines.append(f"\nLoad average (1 min) at the start and end of each child: {loads}.")
    lines.append(f"\nMachine: {info.get('Model name', '?')}, {info.get('CPU(s)', '?')} CPUs "
                 f"({info.get('Flags', '')}); {o0['peak']['blas']}; PyTorch {o0['torch']}, "
                 f"JAX {o0['jax']}, Python {info['python']}.")
    return "\n".join(lines) + "\n"


def order_key(r):
    specs = [f"{w}:{m}" for w, m in DEFAULT_WORKLOADS]
    k = f"{r['workload']}:{r['mode']}"
    return specs.index(k) if k in specs else len(specs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--workload", action="append", default=[],
                    help="NAME or NAME:MODE (default: all; `cairn-peer-bench list`)")
    ap.add_argument("--budget", type=float, default=15.0,
                    help="seconds of timed rounds per workload and mode (approximate)")
    ap.add_argument("--min-reps", type=int, default=7)
    ap.add_argument("--max-reps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    ap.add_argument("--exe", default=os.path.join(
        os.environ.get("CAIRN_BUILD_DIR", os.path.join(root, "build")), "bin", "cairn-peer-bench"))
    ap.add_argument("--data", default=None, help="data directory (default: ../shared/data)")
    ap.add_argument("--json", help="write every result (samples included) here")
    ap.add_argument("--markdown", help="write the tables here")
    ap.add_argument("--flush-denormals", action="store_true",
                    help="diagnostic: flush denormal floats in Cairn (serve --flush-denormals: "
                         "its thread, not OpenBLAS's workers) and torch (set_flush_denormal); "
                         "XLA flushes them already")
    ap.add_argument("--omp-active", action="store_true",
                    help="leave OMP_WAIT_POLICY alone (torch's OpenMP threads spin at barriers)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the child to N CPUs (then JAX uses all cores at N = 1)")
    # The child's arguments.
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--child-specs", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--cases", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        return child_main(args)

    if not os.access(args.exe, os.X_OK):
        sys.exit(f"bench.py: no {args.exe}: build it (ninja -C build cairn-peer-bench)")
    specs = []
    for w in args.workload:
        if ":" in w:
            specs.append(w)
        else:
            modes = [m for n, m in DEFAULT_WORKLOADS if n == w] or ["forward"]
            specs += [f"{w}:{m}" for m in modes]
    if not specs:
        specs = [f"{w}:{m}" for w, m in DEFAULT_WORKLOADS]
    thread_counts = [int(t) for t in args.threads.split(",")]
    cpus = sorted(os.sched_getaffinity(0))
    info = machine_info(args.exe)
    all_out = []
    with tempfile.TemporaryDirectory(prefix="cairn-peers-") as cases:
        for n in thread_counts:
            if n > len(cpus):
                sys.exit(f"bench.py: {n} threads but only {len(cpus)} CPUs available")
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(n), OMP_NUM_THREADS=str(n),
                       MKL_NUM_THREADS=str(n), JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2")
            if not args.omp_active:
                env["OMP_WAIT_POLICY"] = "PASSIVE"
            env.pop("XLA_FLAGS", None)
            if n == 1:
                env["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                    "intra_op_parallelism_threads=1")
            out_file = os.path.join(cases, f"threads{n}.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--child-threads", str(n),
                   "--child-out", out_file, "--cases", cases, "--exe", args.exe,
                   "--budget", str(args.budget), "--min-reps", str(args.min_reps),
                   "--max-reps", str(args.max_reps), "--warmup", str(args.warmup),
                   *(["--flush-denormals"] if args.flush_denormals else []),
                   "--child-specs", *specs]
            if args.data:
                cmd += ["--data", args.data]
            pin = None if args.no_pin else set(cpus[:n])
            subprocess.run(cmd, env=env, check=True,
                           preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None)
            with open(out_file) as f:
                o = json.load(f)
            for e in o["errors"]:
                e["threads"] = n
            all_out.append(o)

    md = markdown(all_out, info)
    print()
    print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "runs": all_out}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    return 1 if any(o["errors"] for o in all_out) else 0


if __name__ == "__main__":
    sys.exit(main())
