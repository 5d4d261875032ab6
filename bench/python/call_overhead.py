"""Overhead of calling a compiled Cairn function from Python with small inputs.

    PYTHONPATH=build/python python3 bench/python/call_overhead.py [--jax-python PY]

Times `cairn.jit(f)(x)` end to end (signature lookup, NumPy -> Tensor copy,
the executor's run with the GIL released, result array) for functions whose
own work is a few nanoseconds, against the same call made directly on the
compiled Executable and a plain NumPy call for scale, and beside it
`jax.jit` of the same `x + 1.0` (bench/python/jax_overhead.py, in this
interpreter when it has jax, else in the interpreter `--jax-python` or
$CAIRN_JAX_PYTHON names, default /work/venv-onnx/bin/python, as a
subprocess run right after, on the same machine). Prints microseconds per
call (median of repeats) and the CPU. Not a test: nothing here is asserted.
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import timeit

import numpy as np

import cairn


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def per_call_us(fn, number, repeat):
    fn()  # compile / warm up
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def jax_rows(python, number, repeat):
    """[(microseconds, name)] from jax_overhead.py, and its version line."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_overhead.py")
    try:
        import jax  # noqa: F401
        python = sys.executable
    except ImportError:
        if not python or not os.path.exists(python):
            return [], "jax: not installed here and no --jax-python (no side-by-side number)"
    out = subprocess.run([python, script, str(number), str(repeat)], capture_output=True,
                         text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    if out.returncode != 0:
        return [], f"jax: {python} failed: {out.stderr.strip().splitlines()[-1:]}"
    lines = out.stdout.strip().splitlines()
    rows = [(float(l.split(" ", 1)[0]), l.split(" ", 1)[1]) for l in lines[1:]]
    return rows, f"{lines[0]} ({python})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jax-python", default=os.environ.get("CAIRN_JAX_PYTHON",
                                                           "/work/venv-onnx/bin/python"))
    ap.add_argument("--number", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=7)
    args_ = ap.parse_args()
    x = np.ones(4, np.float32)
    w = np.ones((4, 4), np.float32)
    add = cairn.jit(lambda a: a + 1.0)
    affine = cairn.jit(lambda a, m: cairn.tanh(a @ m))
    loop = cairn.jit(lambda a: cairn.fori_loop(0, 3, lambda i, c: c * 2.0, a))

    traced = cairn.trace(lambda a: a + 1.0, cairn.f32[4], name="add")
    exe = traced.module._h.compile(0)
    args = [x]

    n, r = args_.number, args_.repeat
    fed_back = add(x)  # a result passed back in is not copied (python/src/Arrays.h)
    rows = [
        ("cairn.jit(x + 1)(numpy f32[4])", per_call_us(lambda: add(x), n, r)),
        ("cairn.jit(x + 1)(a cairn result, f32[4]: no copy in)",
         per_call_us(lambda: add(fed_back), n, r)),
        ("cairn.jit(tanh(x @ w)), f32[4], f32[4x4]", per_call_us(lambda: affine(x, w), n, r)),
        ("cairn.jit(3-trip while loop), f32[4]", per_call_us(lambda: loop(x), n, r)),
        ("Executable.run directly (no jit cache)", per_call_us(lambda: exe.run("add", args), n, r)),
        ("numpy x + 1 (for scale)", per_call_us(lambda: x + 1.0, n, r)),
    ]
    print(f"CPU: {cpu_name()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; "
          f"numpy {np.__version__}; load average {os.getloadavg()[0]:.2f}")
    for name, us in rows:
        print(f"{us:8.2f} us/call  {name}")
    jrows, version = jax_rows(args_.jax_python, n, r)
    print(version)
    for us, name in jrows:
        print(f"{us:8.2f} us/call  {name}")


if __name__ == "__main__":
    main()
