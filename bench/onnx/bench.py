"""Cairn against onnxruntime on models exported from PyTorch (bench/onnx/run.sh).

  bench.py --cases DIR [--threads 1,2] [--batches 1,64] [--budget 10]
           [--markdown FILE] [--json FILE]

DIR is export.py's output. Per model, batch size and thread count: Cairn's
side is a `cairn-onnx-bench serve` process (the .onnx imported and compiled
by the CPU executor, OpenBLAS with that many threads), onnxruntime's an
InferenceSession in this process (intra-op threads = that many, one
inter-op thread, every graph optimization, workers that do not spin after a
run: --ort-spin leaves them spinning); both keep to that many CPUs
(os.sched_setaffinity), as bench/peers pins its children. First both outputs are checked
against onnxruntime's saved ones; then, after warm-up rounds, one run of
each alternates until the budget is spent (interleaved, as bench/peers
does, so a busy moment of a shared machine hits both). Ratio = onnxruntime
median / Cairn median (> 1: Cairn faster).
"""
import argparse
import json
import os
import select
import subprocess
import sys
import time

import numpy as np


class CairnServer:
    def __init__(self, exe, model, inputs, threads):
        self.p = subprocess.Popen([exe, "serve", "--model", model, "--inputs", inputs,
                                   "--threads", str(threads)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.ready = self._read()

    def _read(self, timeout=600):
        ready, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not ready:
            self.p.kill()
            raise RuntimeError("cairn-onnx-bench said nothing for 600 s")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"cairn-onnx-bench exited ({self.p.wait()})")
        r = json.loads(line)
        if "error" in r:
            raise RuntimeError(r["error"])
        return r

    def ask(self, command):
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()


def check(case, tmp, n_out):
    """Cairn's saved outputs against onnxruntime's: the largest difference
    (floats) or the share of equal elements (integers: the decoder's tokens)."""
    notes = []
    for i in range(n_out):
        want = np.load(os.path.join(case, f"ort_{i}.npy"))
        got = np.load(os.path.join(tmp, f"cairn_{i}.npy"))
        if want.shape != got.shape:
            notes.append(f"output {i}: shape {got.shape} vs onnxruntime's {want.shape}")
        elif np.issubdtype(want.dtype, np.floating):
            d = float(np.max(np.abs(got.astype(np.float64) - want))) if want.size else 0.0
            notes.append(f"max |diff| {d:.1e}")
        else:
            notes.append(f"{float(np.mean(got == want)):.3f} of tokens equal")
    return "; ".join(notes)


def stats(ms):
    a = np.asarray(ms)
    return float(np.median(a)), float(np.percentile(a, 25)), float(np.percentile(a, 75))


def bench_one(args, name, batch, threads):
    import onnxruntime as ort
    case = os.path.join(args.cases, f"{name}_b{batch}")
    model = os.path.join(args.cases, f"{name}.onnx")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not args.ort_spin:
        # onnxruntime's intra-op workers spin after each run by default; in
        # an interleaved benchmark they then hold the CPUs while Cairn runs
        # (BiLSTM batch 1 at 2 threads: Cairn 9.9 ms beside spinning
        # workers, 4.6 ms alone), as torch's OpenMP threads did in bench/peers.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    inputs = [np.load(os.path.join(case, f"input_{i}.npy"))
              for i in range(len(session.get_inputs()))]
    feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    n_out = len(session.get_outputs())
    cairn = CairnServer(args.exe, model, case, threads)
    try:
        tmp = os.path.join(args.cases, "check", f"{name}_b{batch}_t{threads}")
        cairn.ask(f"save {tmp}")
        agreement = check(case, tmp, n_out)
        for _ in range(args.warmup):
            cairn.ask("run 1")
            session.run(None, feeds)
        c_ms, o_ms = [], []
        start = time.monotonic()
        while len(c_ms) < args.max_reps and (len(c_ms) < args.min_reps or
                                             time.monotonic() - start < args.budget):
            c_ms += cairn.ask("run 1")["ms"]
            t = time.perf_counter()
            session.run(None, feeds)
            o_ms.append((time.perf_counter() - t) * 1e3)
    finally:
        cairn.close()
    c, c25, c75 = stats(c_ms)
    o, o25, o75 = stats(o_ms)
    return {"model": name, "batch": batch, "threads": threads, "cairn_ms": c_ms, "ort_ms": o_ms,
            "cairn_median": c, "cairn_iqr": [c25, c75], "ort_median": o, "ort_iqr": [o25, o75],
            "ratio": o / c, "agreement": agreement, "compile_ms": cairn.ready["compile_ms"],
            "import_ms": cairn.ready["import_ms"], "blas": cairn.ready.get("blas", "")}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--exe", default=os.path.join(here, "..", "..", "build", "bin",
                                                  "cairn-onnx-bench"))
    ap.add_argument("--models", default="bilstm,bigru,decoder")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--min-reps", type=int, default=7)
    ap.add_argument("--max-reps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--ort-spin", action="store_true",
                    help="leave onnxruntime's spinning workers on (they slow the interleaved "
                         "Cairn runs at 2 threads)")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    args = ap.parse_args()
    import onnxruntime as ort
    rows = []
    cpus = sorted(os.sched_getaffinity(0))
    for threads in [int(t) for t in args.threads.split(",")]:
        # N threads = N CPUs for both: this process (onnxruntime) and the
        # Cairn server it starts (which inherits it) keep to the first N, so
        # neither spills onto another core (Cairn's executor runs a pair of
        # independent loops on two threads when it may use two CPUs).
        os.sched_setaffinity(0, set(cpus[:threads]))
        for name in args.models.split(","):
            for batch in [int(b) for b in args.batches.split(",")]:
                try:
                    r = bench_one(args, name, batch, threads)
                except Exception as e:  # one model failing must not lose the others
                    r = {"model": name, "batch": batch, "threads": threads, "error": repr(e)}
                    print(f"{name} b{batch} t{threads}: FAILED: {e!r}", flush=True)
                else:
                    print(f"{name:8} b{batch:<3} t{threads}  Cairn {r['cairn_median']:8.3f} ms  "
                          f"onnxruntime {r['ort_median']:8.3f} ms  ratio {r['ratio']:.2f}  "
                          f"({r['agreement']})", flush=True)
                rows.append(r)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    blas = next((r["blas"] for r in rows if r.get("blas")), "?")
    lines = [f"CPU: {cpu}, {os.cpu_count()} CPUs; Cairn's BLAS: {blas}; onnxruntime "
             f"{ort.__version__}; median of >= {args.min_reps} interleaved runs each "
             f"(~{args.budget:.0f} s per row); onnxruntime's workers "
             f"{'spinning' if args.ort_spin else 'not spinning'}; "
             f"ratio = onnxruntime / Cairn (> 1: Cairn faster)", "",
             "| model | batch | threads | Cairn ms [p25-p75] | onnxruntime ms [p25-p75] | ratio | "
             "outputs vs onnxruntime |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['batch']} | {r['threads']} | failed: "
                         f"{r['error'][:120]} | | | |")
            continue
        lines.append(f"| {r['model']} | {r['batch']} | {r['threads']} | "
                     f"{r['cairn_median']:.3f} [{r['cairn_iqr'][0]:.3f}-{r['cairn_iqr'][1]:.3f}] | "
                     f"{r['ort_median']:.3f} [{r['ort_iqr'][0]:.3f}-{r['ort_iqr'][1]:.3f}] | "
                     f"{r['ratio']:.2f} | {r['agreement']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        open(args.markdown, "w").write(text)
    if args.json:
        json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
