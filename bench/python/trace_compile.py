"""Building + differentiating + compiling SPINN's training step (loss,
gradient through the loop, Adam as IR): the Python front-end
(examples/python/spinn_model.py traced by cairn) against the C++ builder
(frontend/models/Spinn.h), both ending in the same buildGradient,
buildTrainStep and compileExecutable.

    PYTHONPATH=build/python python3 bench/python/trace_compile.py

Each measurement runs in a fresh process (the JIT caches kernels by
structure within a process, and the disk cache is turned off), alternating
the two paths; prints the median of the runs in milliseconds and the CPU.
"""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def one(path):
    os.environ["CAIRN_CACHE_DIR"] = ""
    import importlib.util

    import cairn

    spec = importlib.util.spec_from_file_location("spinn", os.path.join(ROOT, "examples/python/spinn_model.py"))
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    hidden, vocab = 64, 20
    t0 = time.perf_counter()
    if path == "cxx":
        f, params = cairn.models.spinn_tree_classifier(vocab=vocab, embed=hidden, hidden=hidden,
                                                       mlp_hidden=hidden, loss=True)
        module, name = f.module, f.name
    else:
        # Parameter names and shapes come from the C++ store, outside the timing.
        t_skip = time.perf_counter()
        _, params = cairn.models.spinn_tree_classifier(vocab=vocab, embed=hidden, hidden=hidden,
                                                       mlp_hidden=hidden)
        t0 += time.perf_counter() - t_skip
        names = list(params)
        data, _, loss = ex.make_functions(names, hidden)
        specs = data + [cairn.i32[None]] + [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]
        f = cairn.trace(loss, *specs, name="loss")
        module, name = f.module, f.name
    t1 = time.perf_counter()
    gname = module.grad(name, list(range(4, 4 + len(params))))
    cairn._cairn.build_train_step(module._h, gname, 4, list(params), "adam", {}, 1e-3, 0, None,
                                  "train_step")
    t2 = time.perf_counter()
    module.compile()
    t3 = time.perf_counter()
    print(f"{(t1 - t0) * 1e3:.2f} {(t2 - t1) * 1e3:.2f} {(t3 - t2) * 1e3:.2f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        return one(sys.argv[2])
    runs = {"cxx": [], "python": []}
    for _ in range(5):
        for path in runs:
            out = subprocess.run([sys.executable, __file__, "--one", path], capture_output=True,
                                 text=True, check=True).stdout.split()
            runs[path].append([float(x) for x in out])
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    print(f"CPU: {cpu}; SPINN tree classifier training step, hidden 64, median of 5 fresh "
          "processes (ms)")
    print(f"{'path':8} {'build':>8} {'grad+step':>10} {'compile':>8} {'total':>8}")
    for path, rs in runs.items():
        cols = [statistics.median(r[i] for r in rs) for i in range(3)]
        total = statistics.median(sum(r) for r in rs)
        print(f"{path:8} {cols[0]:8.1f} {cols[1]:10.1f} {cols[2]:8.1f} {total:8.1f}")


if __name__ == "__main__":
    main()
