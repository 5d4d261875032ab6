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
    and OPENBLAS_NUM_THREADS=N; its compiled kernels are single-threaded;
  - TensorFlow (where `import tensorflow` works; else its column is skipped
    with a message, and --no-tf leaves it out): tf.config.threading intra-op
    N, inter-op 1, set right after the import, before any op runs.
TensorFlow is the third peer (tf_models.py, README.md "TensorFlow"): the
"TF function" column runs tf.functions (SPINN / TreeLSTM in one
tf.while_loop, BiRNNs on Keras LSTM / GRU) traced once for every shape;
--tf-xla adds "TF XLA", the same functions with jit_compile=True. Both are
checked against Cairn and timed in the same interleaved rounds.
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
 4b. Whole passes (a case directory with pass.json: spinn_pi_dev,
    treelstm_sst_dev): every batch in turn, the time of a pass the sum of
    the batches' (training: each batch's first step from the exported
    parameters, reset between batches outside the timing). The check covers
    every batch (the worst is reported) and is the peers' warm-up (JAX
    compiles each distinct bucket shape ahead of time there); Cairn runs
    one untimed pass; then at least --pass-min-reps (3) timed passes and
    --pass-warmup (0) more untimed ones first. README.md, "Whole passes".
 5. Cairn's achieved GFLOP/s: ExecStats::gemmFlops (2*M*N*K over its BLAS
    calls) per run / its median time, against `cairn-peer-bench peak` (sgemm
    at the SPINN shapes, same N); and one profiled run (time by instruction
    kind).

Writes the results as JSON (--json) and Markdown tables (--markdown), and
prints the tables.

--device cuda (bench/peers/run_gpu.sh; README.md, "CUDA mode") runs the same
comparison on the GPU: Cairn's CUDA backend (`serve --backend cuda`), the
PyTorch reference models and their inputs on torch.device('cuda') (nn.LSTM /
nn.GRU on cuDNN; SPINN and TreeLSTM the per-example define-by-run models),
torch.cuda.synchronize() before every clock read, and JAX with its arrays on
jax.devices('gpu')[0], results blocked with block_until_ready(). One child,
not pinned, with no thread variables set and JAX_PLATFORMS left to JAX; TF32
is off in both peers (torch.backends.{cuda.matmul,cudnn}.allow_tf32 = False,
jax_default_matmul_precision = 'highest') so the checks stay tight.
XLA_PYTHON_CLIENT_PREALLOCATE=false: JAX would otherwise take 75% of the
GPU's memory from PyTorch and Cairn. --cairn-variant LABEL=FLAGS adds Cairn
served with other flags as one more column (e.g. sync=--no-loop-graphs: every
loop host-synchronized); a variant with --full-reduce runs only on SPINN and
TreeLSTM, where it changes the graph.
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
] + [
    # Batches that look like the data (issue 16): whole passes over the dev
    # sets, and single batches at the median and 90th-percentile lengths.
    ("treelstm_sst_dev", "forward"), ("treelstm_sst_dev", "train"),
    ("spinn_pi_dev", "forward"), ("spinn_pi_dev", "train"),
    ("spinn_pi_p50", "forward"), ("spinn_pi_p50", "train"),
    ("spinn_pi_p90", "forward"), ("spinn_pi_p90", "train"),
    ("treelstm_p50", "forward"), ("treelstm_p50", "train"),
    ("treelstm_p90", "forward"), ("treelstm_p90", "train"),
]
DATA_WORKLOADS = DEFAULT_WORKLOADS[13:]
# The workloads of the GPU comparison: SPINN forward and training step at
# batch 128 and 512, TreeLSTM at 128, BiLSTM / BiGRU at 64.
# Batch 512 last: its per-example PyTorch training step is the slowest run,
# and past --deadline the workloads left are skipped.
GPU_WORKLOADS = [
    ("spinn_pi_b128", "forward"), ("spinn_pi_b128", "train"),
    ("treelstm_b128", "forward"), ("treelstm_b128", "train"),
    ("bilstm_b64", "forward"), ("bilstm_b64", "train"),
    ("bigru_b64", "forward"), ("bigru_b64", "train"),
    ("spinn_pi_b512", "forward"), ("spinn_pi_b512", "train"),
]
WORKLOAD_SETS = {"default": DEFAULT_WORKLOADS, "gpu": GPU_WORKLOADS, "data": DATA_WORKLOADS}
CLIP, LR = 5.0, 1e-3
PEERS = ("torch", "jax")
# TensorFlow, the third peer (tf_models.py): a column where the child could
# import it (CI and bench/.venv-peers without CAIRN_PEERS_TF=1 have none: the
# column is skipped and the child says so), on the CPU only.
TF = "tf"
TF_XLA = "tf_xla"  # --tf-xla: the same tf.functions with jit_compile=True
TF_COLUMNS = (TF, TF_XLA)
active_peers = list(PEERS)  # the child's peers: PEERS, and TF where it runs
TREE_KINDS = ("spinn_snli", "treelstm_sst")  # where --full-reduce changes the graph


def frameworks(variants):
    """The columns timed per round: Cairn, its variants, the peers."""
    return ("cairn", *(f"cairn_{label}" for label, _ in variants), *active_peers)


def parse_variants(specs):
    """--cairn-variant LABEL=FLAGS -> [(label, [flags])]."""
    out = []
    for spec in specs:
        label, sep, flags = spec.partition("=")
        if not sep or not label.isidentifier():
            raise SystemExit(f"bench.py: --cairn-variant {spec!r}: expected LABEL=FLAGS")
        out.append((label, flags.split()))
    return out


# ----------------------------------------------------------------------------
# The child: one thread count, every workload.


class CairnServer:
    """A `cairn-peer-bench serve` process answering one JSON line per command."""

    TIMEOUT = 600  # seconds: a compile or one command

    def __init__(self, exe, workload, mode, threads, export_dir=None, data=None, ftz=False,
                 backend="cpu", flags=(), wait=True):
        cmd = [exe, "serve", "--workload", workload, "--mode", mode]
        if backend == "cpu":
            cmd += ["--threads", str(threads)]
        else:
            cmd += ["--backend", backend]
        cmd += list(flags)
        if ftz:
            cmd.append("--flush-denormals")
        if export_dir:
            cmd += ["--export", export_dir]
        if data:
            cmd = [exe, "--data", data] + cmd[1:]
        self.cmd = cmd
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  bufsize=1)
        self.ready = self._read() if wait else None

    def wait_ready(self):
        if self.ready is None:
            self.ready = self._read()
        return self.ready

    def _read(self):
        # One line per command; a server that says nothing for TIMEOUT
        # seconds (a hung device run) is killed rather than left to hang
        # the whole benchmark.
        import select
        ready, _, _ = select.select([self.p.stdout], [], [], self.TIMEOUT)
        if not ready:
            self.p.kill()
            raise RuntimeError(f"cairn-peer-bench serve said nothing for {self.TIMEOUT} s "
                               f"(killed): {' '.join(self.cmd[1:])}")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"cairn-peer-bench serve exited (status {self.p.wait()}): "
                               f"{' '.join(self.cmd[1:])}")
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
        try:
            self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.p.kill()


def stats(samples):
    import numpy as np
    a = np.asarray(samples, dtype=np.float64)
    return {"median": float(np.median(a)), "p25": float(np.percentile(a, 25)),
            "p75": float(np.percentile(a, 75)), "min": float(a.min()), "max": float(a.max()),
            "n": int(a.size), "samples": [round(float(x), 4) for x in a]}


class Target:
    """Where the peers run: the CPU (threads set by the parent), or the GPU
    (torch.device('cuda'), jax.devices('gpu')[0]). `sync` waits for the
    torch device's queued work (a no-op on the CPU)."""

    def __init__(self, device="cpu", dry_run=False):
        self.cuda = device == "cuda"
        self.dry_run = dry_run  # --device cuda's plumbing with the peers on the CPU
        self.torch_device = None
        self.jax_device = None  # None: jnp.asarray's default (the CPU mode, unchanged)
        if self.cuda:
            import jax
            import torch
            if dry_run:
                self.torch_device = torch.device("cpu")
                self.jax_device = jax.devices("cpu")[0]
                return
            if not torch.cuda.is_available():
                raise SystemExit("bench.py: --device cuda: torch.cuda.is_available() is False "
                                 f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})")
            self.torch_device = torch.device("cuda")
            try:
                self.jax_device = jax.devices("gpu")[0]
            except RuntimeError as e:
                raise SystemExit(f"bench.py: --device cuda: JAX has no GPU ({e}; "
                                 f"JAX_PLATFORMS={os.environ.get('JAX_PLATFORMS', '')!r})")

    def sync(self):
        if self.cuda and not self.dry_run:
            import torch
            torch.cuda.synchronize()


def torch_side(kind, case_dir, config, batches, mode, labels_list, target):
    """(run(k) function, reset function or None, check outputs/values per
    batch) for PyTorch eager, on `batches` (input dicts: one, or a whole
    pass's) with `labels_list` (train: one array per batch). The run
    functions leave their work queued on a GPU: the caller synchronizes
    (Target.sync) around the clock reads."""
    import numpy as np
    import torch
    from common import ParamBag
    from run_reference import build, forward

    P = ParamBag(case_dir, config["params"])
    model = build(kind, P, config["model"], config.get("names"))
    P.check_all_taken()
    if target.torch_device is not None:
        model.to(target.torch_device)  # the parameters in place (no new Parameter objects)
    if mode == "forward":
        model.eval()

        def run(k=0):
            with torch.no_grad():
                return forward(kind, model, batches[k])

        vals = []
        for k in range(len(batches)):  # the check pass (also every batch's first run)
            out = run(k)
            vals.append([out[name].detach().cpu().numpy() if isinstance(out[name], torch.Tensor)
                         else np.asarray(out[name]) for name in config["outputs"]])
        return run, None, vals

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
    labels = [torch.as_tensor(l, dtype=torch.long, device=target.torch_device)
              for l in labels_list]

    def run(k=0):
        opt.zero_grad(set_to_none=True)
        logits = forward(kind, model, batches[k])["logits"]
        loss = torch.nn.functional.cross_entropy(logits, labels[k])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        return loss, norm

    @torch.no_grad()
    def reset():  # back to the exported parameters and a fresh Adam state
        for p, p0 in zip(params, initial):
            p.copy_(p0)
        opt.state.clear()

    vals = []
    for k in range(len(batches)):  # each batch's first step, from the exported parameters
        loss, norm = run(k)
        reset()
        vals.append([np.float32(loss.item()), np.float32(norm.item())])
    return run, reset, vals


def shape_key(x):
    """The input shapes of one batch: jax.jit compiles once per distinct key."""
    return tuple((k, tuple(v.shape)) for k, v in sorted(x.items()))


def jax_side(kind, case_dir, config, batches, mode, labels_list, target):
    """(run(k) function, check values per batch, compile times) for JAX.
    Each distinct batch shape is lowered and compiled ahead of time (a whole
    pass has one per bucket length); compile_info sums them."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import jax_models as jm

    def put(a):  # on the target's device (committed: the jitted calls run there)
        return jnp.asarray(a) if target.jax_device is None else jax.device_put(a, target.jax_device)

    cfg, names = config["model"], config.get("names")
    if jm.param_names(kind, cfg, names) != config["params"]:
        raise ValueError("jax_models' parameter names differ from the case's")
    params = {k: put(np.load(os.path.join(case_dir, "params", k + ".npy")))
              for k in config["params"]}
    xs = [{k: put(v) for k, v in inputs.items()} for inputs in batches]
    keys = [shape_key(x) for x in xs]
    compile_info = {"trace_ms": 0.0, "compile_ms": 0.0, "shapes": len(set(keys))}
    compiled = {}

    def aot(key, fn, *a):  # lower + compile once per distinct shape, timed
        if key not in compiled:
            t0 = time.perf_counter()
            lowered = fn.lower(*a)
            t1 = time.perf_counter()
            compiled[key] = lowered.compile()
            t2 = time.perf_counter()
            compile_info["trace_ms"] += 1e3 * (t1 - t0)
            compile_info["compile_ms"] += 1e3 * (t2 - t1)
        return compiled[key]

    if mode == "forward":
        fn = jm.make_forward(kind, cfg, names)
        for x, key in zip(xs, keys):
            aot(key, fn, params, x)

        def run(k=0):
            return jax.block_until_ready(compiled[keys[k]](params, xs[k]))

        vals = []
        for k in range(len(xs)):  # the check pass (also every shape's first run)
            out = run(k)
            vals.append([np.asarray(out[name]) for name in config["outputs"]])
        return run, vals, compile_info

    loss_fn = jm.make_loss(kind, cfg, names)

    def step(p, state, xs, labels):
        loss, grads = jax.value_and_grad(loss_fn)(p, xs, labels)
        grads, norm = jm.clip_by_global_norm(grads, CLIP)
        p, state = jm.adam_update(p, grads, state, LR)
        return p, state, loss, norm

    labels = [put(np.asarray(l, np.int32)) for l in labels_list]
    state = jm.adam_init(params)
    if target.jax_device is not None:
        state = jax.device_put(state, target.jax_device)
    jitted = jax.jit(step)
    for x, l, key in zip(xs, labels, keys):
        aot(key, jitted, params, state, x, l)

    def run(k=0):
        p, s, loss, norm = jax.block_until_ready(compiled[keys[k]](params, state, xs[k],
                                                                   labels[k]))
        return loss, norm

    vals = []
    for k in range(len(xs)):  # each batch's first step, from the exported parameters
        loss, norm = run(k)
        vals.append([np.float32(loss), np.float32(norm)])
    return run, vals, compile_info


def tf_side(kind, case_dir, config, batches, mode, labels_list, xla=False):
    """(run(k) function, reset function or None, check values per batch,
    compile times) for TensorFlow (tf_models.py): one tf.function whose input
    signature leaves the batch and length dimensions unknown, so it is traced
    once for every shape of a whole pass. Compile time: the trace
    (get_concrete_function) and the first call (TF's graph optimizations,
    Grappler and oneDNN rewrites, happen there, plus one run). xla: the
    tf.functions with jit_compile=True: XLA compiles each distinct shape at
    its first call, so the first-call time sums those (as JAX's compile)."""
    import numpy as np
    import tensorflow as tf
    import tf_models as tm

    model = tm.TfModel(kind, config["model"], config.get("names"), case_dir, config["params"],
                       LR, CLIP, jit_compile=xla)
    seen = set()

    def first_call(k, ms):  # the first call of each shape (XLA) / of the function
        key = shape_key(batches[k]) if xla else None
        if key not in seen:
            seen.add(key)
            info["first_call_ms"] = info.get("first_call_ms", 0.0) + ms
            info["shapes"] = len(seen)
    xs = [tm.inputs_to_tf(kind, config["model"], b) for b in batches]
    fn = model.forward if mode == "forward" else model.train_step
    t0 = time.perf_counter()
    fn.get_concrete_function()
    info = {"trace_ms": 1e3 * (time.perf_counter() - t0)}
    if mode == "forward":
        def run(k=0):
            return model.forward(xs[k])

        vals = []
        for k in range(len(xs)):  # the check pass (also the first call)
            t0 = time.perf_counter()
            out = run(k)
            first_call(k, 1e3 * (time.perf_counter() - t0))
            vals.append([out[name].numpy() for name in config["outputs"]])
        return run, None, vals, info

    labels = [tf.constant(np.asarray(l, np.int32)) for l in labels_list]

    def run(k=0):
        return model.train_step(xs[k], labels[k])

    vals = []
    for k in range(len(xs)):  # each batch's first step, from the exported parameters
        t0 = time.perf_counter()
        loss, norm = run(k)
        first_call(k, 1e3 * (time.perf_counter() - t0))
        model.reset()
        vals.append([np.float32(loss.numpy()), np.float32(norm.numpy())])
    return run, model.reset, vals, info


def check_forward(config, cairn_dir, torch_out, jax_out, variant_dirs=(), extra=None):
    import numpy as np
    from common import max_rel_diff
    res = {}
    for i, name in enumerate(config["outputs"]):
        c = np.load(os.path.join(cairn_dir, f"cairn_{i}.npy"))
        outs = [("torch", torch_out[i]), ("jax", jax_out[i])]
        outs += [(fw, vals[i]) for fw, vals in (extra or {}).items()]  # TF columns
        outs += [(f"variant_{label}", np.load(os.path.join(d, f"cairn_{i}.npy")))
                 for label, d in variant_dirs]
        for fw, o in outs:
            o = np.asarray(o)
            if c.dtype.kind in "iu":
                bad = int(np.sum(o != c)) if o.shape == c.shape else int(c.size)
                res[f"{fw}_{name}_differ"] = bad
            else:
                res[f"{fw}_{name}_rel"] = max_rel_diff(o, c)
    return res


def merge_checks(per_batch):
    """One check record for a whole pass: the worst batch's relative
    differences, the moves that differ summed, Cairn's loss and norm of the
    first batch."""
    out = dict(per_batch[0])
    for r in per_batch[1:]:
        for k, v in r.items():
            if k.endswith("_rel"):
                out[k] = max(out[k], v)
            elif k.endswith("_differ"):
                out[k] += v
    return out


def check_train(cairn_dir, torch_vals, jax_vals, variant_dirs=(), extra=None):
    import numpy as np

    def load(d):
        return (float(np.load(os.path.join(d, "cairn_loss.npy"))),
                float(np.load(os.path.join(d, "cairn_grad_norm.npy"))))

    loss, norm = load(cairn_dir)
    res = {"cairn_loss": loss, "cairn_grad_norm": norm}
    vals = [("torch", torch_vals), ("jax", jax_vals)]
    vals += list((extra or {}).items())  # TF columns
    vals += [(f"variant_{label}", load(d)) for label, d in variant_dirs]
    for fw, (l, n) in vals:
        res[f"{fw}_loss_rel"] = abs(float(l) - loss) / max(abs(loss), 1e-6)
        res[f"{fw}_grad_norm_rel"] = abs(float(n) - norm) / max(abs(norm), 1e-6)
    return res


def bench_one(args, workload, mode, threads, cases_dir, target):
    import numpy as np
    from common import load_config, load_inputs

    backend = "cuda" if target.cuda else "cpu"
    case_dir = os.path.join(cases_dir, workload)
    fresh = not os.path.isfile(os.path.join(case_dir, "config.json"))
    servers = {}  # framework -> CairnServer
    servers["cairn"] = CairnServer(args.exe, workload, mode, threads,
                                   case_dir if fresh else None, args.data, args.flush_denormals,
                                   backend, args.cairn_flags)
    rec = {"workload": workload, "mode": mode, "threads": threads}
    try:
        config = load_config(case_dir)
        kind = config["kind"]
        inputs = load_inputs(case_dir, config)
        rec["kind"], rec["model"] = kind, config["model"]
        rec["shapes"] = {k: list(v.shape) for k, v in inputs.items()}
        rec["data"] = {k: v for k, v in config.get("data", {}).items() if k != "examples"}
        # A whole pass (pass.json): every batch's inputs, batches/<k>/.
        pass_info = None
        batches = [inputs]
        if os.path.isfile(os.path.join(case_dir, "pass.json")):
            with open(os.path.join(case_dir, "pass.json")) as f:
                pass_info = json.load(f)
            batches = [load_inputs(os.path.join(case_dir, "batches", str(k)), config)
                       for k in range(len(pass_info["batches"]))]
            rec["pass"] = {"batches": len(batches), "examples": pass_info["examples"],
                           "batch": max(b["examples"] for b in pass_info["batches"]),
                           "distinct_shapes": len({shape_key(x) for x in batches})}
        # The variants that change something for this model (--full-reduce:
        # the tree models only).
        variants = [(label, flags) for label, flags in args.variants
                    if "--full-reduce" not in flags or kind in TREE_KINDS]
        # Started together (they compile in parallel); one that fails is
        # left out of this workload's columns, and said.
        starting = {label: CairnServer(args.exe, workload, mode, threads, None, args.data,
                                       args.flush_denormals, backend,
                                       list(args.cairn_flags) + flags, wait=False)
                    for label, flags in variants}
        for label, srv in starting.items():
            try:
                srv.wait_ready()
                servers[f"cairn_{label}"] = srv
            except Exception as e:
                rec.setdefault("variant_errors", {})[label] = repr(e)
                print(f"  {workload} {mode}: Cairn {label} failed: {e!r}", flush=True)
                srv.close()
        variants = [(label, flags) for label, flags in variants if f"cairn_{label}" in servers]
        fws = frameworks(variants)
        rec["frameworks"] = list(fws)
        rec["variants"] = {label: " ".join(flags) for label, flags in variants}
        labels = None
        if mode == "train":
            def batch_size(x):
                return x["tokens"].shape[-2] if kind == "spinn_snli" else x["tokens"].shape[0]
            labels = [(np.arange(batch_size(x)) % config["model"].get("classes", 3))
                      .astype(np.int32) for x in batches]
        rec["compile"] = {fw: srv.ready for fw, srv in servers.items()}
        emulated = [fw for fw, srv in servers.items() if srv.ready.get("emulated")]
        if target.cuda and emulated and not (args.allow_emulated or target.dry_run):
            raise RuntimeError(f"Cairn's CUDA backend is on the emulated device "
                               f"({servers['cairn'].ready.get('device_note', '')}); "
                               f"--allow-emulated to time it anyway")

        with tempfile.TemporaryDirectory() as tmp:
            srv_dirs = {}
            for fw, srv in servers.items():
                srv_dirs[fw] = tmp if fw == "cairn" else os.path.join(tmp, fw)
                srv.ask(f"save {srv_dirs[fw]}")
            variant_dirs = [(fw[len("cairn_"):], d) for fw, d in srv_dirs.items() if fw != "cairn"]
            t_run, t_reset, t_vals = torch_side(kind, case_dir, config, batches, mode, labels,
                                                target)
            j_run, j_vals, jinfo = jax_side(kind, case_dir, config, batches, mode, labels, target)
            rec["compile"]["jax"] = jinfo
            tf_cols = {}  # TF column -> (run, reset, check values)
            for fw in [f for f in fws if f in TF_COLUMNS]:
                # A TF failure (a model it lacks, an op it refuses) drops its
                # column for this workload only, and is listed under Failures.
                try:
                    f_run, f_reset, f_vals, finfo = tf_side(kind, case_dir, config, batches,
                                                            mode, labels, xla=fw == TF_XLA)
                    rec["compile"][fw] = finfo
                    tf_cols[fw] = (f_run, f_reset, f_vals)
                except Exception as e:  # noqa: BLE001
                    rec.setdefault("peer_errors", {})[fw] = repr(e)[:400]
                    print(f"  {workload} {mode}: {FW_TITLES[fw]} failed: {e!r}", flush=True)
                    fws = tuple(f for f in fws if f != fw)
                    rec["frameworks"] = list(fws)
            checks = []
            for k in range(len(batches)):  # a whole pass: Cairn's results in <dir>/<k>/
                sub = (lambda d: os.path.join(d, str(k))) if pass_info else (lambda d: d)
                vdirs = [(label, sub(d)) for label, d in variant_dirs]
                f_k = {fw: c[2][k] for fw, c in tf_cols.items()}
                checks.append(check_forward(config, sub(tmp), t_vals[k], j_vals[k], vdirs, f_k)
                              if mode == "forward" else
                              check_train(sub(tmp), t_vals[k], j_vals[k], vdirs, f_k))
            rec["check"] = merge_checks(checks)

        def once(fw):
            # A whole pass: every batch in turn, the time the sum of the
            # batches' (a training step's reset between batches, as between
            # repetitions, outside it); Cairn's server does the same.
            if fw in servers:
                r = servers[fw].ask("run 1")
                if fw == "cairn" and "gemm_flops" in r:
                    rec["gemm_flops"] = r["gemm_flops"]
                return r["ms"][0]
            total = 0.0
            run_fn, reset_fn = {"torch": (t_run, t_reset), "jax": (j_run, None)}.get(fw) or \
                tf_cols[fw][:2]
            for k in range(len(batches)):
                if reset_fn:
                    reset_fn()  # torch, TF: the exported parameters, a fresh Adam state
                target.sync()  # nothing of torch's still queued (the reset's copies)
                t0 = time.perf_counter()
                run_fn(k)  # JAX: block_until_ready inside; TF: returns when done
                if fw == "torch":
                    target.sync()
                total += 1e3 * (time.perf_counter() - t0)
            return total

        # A whole pass's check pass above ran every batch once in each
        # framework (JAX compiled every distinct shape there): it is the
        # warm-up; --pass-warmup adds untimed whole passes.
        warmup, min_reps = ((args.pass_warmup, args.pass_min_reps) if pass_info
                            else (args.warmup, args.min_reps))
        round_ms = 0.0
        for w in range(warmup):
            round_ms = sum(once(fw) for fw in fws)
        if warmup == 0:
            # The peers' warm-up was the check pass; Cairn's `save` ran on
            # fresh contexts, so one untimed pass on its serving context.
            for fw in servers:
                once(fw)
            round_ms = float("inf")  # reps: min_reps
        reps = int(min(args.max_reps, max(min_reps, 1e3 * args.budget / max(round_ms, 1e-3))))
        times = {fw: [] for fw in fws}
        n = len(fws)
        for r in range(reps):
            if r >= 1 and args.deadline and time.time() > args.deadline:
                rec["cut_short"] = f"{r} of {reps} rounds (--deadline)"
                break
            order = fws[r % n:] + fws[:r % n]
            for fw in order:
                times[fw].append(once(fw))
        rec["time"] = {fw: stats(times[fw]) for fw in fws}
        c = rec["time"]["cairn"]["median"]
        rec["ratio"] = {fw: rec["time"][fw]["median"] / c for fw in fws if fw != "cairn"}
        if pass_info:
            rec["examples_per_s"] = {fw: pass_info["examples"] / (rec["time"][fw]["median"] * 1e-3)
                                     for fw in fws}
        if rec.get("gemm_flops"):
            rec["cairn_gflops"] = rec["gemm_flops"] / (c * 1e-3) / 1e9
        rec["profile"] = servers["cairn"].ask("profile")
        if target.cuda:
            rec["profiles"] = {fw: (rec["profile"] if fw == "cairn" else srv.ask("profile"))
                               for fw, srv in servers.items()}
    finally:
        for srv in servers.values():
            srv.close()
    return rec


def child_main(args):
    threads = args.child_threads
    import numpy as np  # noqa: F401
    import torch
    import jax
    cuda = args.device == "cuda"
    if cuda:
        # Full float32 in both peers (Cairn has no TF32), so the checks against
        # Cairn's outputs stay as tight as on the CPU.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        try:
            jax.config.update("jax_default_matmul_precision", "highest")
        except (AttributeError, KeyError, ValueError) as e:  # a JAX without the option
            print(f"bench.py: warning: JAX matmul precision not set ({e!r}): its checks may "
                  "show TF32's error", flush=True)
    else:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    if args.flush_denormals:
        torch.set_flush_denormal(True)
    tf_version, tf_note = None, None
    if cuda:
        tf_note = "TensorFlow: not in the CUDA mode (tensorflow-cpu)"
    elif args.no_tf:
        tf_note = "TensorFlow: skipped (--no-tf)"
    else:
        try:
            import tensorflow as tf
            # Before any op runs (the runtime fixes its pools at the first):
            # intra-op N, inter-op 1; the process is already pinned to N CPUs.
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
            tf_version = tf.__version__
            active_peers.append(TF)
            if args.tf_xla:
                active_peers.append(TF_XLA)
        except ImportError as e:
            tf_note = (f"TensorFlow: not installed ({e}): the TF column is skipped "
                       "(CAIRN_PEERS_TF=1 bench/peers/setup_venv.sh installs it)")
    if tf_note:
        print(f"bench.py: {tf_note}", flush=True)
    target = Target(args.device, args.cuda_dry_run)
    sys.path.insert(0, os.path.join(root, "bench", "reference"))
    sys.path.insert(0, here)
    import warnings
    warnings.filterwarnings("ignore", message=".*donated buffers.*")

    out = {"device": args.device, "threads": threads,
           "affinity": sorted(os.sched_getaffinity(0)),
           "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
           "jax": jax.__version__, "xla_flags": os.environ.get("XLA_FLAGS", ""),
           "tensorflow": tf_version, "tensorflow_note": tf_note,
           "tf_onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
           "flush_denormals": args.flush_denormals,
           "variants": {label: " ".join(flags) for label, flags in args.variants},
           "cairn_flags": " ".join(args.cairn_flags),
           "results": [], "errors": []}
    peak_cmd = [args.exe, "peak"]
    if cuda:
        out["cuda_dry_run"] = args.cuda_dry_run
        out["torch_device"] = str(target.torch_device)
        out["jax_device"] = str(target.jax_device)
        if not args.cuda_dry_run:
            out["gpu"] = torch.cuda.get_device_name(0)
            out["torch_cuda"] = torch.version.cuda
            out["cudnn"] = torch.backends.cudnn.version()
        peak_cmd += ["--backend", "cuda"]
    else:
        peak_cmd += ["--threads", str(threads)]
    peak = subprocess.run(peak_cmd, check=True, capture_output=True, text=True)
    out["peak"] = json.loads(peak.stdout)
    load0 = os.getloadavg()[0]
    tag = f"[{args.device}]" if cuda else f"[threads {threads}]"
    where = f" on {out['peak'].get('device', '?')}" if cuda else ""
    print(f"{tag} sgemm peak{where} {out['peak']['peak_gflops']:.1f} GFLOP/s", flush=True)
    if cuda and out["peak"].get("emulated") and not (args.allow_emulated or args.cuda_dry_run):
        raise SystemExit(f"bench.py: --device cuda: Cairn's device is the emulated one "
                         f"({out['peak'].get('device_note', '')}); --allow-emulated to go on")
    for spec in args.child_specs:
        workload, mode = spec.split(":")
        if args.deadline and time.time() > args.deadline:
            out["errors"].append({"workload": workload, "mode": mode,
                                  "error": "skipped: past --deadline"})
            print(f"{tag} {workload} {mode}: skipped (past --deadline)", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            rec = bench_one(args, workload, mode, threads, args.cases, target)
        except Exception as e:  # one broken workload must not lose the others
            out["errors"].append({"workload": workload, "mode": mode, "error": repr(e)})
            print(f"{tag} {workload} {mode}: FAILED: {e!r}", flush=True)
            continue
        out["results"].append(rec)
        t = rec["time"]
        if rec.get("pass"):
            print(f"{tag} {workload} {mode}: whole pass of {rec['pass']['examples']} examples, "
                  f"{rec['pass']['batches']} batches ({rec['pass']['distinct_shapes']} shapes)",
                  flush=True)
        cols = [f"cairn {t['cairn']['median']:9.2f} ms"]
        cols += [f"{fw} {t[fw]['median']:9.2f} ms ({rec['ratio'][fw]:5.2f}x)"
                 for fw in rec["frameworks"] if fw != "cairn"]
        print(f"{tag} {workload:16} {mode:7} " + "  ".join(cols) +
              f"  n={t['cairn']['n']}  [{time.perf_counter() - t0:.0f} s]", flush=True)
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
    var = [v for k, v in c.items() if k.startswith("variant_") and k.endswith("_rel")]
    var_ints = [v for k, v in c.items() if k.startswith("variant_") and k.endswith("_differ")]
    var_s = ""
    if var or var_ints:
        var_s = f"; Cairn variants {max(var):.0e}" if var else "; Cairn variants"
        if var_ints:
            var_s += f" ({sum(var_ints)} moves differ)" if sum(var_ints) else " (moves equal)"
    tfs = [fw for fw in TF_COLUMNS if f"{fw}_loss_rel" in c]
    if r["mode"] == "train":
        tf_l = "".join(f" / {c[f'{fw}_loss_rel']:.0e}" for fw in tfs)
        tf_n = "".join(f" / {c[f'{fw}_grad_norm_rel']:.0e}" for fw in tfs)
        return (f"loss {c['torch_loss_rel']:.0e} / {c['jax_loss_rel']:.0e}{tf_l}, "
                f"norm {c['torch_grad_norm_rel']:.0e} / {c['jax_grad_norm_rel']:.0e}{tf_n}" +
                var_s)
    parts = []

    def owns(fw, k):  # "tf_" is also tf_xla's prefix
        return k.startswith(fw + "_") and not (fw == TF and k.startswith(TF_XLA + "_"))
    tf_fws = tuple(fw for fw in TF_COLUMNS if any(owns(fw, k) for k in c))
    for fw in ("torch", "jax") + tf_fws:
        vals = [v for k, v in c.items() if owns(fw, k) and k.endswith("_rel")]
        ints = [v for k, v in c.items() if owns(fw, k) and k.endswith("_differ")]
        s = f"{max(vals):.0e}" if vals else "-"
        if ints:
            s += f" ({sum(ints)} moves differ)" if sum(ints) else " (moves equal)"
        parts.append(s)
    return " / ".join(parts) + var_s


def fmt_batch(r):
    """The batch's shape, for people: SNLI pairs x tokens (steps), or batch x
    length; a percentile batch: which, and its lengths; a whole pass: its size."""
    if r.get("pass"):
        p = r["pass"]
        unit = "pairs" if r["kind"] == "spinn_snli" else "trees"
        return (f"{p['examples']} {unit}, {p['batches']} batches of <= {p.get('batch', '?')} "
                f"({p['distinct_shapes']} shapes)")
    d = r.get("data", {})
    note = ""
    if "percentile" in d:
        lo, med, hi = d["batch_lengths"]
        note = (f" (p{d['percentile']:g} length {d['percentile_length']}; "
                f"batch lengths {lo}-{hi}, median {med})")
    return fmt_shape(r) + note


def fmt_shape(r):
    sh = r["shapes"]
    tok = sh["tokens"]
    if r["kind"] == "spinn_snli":
        steps = sh["transitions"][2] if "transitions" in sh else 2 * tok[2] - 1
        return f"{tok[1]} pairs, N {tok[2]}, T {steps}"
    if r["kind"] == "treelstm_sst":
        return f"{tok[0]} trees, N {tok[1]}, T {sh['transitions'][1]}"
    return f"{tok[0]} x {tok[1]}"


FW_TITLES = {"cairn": "Cairn", "torch": "PyTorch eager", "jax": "JAX jit", TF: "TF function",
             TF_XLA: "TF XLA"}
RATIO_TITLES = {"torch": "torch / Cairn", "jax": "JAX / Cairn", TF: "TF / Cairn",
                TF_XLA: "TF XLA / Cairn"}


def fw_title(fw):
    return FW_TITLES.get(fw) or f"Cairn {fw[len('cairn_'):]}"


def ratio_title(fw):
    return RATIO_TITLES.get(fw) or f"{fw[len('cairn_'):]} / Cairn"


def fmt_s(ms):
    """Milliseconds as seconds with about three significant digits."""
    s = ms / 1e3
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def check_title(fws):
    return "check vs Cairn (torch / JAX" + "".join(
        f" / {FW_TITLES[fw]}" for fw in TF_COLUMNS if fw in fws) + ")"


def markdown_passes(passes, fws, ratio_order, cuda):
    """The whole-pass table: seconds per pass (median [min-max]: a few
    passes only), examples per second, ratios."""
    lines = ["### Whole passes over the dev sets (every length bucket in order)\n",
             "Seconds per pass: median [min-max] over the timed passes; examples/s = the "
             "file's examples / the median; ratio = peer median / Cairn median (> 1: Cairn "
             "faster). A pass is every batch once; its time the sum of the batches' times. "
             "Train: each batch's step is the first step from the exported parameters and a "
             "fresh Adam state (reset between batches outside the timing), not a sequence.\n"]
    head = ["workload", "data", "mode"] + ([] if cuda else ["threads"])
    head += [f"{fw_title(fw)} s" for fw in fws] + [f"{fw_title(fw)} ex/s" for fw in fws]
    head += [ratio_title(fw) for fw in ratio_order] + ["passes", check_title(fws)]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + " --- |" * len(head))
    for r in passes:
        t = r["time"]
        row = [r["workload"], fmt_batch(r), r["mode"]] + ([] if cuda else [str(r["threads"])])
        row += [f"{fmt_s(t[fw]['median'])} [{fmt_s(t[fw]['min'])}-{fmt_s(t[fw]['max'])}]"
                if fw in t else "-" for fw in fws]
        row += [f"{r['examples_per_s'][fw]:.0f}" if fw in t else "-" for fw in fws]
        row += [f"{r['ratio'][fw]:.2f}" if fw in r["ratio"] else "-" for fw in ratio_order]
        row += [str(t["cairn"]["n"]) + (" (deadline)" if r.get("cut_short") else ""),
                fmt_check(r) + " (worst batch)"]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return lines


def fmt_tf_compile(c):
    if not c:
        return " - | - |"
    shapes = f" ({c['shapes']} shapes)" if c.get("shapes", 1) > 1 else ""
    return f" {c['trace_ms']:.0f} | {c.get('first_call_ms', 0):.0f}{shapes} |"


def markdown(all_out, info, specs):
    cuda = all_out[0].get("device") == "cuda"
    recs = sorted((r for o in all_out for r in o["results"]),
                  key=lambda r: (order_key(r, specs), r["threads"]))
    # The columns: Cairn, its variants (in the order asked), the peers.
    fws = ["cairn"]
    for label in all_out[0].get("variants", {}):
        if any(f"cairn_{label}" in r["time"] for r in recs):
            fws.append(f"cairn_{label}")
    fws += list(PEERS)
    tf_fws = [fw for fw in TF_COLUMNS if any(fw in r["time"] for r in recs)]
    has_tf = bool(tf_fws)
    fws += tf_fws
    others = [fw for fw in fws if fw != "cairn"]
    ratio_order = list(PEERS) + tf_fws + \
        [fw for fw in others if fw not in PEERS and fw not in TF_COLUMNS]

    lines = []
    if cuda:
        o0 = all_out[0]
        lines.append(f"Device: Cairn's CUDA backend on {o0['peak'].get('device', '?')}; PyTorch on "
                     f"{o0.get('gpu', o0.get('torch_device'))}; JAX on {o0.get('jax_device')}"
                     + (" (dry run: the peers on the CPU)" if o0.get("cuda_dry_run") else "") + ".")
        for label, flags in o0.get("variants", {}).items():
            lines.append(f"Cairn {label}: `serve --backend cuda {flags}`.")
        lines.append("")
    passes = [r for r in recs if r.get("pass")]
    if passes:
        lines += markdown_passes(passes, fws, ratio_order, cuda)
    recs_one = [r for r in recs if not r.get("pass")]
    if recs_one:
        lines.append("### Time per run (ms: median [p25-p75]; ratio = peer median / Cairn median, "
                     "> 1: Cairn faster)\n")
        head = ["workload", "batch", "mode"] + ([] if cuda else ["threads"])
        head += [fw_title(fw) for fw in fws] + [ratio_title(fw) for fw in ratio_order]
        head += ["reps", check_title(fws)]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + " --- |" * len(head))
    for r in recs_one:
        t = r["time"]
        row = [r["workload"], fmt_batch(r), r["mode"]] + ([] if cuda else [str(r["threads"])])
        row += [fmt_t(t[fw]) if fw in t else "-" for fw in fws]
        row += [f"{r['ratio'][fw]:.2f}" if fw in r["ratio"] else "-" for fw in ratio_order]
        row += [str(t["cairn"]["n"]) + (" (deadline)" if r.get("cut_short") else ""),
                fmt_check(r)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("\nChecks, before timing, on the same inputs and parameters: forward: "
                 "max|peer - Cairn| / max|Cairn| of the logits (predicted SPINN: and how many of "
                 "the moves taken differ); train: the relative difference of the first step's "
                 "loss and of its gradient's global norm (before clipping).\n")
    if cuda:
        lines.append("On the GPU, Cairn's time is one `DeviceExecutable::run` from host tensors to "
                     "host tensors: the parameters (and a training step's optimizer state) go up "
                     "and the results come down in every run (MB per run below); PyTorch's "
                     "parameters stay on the GPU and its inputs go up per run; JAX's arrays are "
                     "on the GPU before the call. TF32 is off in PyTorch and JAX.\n")

    lines.append("### Compile time (ms)\n")
    if has_tf:
        lines.append("TF: the tf.function's trace (get_concrete_function; one graph for every "
                     "shape) and its first call (graph optimizations and one run); TF XLA "
                     "(jit_compile=True): the first call of each distinct shape summed (XLA "
                     "compiles per shape).\n")
    lines.append("| workload | mode | " + ("" if cuda else "threads | ") +
                 "Cairn gradient + train step built | Cairn compile "
                 "| Cairn IR to runnable | JAX trace (lower) | JAX compile | JAX total |" +
                 "".join(f" {FW_TITLES[fw]} trace | {FW_TITLES[fw]} first call |"
                         for fw in tf_fws))
    lines.append("| --- | --- | " + ("" if cuda else "--- | ") +
                 "--- | --- | --- | --- | --- | --- |" + " --- | --- |" * len(tf_fws))
    for r in recs:
        c, j = r["compile"]["cairn"], r["compile"].get("jax", {})
        lines.append(f"| {r['workload']} | {r['mode']} | " +
                     ("" if cuda else f"{r['threads']} | ") +
                     f"{c['build_ms']:.0f} | {c['compile_ms']:.0f} | {c['ir_to_runnable_ms']:.0f} | "
                     f"{j.get('trace_ms', 0):.0f} | {j.get('compile_ms', 0):.0f} | "
                     f"{j.get('trace_ms', 0) + j.get('compile_ms', 0):.0f}"
                     f"{' (' + str(j['shapes']) + ' shapes)' if j.get('shapes', 1) > 1 else ''} |" +
                     "".join(fmt_tf_compile(r["compile"].get(fw)) for fw in tf_fws))

    if cuda:
        lines += markdown_device(all_out, recs)
    else:
        lines += markdown_roofline(all_out, recs)
    errs = [e for o in all_out for e in o["errors"]]
    errs += [{"workload": r["workload"], "mode": r["mode"], "threads": r["threads"],
              "error": f"Cairn {label}: {e}"}
             for r in recs for label, e in r.get("variant_errors", {}).items()]
    errs += [{"workload": r["workload"], "mode": r["mode"], "threads": r["threads"],
              "error": f"{FW_TITLES.get(fw, fw)}: {e}"}
             for r in recs for fw, e in r.get("peer_errors", {}).items()]
    if errs:
        lines.append("\n### Failures\n")
        for e in errs:
            where = "" if cuda else f"threads {e.get('threads', '?')}: "
            lines.append(f"- {where}{e['workload']} {e['mode']}: {e['error']}")
    o0 = all_out[0]
    if cuda:
        loads = f"{o0['loadavg'][0]} -> {o0['loadavg'][1]}"
    else:
        loads = ", ".join(f"{o['threads']} threads: {o['loadavg'][0]} -> {o['loadavg'][1]}"
                          for o in all_out)
    lines.append(f"\nLoad average (1 min) at the start and end of each child: {loads}.")
    gpu = (f"GPU {o0.get('gpu', '?')} (torch CUDA {o0.get('torch_cuda')}, cuDNN "
           f"{o0.get('cudnn')}); " if cuda else "")
    lines.append(f"\nMachine: {gpu}{info.get('Model name', '?')}, {info.get('CPU(s)', '?')} CPUs "
                 f"({info.get('Flags', '')}); {o0['peak']['blas']}; PyTorch {o0['torch']}, "
                 f"JAX {o0['jax']}, "
                 + (f"TensorFlow {o0['tensorflow']} (oneDNN {o0.get('tf_onednn')}), "
                    if o0.get("tensorflow") else "")
                 + f"Python {info['python']}.")
    notes = sorted({o["tensorflow_note"] for o in all_out if o.get("tensorflow_note")})
    for note in notes:
        lines.append(f"\n{note}.")
    return "\n".join(lines) + "\n"


def markdown_roofline(all_out, recs):
    lines = []
    lines.append("\n### Roofline: sgemm through Cairn's GEMM (the library the Machine line names for f32)\n")
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
        name = r["workload"] + (" (pass; profile: batch 0)" if r.get("pass") else "")
        lines.append(f"| {name} | {r['mode']} | {r['threads']} | "
                     f"{r['gemm_flops'] / 1e9:.3f} | {r['cairn_gflops']:.1f} | "
                     f"{100 * r['cairn_gflops'] / peaks[r['threads']]:.0f}% | "
                     f"{100 * gemm / total:.0f}% | {top} |")
    return lines


def markdown_device(all_out, recs):
    """The device sgemm peak, and what one run of each Cairn column did on
    the device (DeviceStats of its fastest profiled run)."""
    lines = []
    p = all_out[0]["peak"]
    lines.append(f"\n### sgemm through Cairn's Device::gemm ({p.get('blas', '?')}, "
                 f"{p.get('device', '?')})\n")
    lines.append("| " + " | ".join(f"{s['m']}x{s['k']} @ {s['k']}x{s['n']}" for s in p["shapes"]) +
                 " |")
    lines.append("|" + " --- |" * len(p["shapes"]))
    lines.append("| " + " | ".join(f"{s['gflops']:.0f} GFLOP/s ({s['us']:.1f} us)"
                                   for s in p["shapes"]) + " |")
    lines.append("\n### Cairn on the device: one run\n")
    lines.append("Kernel and row launches, GEMMs, ops run on the host (by op), condition reads "
                 "(host-synchronized loop decisions), recorded-loop launches, the loops not "
                 "recorded (why, when first met), MB copied to the device and back per run, "
                 "and the best of 3 runs.\n")
    lines.append("| workload | mode | Cairn | ms | kernels | row | GEMMs | host ops | "
                 "condition reads | graph launches | loops on the host (why) | MB up | MB down |")
    lines.append("|" + " --- |" * 13)
    for r in recs:
        for fw, prof in r.get("profiles", {}).items():
            d = prof.get("device_stats", {})
            if not d:
                continue
            by = ", ".join(f"{k} {v}" for k, v in
                           sorted(d.get("host_ops_by_name", {}).items(), key=lambda kv: -kv[1]))
            why = ", ".join(f"{k} ({v})" for k, v in prof.get("host_loops_seen", {}).items())
            lines.append(f"| {r['workload']} | {r['mode']} | {fw_title(fw)} | "
                         f"{prof.get('total_ms', 0):.2f} | {d['kernel_launches']} | "
                         f"{d['row_launches']} | {d['gemm_calls']} | {d['host_ops']}"
                         f"{' (' + by + ')' if by else ''} | {d['condition_reads']} | "
                         f"{d['graph_launches']} | {why or '-'} | "
                         f"{d['bytes_to_device'] / 1e6:.1f} | {d['bytes_to_host'] / 1e6:.1f} |")
    return lines


def order_key(r, specs):
    k = f"{r['workload']}:{r['mode']}"
    return specs.index(k) if k in specs else len(specs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cpu: Cairn's compiled executor, PyTorch and JAX on the CPU, per thread "
                         "count; cuda: Cairn's CUDA backend, PyTorch CUDA and JAX on the GPU "
                         "(one child, --threads ignored)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (cpu)")
    ap.add_argument("--workload", action="append", default=[],
                    help="NAME or NAME:MODE (default: the workload set; `cairn-peer-bench list`)")
    ap.add_argument("--workload-set", choices=sorted(WORKLOAD_SETS), default=None,
                    help="default: every workload (the CPU comparison); gpu: SPINN b128 and "
                         "b512, TreeLSTM b128, BiLSTM / BiGRU b64, forward and train (default "
                         "with --device cuda); data: the whole passes over the dev sets and the "
                         "p50 / p90 batches")
    ap.add_argument("--budget", type=float, default=15.0,
                    help="seconds of timed rounds per workload and mode (approximate)")
    ap.add_argument("--min-reps", type=int, default=7)
    ap.add_argument("--max-reps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    ap.add_argument("--pass-min-reps", type=int, default=3,
                    help="whole-pass workloads (spinn_pi_dev, treelstm_sst_dev): timed passes "
                         "at least (a PyTorch training pass over SNLI dev takes minutes)")
    ap.add_argument("--pass-warmup", type=int, default=0,
                    help="whole-pass workloads: untimed whole passes after the check pass (which "
                         "already runs every batch once in each framework: JAX compiles every "
                         "distinct bucket shape there) and Cairn's one untimed pass")
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
    ap.add_argument("--no-tf", action="store_true",
                    help="leave TensorFlow out even where it is installed")
    ap.add_argument("--tf-xla", action="store_true",
                    help="one more TensorFlow column: the same tf.functions with "
                         "jit_compile=True (XLA)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin the child to N CPUs (then JAX uses all cores at N = 1)")
    ap.add_argument("--no-loop-graphs", action="store_true",
                    help="cuda: Cairn's main column with every loop host-synchronized "
                         "(serve --no-loop-graphs)")
    ap.add_argument("--full-reduce", action="store_true",
                    help="Cairn's main column with serve --full-reduce (SPINN, TreeLSTM: the "
                         "Reduce over every row)")
    ap.add_argument("--cairn-variant", action="append", default=[], metavar="LABEL=FLAGS",
                    help="one more Cairn column: serve with FLAGS added, e.g. "
                         "'sync=--no-loop-graphs' or 'full=--full-reduce' (a variant with "
                         "--full-reduce runs on SPINN and TreeLSTM only)")
    ap.add_argument("--deadline", type=float, default=0,
                    help="seconds for the whole run: past it, timed rounds stop early and the "
                         "workloads left are skipped (the tables still come out); 0: none")
    ap.add_argument("--serve-timeout", type=float, default=600,
                    help="seconds a Cairn server may stay silent (compiling, or one command) "
                         "before it is killed and its workload fails")
    ap.add_argument("--allow-emulated", action="store_true",
                    help="cuda: time Cairn even when its device is the emulated one")
    ap.add_argument("--cuda-dry-run", action="store_true",
                    help="--device cuda's code path with PyTorch and JAX on the CPU and Cairn "
                         "on the device openDevice picks (the emulated one without a GPU): "
                         "checks the plumbing where there is no GPU; the times mean nothing")
    # The child's arguments.
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", help=argparse.SUPPRESS)
    ap.add_argument("--child-specs", nargs="*", help=argparse.SUPPRESS)
    ap.add_argument("--cases", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.variants = parse_variants(args.cairn_variant)
    args.cairn_flags = (["--no-loop-graphs"] if args.no_loop_graphs else []) + \
        (["--full-reduce"] if args.full_reduce else [])
    cuda = args.device == "cuda"
    if args.cuda_dry_run and not cuda:
        sys.exit("bench.py: --cuda-dry-run is for --device cuda")
    if not cuda and (args.no_loop_graphs or any("--no-loop-graphs" in f for _, f in args.variants)):
        sys.exit("bench.py: --no-loop-graphs is for --device cuda")

    CairnServer.TIMEOUT = args.serve_timeout
    if args.child:
        return child_main(args)
    if args.deadline:
        args.deadline = time.time() + args.deadline  # the children get the moment

    if not os.access(args.exe, os.X_OK):
        sys.exit(f"bench.py: no {args.exe}: build it (ninja -C build cairn-peer-bench)")
    workload_set = WORKLOAD_SETS[args.workload_set or ("gpu" if cuda else "default")]
    specs = []
    for w in args.workload:
        if ":" in w:
            specs.append(w)
        else:
            modes = [m for n, m in DEFAULT_WORKLOADS + GPU_WORKLOADS if n == w] or ["forward"]
            specs += [f"{w}:{m}" for m in dict.fromkeys(modes)]
    if not specs:
        specs = [f"{w}:{m}" for w, m in workload_set]
    info = machine_info(args.exe)
    all_out = []
    common_args = ["--exe", args.exe, "--device", args.device,
                   "--budget", str(args.budget), "--min-reps", str(args.min_reps),
                   "--max-reps", str(args.max_reps), "--warmup", str(args.warmup),
                   "--pass-min-reps", str(args.pass_min_reps),
                   "--pass-warmup", str(args.pass_warmup),
                   *(["--flush-denormals"] if args.flush_denormals else []),
                   *(["--no-tf"] if args.no_tf else []),
                   *(["--tf-xla"] if args.tf_xla else []),
                   *(["--no-loop-graphs"] if args.no_loop_graphs else []),
                   *(["--full-reduce"] if args.full_reduce else []),
                   *(["--allow-emulated"] if args.allow_emulated else []),
                   *(["--cuda-dry-run"] if args.cuda_dry_run else []),
                   *[f"--cairn-variant={v}" for v in args.cairn_variant],
                   *(["--deadline", repr(args.deadline)] if args.deadline else []),
                   "--serve-timeout", str(args.serve_timeout)]
    if args.data:
        common_args += ["--data", args.data]
    with tempfile.TemporaryDirectory(prefix="cairn-peers-") as cases:
        if cuda:
            # One child on the GPU: not pinned, no thread variables (threads
            # are not what is compared), JAX free to find its GPU; its
            # allocator must not take 75% of the GPU's memory from PyTorch
            # and Cairn.
            env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false",
                       TF_CPP_MIN_LOG_LEVEL="2")
            if args.cuda_dry_run:
                env["JAX_PLATFORMS"] = "cpu"
            out_file = os.path.join(cases, "cuda.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--child-threads", "0",
                   "--child-out", out_file, "--cases", cases, *common_args,
                   "--child-specs", *specs]
            subprocess.run(cmd, env=env, check=True)
            with open(out_file) as f:
                all_out.append(json.load(f))
        else:
            thread_counts = [int(t) for t in args.threads.split(",")]
            cpus = sorted(os.sched_getaffinity(0))
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
                cmd = [sys.executable, os.path.abspath(__file__), "--child", "--child-threads",
                       str(n), "--child-out", out_file, "--cases", cases, *common_args,
                       "--child-specs", *specs]
                pin = None if args.no_pin else set(cpus[:n])
                subprocess.run(cmd, env=env, check=True,
                               preexec_fn=(lambda: os.sched_setaffinity(0, pin)) if pin else None)
                with open(out_file) as f:
                    o = json.load(f)
                for e in o["errors"]:
                    e["threads"] = n
                all_out.append(o)

    md = markdown(all_out, info, specs)
    print()
    print(md)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "specs": specs, "runs": all_out}, f, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(md)
    return 1 if any(o["errors"] for o in all_out) else 0


if __name__ == "__main__":
    sys.exit(main())
