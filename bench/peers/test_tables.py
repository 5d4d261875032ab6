#!/usr/bin/env python3
"""bench.py's tables with and without the TensorFlow columns, on made-up
results (stdlib only: no torch, JAX or TensorFlow needed). Run by smoke.sh
(ctest peer_bench_smoke): the TF columns appear only where a result has
them, the older columns keep their places, a TF failure is listed, and the
"not installed" note is printed.

  python3 bench/peers/test_tables.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def stat(ms):
    return {"median": ms, "p25": ms, "p75": ms, "min": ms, "max": ms, "n": 5, "samples": [ms]}


def record(workload, mode, times, check, compile_extra=None, peer_errors=None):
    r = {"workload": workload, "mode": mode, "threads": 1, "kind": "birnn_classify",
         "shapes": {"tokens": [64, 35], "lengths": [64]}, "data": {},
         "time": {fw: stat(ms) for fw, ms in times.items()},
         "ratio": {fw: ms / times["cairn"] for fw, ms in times.items() if fw != "cairn"},
         "check": check,
         "compile": {"cairn": {"build_ms": 1, "compile_ms": 2, "ir_to_runnable_ms": 3},
                     "jax": {"trace_ms": 4, "compile_ms": 5}, **(compile_extra or {})}}
    if peer_errors:
        r["peer_errors"] = peer_errors
    return r


def child(results, note=None, version=None):
    return {"device": "cpu", "threads": 1, "results": results, "errors": [], "loadavg": [0, 0],
            "torch": "2.5.1", "jax": "0.10.2", "tensorflow": version, "tensorflow_note": note,
            "tf_onednn": "default (on)",
            "peak": {"peak_gflops": 100.0, "blas": "OpenBLAS test",
                     "shapes": [{"m": 1, "k": 1, "n": 1, "gflops": 1.0}]}}


def expect(cond, what):
    if not cond:
        sys.exit(f"test_tables: {what}")


def main():
    info = {"python": "3.11", "Model name": "test CPU", "CPU(s)": "2"}
    fwd_check = {"torch_logits_rel": 1e-7, "jax_logits_rel": 2e-7}

    # No TensorFlow: the columns of before, and the note.
    md = bench.markdown([child([record("bilstm_b64", "forward",
                                       {"cairn": 10.0, "torch": 20.0, "jax": 15.0}, fwd_check)],
                               note="TensorFlow: not installed (x): the TF column is skipped")],
                        info, ["bilstm_b64:forward"])
    expect("TF function" not in md and "TF / Cairn" not in md, "a TF column without TF")
    expect("| Cairn | PyTorch eager | JAX jit | torch / Cairn | JAX / Cairn | reps |" in md,
           "the columns without TF changed")
    expect("| 10.00 [10.00-10.00] | 20.00 [20.00-20.00] | 15.00 [15.00-15.00] | 2.00 | 1.50 |"
           in md, "the row without TF")
    expect("TensorFlow: not installed (x): the TF column is skipped." in md, "no note")

    # TF and TF XLA: appended after JAX, ratios after JAX's; a workload where
    # TF failed keeps its other columns and lists the failure.
    tf_check = {**fwd_check, "tf_logits_rel": 3e-7, "tf_xla_logits_rel": 4e-7}
    train_check = {"cairn_loss": 1.0, "cairn_grad_norm": 2.0, "torch_loss_rel": 0.0,
                   "torch_grad_norm_rel": 0.0, "jax_loss_rel": 0.0, "jax_grad_norm_rel": 0.0}
    recs = [record("bilstm_b64", "forward",
                   {"cairn": 10.0, "torch": 20.0, "jax": 15.0, "tf": 30.0, "tf_xla": 12.0},
                   tf_check, {"tf": {"trace_ms": 100, "first_call_ms": 50},
                              "tf_xla": {"trace_ms": 90, "first_call_ms": 700, "shapes": 3}}),
            record("bilstm_b64", "train", {"cairn": 40.0, "torch": 80.0, "jax": 60.0},
                   train_check, peer_errors={"tf": "ValueError('no')"})]
    md = bench.markdown([child(recs, version="2.21.0")], info,
                        ["bilstm_b64:forward", "bilstm_b64:train"])
    expect("| Cairn | PyTorch eager | JAX jit | TF function | TF XLA | torch / Cairn | JAX / Cairn "
           "| TF / Cairn | TF XLA / Cairn | reps | check vs Cairn (torch / JAX / TF function / "
           "TF XLA) |" in md, "the TF columns")
    expect("| 30.00 [30.00-30.00] | 12.00 [12.00-12.00] | 2.00 | 1.50 | 3.00 | 1.20 |" in md,
           "the TF times and ratios")
    expect("1e-07 / 2e-07 / 3e-07 / 4e-07" in md, "the TF checks")
    expect("| - | - | 2.00 | 1.50 | - | - |" in md, "the failed TF workload's row")
    expect("bilstm_b64 train: TF function: ValueError('no')" in md, "the TF failure")
    expect("| 100 | 50 | 90 | 700 (3 shapes) |" in md, "the TF compile columns")
    expect("TensorFlow 2.21.0" in md, "the TF version")
    print("test_tables: ok")


if __name__ == "__main__":
    main()
