"""The C++ models from Python, and the Python SPINN (examples/python/spinn_model.py)
against the C++ one: the same logits and gradients with the same parameters."""
import importlib.util
import os

import numpy as np
import pytest

import cairn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_example():
    path = os.path.join(ROOT, "examples", "python", "spinn_model.py")
    spec = importlib.util.spec_from_file_location("spinn_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def setup():
    corpus = cairn.models.listops(64, seed=3, max_length=20)
    _, params = cairn.models.spinn_tree_classifier(vocab=corpus.vocab_size, embed=8, hidden=8,
                                                   mlp_hidden=8, classes=corpus.classes, seed=3)
    return corpus, params


def test_listops_batches(setup):
    corpus, _ = setup
    assert len(corpus) == 64 and corpus.classes == 10
    tokens, transitions, lengths, labels = corpus.batch([0, 1, 2])
    assert tokens.dtype == np.int32 and tokens.shape[0] == 3
    assert transitions.shape == (3, 2 * tokens.shape[1] - 1)
    assert list(lengths) == [int((t != 0).sum()) for t in tokens]
    assert labels.min() >= 0 and labels.max() < 10
    with pytest.raises(IndexError):
        corpus.batch([64])


def test_python_spinn_matches_cpp(setup):
    corpus, params = setup
    ex = load_example()
    names = list(params)
    data, logits_fn, _ = ex.make_functions(names, 8)
    specs = data + [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]
    cxx, _ = cairn.models.spinn_tree_classifier(vocab=corpus.vocab_size, embed=8, hidden=8,
                                                mlp_hidden=8, classes=corpus.classes, seed=3)
    py = cairn.jit(logits_fn, specs=specs)
    py_interp = cairn.jit(logits_fn, specs=specs, backend="interpreter")
    for idx in ([0], list(range(16)), list(range(16, 40))):
        batch = corpus.batch(idx)[:3]
        want = cxx.interpret(*batch, *params.values())
        np.testing.assert_allclose(py(*batch, *params.values()), want, rtol=0, atol=1e-6)
        np.testing.assert_allclose(py_interp(*batch, *params.values()), want, rtol=0, atol=1e-6)


def test_python_spinn_gradients_match_cpp(setup):
    corpus, params = setup
    ex = load_example()
    names = list(params)
    data, _, loss_fn = ex.make_functions(names, 8)
    specs = data + [cairn.i32[None]] + [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]
    wrt = tuple(range(4, 4 + len(names)))
    (loss, acc), grads = cairn.value_and_grad(loss_fn, argnums=wrt, has_aux=True, specs=specs)(
        *corpus.batch(list(range(24))), *params.values())

    cxx, _ = cairn.models.spinn_tree_classifier(vocab=corpus.vocab_size, embed=8, hidden=8,
                                                mlp_hidden=8, classes=corpus.classes, seed=3,
                                                loss=True)
    gname = cxx.module.grad(cxx.name, list(wrt))
    out = cxx.module.interpret(gname, *corpus.batch(list(range(24))), *params.values())
    np.testing.assert_allclose(loss, out[0], rtol=1e-6)
    np.testing.assert_allclose(acc, out[1], rtol=1e-6)
    for name, g, want in zip(names, grads, out[2:]):
        np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6, err_msg=name)


def test_cpp_model_trains_from_python(setup):
    corpus, params = setup
    f, _ = cairn.models.spinn_tree_classifier(vocab=corpus.vocab_size, embed=8, hidden=8,
                                              mlp_hidden=8, classes=corpus.classes, seed=3,
                                              loss=True)
    gname = f.module.grad(f.name, list(range(4, 4 + len(params))))
    exe = f.module.compile()
    values = [v.copy() for v in params.values()]
    batch = corpus.batch(list(range(16)))
    losses = []
    for _ in range(30):
        out = exe.run(gname, *batch, *values)
        losses.append(float(out[0]))
        values = [v - 0.5 * g for v, g in zip(values, out[2:])]
    assert losses[-1] < losses[0] - 0.1, losses  # deterministic: 2.316 -> 2.169


DATA_DIR = os.environ.get("CAIRN_DATA_DIR") or os.path.join(os.path.dirname(ROOT), "shared", "data")


@pytest.mark.skipif(not cairn.models.golden_have_data(DATA_DIR),
                    reason="no SNLI/SST data in $CAIRN_DATA_DIR or ../shared/data")
@pytest.mark.parametrize("name, tracker", [("spinn_pi_notracker", 0), ("spinn_pi_tracker", 1)])
def test_python_snli_spinn_on_the_golden_batch(name, tracker):
    ex = load_example()
    case = cairn.models.golden_case(name, DATA_DIR)
    params, inputs = case["params"], list(case["inputs"].values())
    H = params["reduce.right.weight"].shape[0]
    T = params["tracker.cell.wh"].shape[0] if tracker else 0
    f = cairn.jit(lambda t, tr, ln, *ps: ex.snli_logits(t, tr, ln, dict(zip(params, ps)), H, T))
    ours = f(*inputs, *params.values())
    cxx = case["module"][case["function"]].interpret(*inputs, *params.values())
    torch = np.load(os.path.join(ROOT, "tests", "golden", name, "expected_0.npy"))
    np.testing.assert_allclose(ours, cxx, rtol=0, atol=1e-6)
    assert np.abs(ours - torch).max() / np.abs(torch).max() <= 1e-5


SPINN_RUN = ["--steps", "4", "--batch", "8", "--eval-every", "2", "--eval-examples", "24",
             "--hidden", "8", "--tracker", "4"]


def run_script(script, *flags):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python", script),
                          *flags], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def spinn_report():
    """examples/python/spinn.py's output on a tiny run (once for the module)."""
    return run_script("spinn.py", *SPINN_RUN, "--examples", "64")


def test_spinn_examples_run_end_to_end(spinn_report):
    assert "max |diff| = 0" in run_script("spinn_model.py", "--tracker", "4", "--hidden", "8")
    report = spinn_report
    assert "report:" in report and "held-out accuracy" in report
    assert report.count("eval: step") == 2
    assert "(24 examples): by root " in report and "[MAX" in report
    assert "longer/deeper" in report and "(24 examples: depth <= 5, 21-40 tokens)" in report


def cairn_train_binary():
    path = os.environ.get("CAIRN_TRAIN") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(cairn.__file__)))),
        "bin", "cairn-train")
    return path if os.path.isfile(path) else None


@pytest.mark.skipif(cairn_train_binary() is None, reason="cairn-train is not built")
def test_python_spinn_training_report_equals_cairn_train(spinn_report):
    """spinn.py (the Python SPINN, its loss traced from Python) and cairn-train
    (the C++ SPINN) on the same data, batches, parameters, optimizer and
    schedule: the same losses and accuracies in the report, to 4 digits
    (cairn-train on the reference interpreter, spinn.py compiled)."""
    import re
    import subprocess
    cxx = subprocess.run([cairn_train_binary(), *SPINN_RUN, "--max-examples", "64", "--embed",
                          "8", "--mlp-hidden", "8", "--decay-steps", "4",
                          "--backend", "interpreter"],  # the oracle; no compile: 0.2 s
                         capture_output=True,
                         text=True, timeout=300)
    assert cxx.returncode == 0, cxx.stdout + cxx.stderr

    def numbers(out):
        """The report without its times: curve rows and accuracy lines."""
        report = out[out.index("\nreport:"):]
        rows = [line.split() for line in report.splitlines()
                if re.match(r"\s+\d+\s+\d+:\d\d\s", line)]
        acc = [line.strip() for line in report.splitlines() if "accuracy" in line
               or "longer/deeper" in line]
        return [[r[0]] + r[2:] for r in rows], acc

    assert numbers(spinn_report) == numbers(cxx.stdout), spinn_report + cxx.stdout
    assert len(numbers(spinn_report)[0]) == 2


def test_safetensors_round_trip(tmp_path, setup):
    _, params = setup
    extra = {"flags": np.array([True, False]), "step": np.array(7, np.int64),
             "half": np.arange(4, dtype=np.float16)}
    cairn.models.save(tmp_path / "ckpt.safetensors", {**params, **extra}, {"step": 7})
    loaded, meta = cairn.models.load(tmp_path / "ckpt.safetensors")
    assert list(loaded) == list(params) + list(extra) and meta == {"step": "7"}
    for k, v in {**params, **extra}.items():
        assert loaded[k].dtype == v.dtype
        np.testing.assert_array_equal(loaded[k], v)
    (tmp_path / "bad.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{bad}")
    with pytest.raises(cairn.CairnError, match="bad.safetensors"):
        cairn.models.load(tmp_path / "bad.safetensors")


def test_load_corpus_files(tmp_path):
    f = tmp_path / "l.tsv"
    f.write_text("7\t( ( ( [MAX 1 ) 7 ) ] )\n1\t( ( ( [MIN 1 ) 3 ) ] )\n")
    c = cairn.models.load_corpus(f, "listops")
    assert len(c) == 2 and c.format == "listops" and c.classes == 10
    tokens, transitions, lengths, labels = c.batch([0, 1])
    assert list(labels) == [7, 1] and list(lengths) == [4, 4]
    with pytest.raises(cairn.CairnError):
        cairn.models.load_corpus(tmp_path / "missing.tsv", "listops")
    with pytest.raises(cairn.CairnError):
        cairn.models.load_corpus(f, "nope")


@pytest.mark.skipif(not cairn.models.golden_have_data(DATA_DIR), reason="no SNLI data")
def test_load_snli():
    c = cairn.models.load_corpus(os.path.join(DATA_DIR, "snli", "snli_1.0_dev.jsonl.gz"), "snli",
                                 limit=8)
    tokens, transitions, lengths, labels = c.batch(list(range(8)))
    assert tokens.shape[:2] == (2, 8) and transitions.shape[:2] == (2, 8) and labels.shape == (8,)


def test_listops_paper_preset():
    corpus = cairn.models.listops(400, seed=3, preset="paper")
    lengths = corpus.lengths()
    assert len(corpus) == 400 and max(lengths) <= 1000 and min(lengths) >= 4
    # Nesting at 0.25 at every depth reaches far past the default's 60 tokens.
    assert max(lengths) > 60
    shorter = cairn.models.listops(50, seed=3, preset="paper", max_length=30)
    assert max(shorter.lengths()) <= 30
    with pytest.raises(ValueError, match="unknown preset 'huge'"):
        cairn.models.listops(4, preset="huge")
