"""Overhead of calling a compiled Cairn function from Python with small inputs.

    PYTHONPATH=build/python python3 bench/python/call_overhead.py

Times `cairn.jit(f)(x)` end to end (signature lookup, NumPy -> Tensor copy,
the executor's run with the GIL released, result array) for functions whose
own work is a few nanoseconds, against the same call made directly on the
compiled Executable and a plain NumPy call for scale. Prints microseconds per
call (median of repeats) and the CPU. Not a test: nothing here is asserted.
"""
import platform
import statistics
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


def per_call_us(fn, number=20000, repeat=7):
    fn()  # compile / warm up
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def main():
    x = np.ones(4, np.float32)
    w = np.ones((4, 4), np.float32)
    add = cairn.jit(lambda a: a + 1.0)
    affine = cairn.jit(lambda a, m: cairn.tanh(a @ m))
    loop = cairn.jit(lambda a: cairn.fori_loop(0, 3, lambda i, c: c * 2.0, a))

    traced = cairn.trace(lambda a: a + 1.0, cairn.f32[4], name="add")
    exe = traced.module._h.compile(0)
    args = [x]

    rows = [
        ("jit(x + 1), x: f32[4]", per_call_us(lambda: add(x))),
        ("jit(tanh(x @ w)), f32[4], f32[4x4]", per_call_us(lambda: affine(x, w))),
        ("jit(3-trip while loop), f32[4]", per_call_us(lambda: loop(x))),
        ("Executable.run directly (no jit cache)", per_call_us(lambda: exe.run("add", args))),
        ("numpy x + 1 (for scale)", per_call_us(lambda: x + 1.0)),
    ]
    print(f"CPU: {cpu_name()}; Python {platform.python_version()}; numpy {np.__version__}")
    for name, us in rows:
        print(f"{us:8.2f} us/call  {name}")
    try:
        import jax  # noqa: F401
        print("jax is installed: compare with jax.jit on the same functions")
    except ImportError:
        print("jax: not installed (no side-by-side number)")


if __name__ == "__main__":
    main()
