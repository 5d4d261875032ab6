"""The jax.jit half of call_overhead.py: per-call time of jax.jit(lambda x:
x + 1.0) on f32[4], measured the same way (timeit, median of repeats).

    /work/venv-onnx/bin/python bench/python/jax_overhead.py

Runs in any interpreter with jax (call_overhead.py starts it as a
subprocess when its own interpreter lacks jax); prints one line per
variant, "<microseconds> <name>", for call_overhead.py to read. Not a test.
"""
import statistics
import sys
import timeit

import numpy as np


def per_call_us(fn, number, repeat):
    fn()  # compile / warm up
    times = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def main():
    number = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platforms", "cpu")
    add = jax.jit(lambda a: a + 1.0)
    x = np.ones(4, np.float32)
    xd = jnp.asarray(x)
    rows = [
        ("jax.jit(x + 1)(numpy f32[4]).block_until_ready()",
         per_call_us(lambda: add(x).block_until_ready(), number, repeat)),
        ("jax.jit(x + 1)(jax f32[4]).block_until_ready()",
         per_call_us(lambda: add(xd).block_until_ready(), number, repeat)),
        ("np.asarray(jax.jit(x + 1)(numpy f32[4])) (NumPy in and out, as cairn)",
         per_call_us(lambda: np.asarray(add(x)), number, repeat)),
    ]
    import jaxlib
    print(f"version jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
          f"Python {sys.version.split()[0]}, numpy {np.__version__}")
    for name, us in rows:
        print(f"{us:.3f} {name}")


if __name__ == "__main__":
    main()
