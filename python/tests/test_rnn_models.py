"""The recurrent C++ models from Python (BiLSTM/BiGRU, TreeLSTM sentiment) and
their Python versions (cairn.nn.birnn; SPINN's encoder + a linear layer):
the same logits as the C++ builders on the same parameters, a NumPy
reference, and, when the SNLI/SST data is present, PyTorch's logits and
gradients stored with the golden cases."""
import importlib.util
import os

import numpy as np
import pytest

import cairn
from cairn import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA_DIR = os.environ.get("CAIRN_DATA_DIR") or os.path.join(os.path.dirname(ROOT), "shared", "data")
HAVE_DATA = cairn.models.golden_have_data(DATA_DIR)


def padded_batch(rng, lengths, vocab, width=None):
    width = width or max(lengths)
    tokens = rng.integers(1, vocab, (len(lengths), width)).astype(np.int32)
    for i, n in enumerate(lengths):
        tokens[i, n:] = 0
    return tokens, np.array(lengths, np.int32)


def python_birnn(params, cell, tag=False):
    names = list(params)
    specs = [cairn.i32[None, None], cairn.i32[None]] + \
        [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]
    return cairn.jit(lambda t, n, *ps: nn.birnn(t, n, dict(zip(names, ps)), cell, tag),
                     specs=specs)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("tag", [False, True])
def test_python_birnn_matches_cpp(cell, tag):
    f, params = cairn.models.birnn_classifier(vocab=12, embed=5, hidden=4, layers=2, classes=3,
                                              cell=cell, tag=tag, seed=2)
    py = python_birnn(params, cell, tag)
    tokens, lengths = padded_batch(np.random.default_rng(0), [3, 6, 1, 4], 12)
    want = f.interpret(tokens, lengths, *params.values())
    assert want.shape == ((4, 3) if not tag else (4, 6, 3))
    np.testing.assert_allclose(py(tokens, lengths, *params.values()), want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(f(tokens, lengths, *params.values()), want, rtol=0, atol=1e-6)
    # More padding changes no row's result.
    wider = np.zeros((4, 9), np.int32)
    wider[:, :6] = tokens
    again = py(wider, lengths, *params.values())
    np.testing.assert_allclose(again[:, :6] if tag else again, want, rtol=0, atol=1e-6)


def numpy_birnn_classifier(tokens, lengths, p, cell):
    """One layer, the contract of docs/models.md in plain NumPy (f64)."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    x = p["embed.weight"].astype(np.float64)[tokens]  # [B, N, E]
    B, N = tokens.shape
    finals = []
    for d in ("fwd", "bwd"):
        q = {k: v.astype(np.float64) for k, v in p.items() if k.startswith(f"rnn.l0.{d}.")}
        pre = f"rnn.l0.{d}."
        H = q[pre + "wh"].shape[0]
        h, c = np.zeros((B, H)), np.zeros((B, H))
        for t in (range(N) if d == "fwd" else reversed(range(N))):
            xt = x[:, t]
            if cell == "lstm":
                i, f, g, o = np.split(xt @ q[pre + "wx"] + h @ q[pre + "wh"] + q[pre + "b"], 4, 1)
                c_new = sig(f) * c + sig(i) * np.tanh(g)
                h_new = sig(o) * np.tanh(c_new)
            else:
                xr, xz, xn = np.split(xt @ q[pre + "wx"] + q[pre + "bx"], 3, 1)
                hr, hz, hn = np.split(h @ q[pre + "wh"] + q[pre + "bh"], 3, 1)
                r, z = sig(xr + hr), sig(xz + hz)
                h_new, c_new = (1 - z) * np.tanh(xn + r * hn) + z * h, c
            live = (t < lengths)[:, None]
            h, c = np.where(live, h_new, h), np.where(live, c_new, c)
        finals.append(h)
    return np.concatenate(finals, 1) @ p["out.weight"] + p["out.bias"]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_birnn_matches_numpy(cell):
    f, params = cairn.models.birnn_classifier(vocab=9, embed=3, hidden=5, layers=1, classes=4,
                                              cell=cell, seed=7)
    tokens, lengths = padded_batch(np.random.default_rng(1), [5, 2, 4], 9)
    want = numpy_birnn_classifier(tokens, lengths, params, cell)
    np.testing.assert_allclose(python_birnn(params, cell)(tokens, lengths, *params.values()),
                               want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f(tokens, lengths, *params.values()), want, rtol=1e-5, atol=1e-6)


def test_birnn_gradients_against_finite_differences():
    _, params = cairn.models.birnn_classifier(vocab=6, embed=2, hidden=2, layers=1, classes=2,
                                              cell="gru", seed=3)
    names = list(params)
    tokens, lengths = padded_batch(np.random.default_rng(2), [3, 1], 6)
    labels = np.array([0, 1], np.int32)

    def loss(w, t, n, y, *ps):
        p = dict(zip(names, ps))
        p["rnn.l0.bwd.wx"] = w
        return nn.cross_entropy(nn.birnn(t, n, p, "gru"), y)

    w = params["rnn.l0.bwd.wx"].astype(np.float64)
    ps = [v.astype(np.float64) for v in params.values()]
    g = cairn.grad(loss)(w, tokens, lengths, labels, *ps)
    from conftest import finite_difference
    f = cairn.jit(loss)
    want = finite_difference(f, [w, tokens, lengths, labels, *ps], 0, eps=1e-5)
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-8)


def test_birnn_rejects_bad_configurations():
    with pytest.raises(ValueError, match="unknown cell"):
        cairn.models.birnn_classifier(vocab=4, cell="rnn")
    with pytest.raises(cairn.BuildError, match="positive"):
        cairn.models.birnn_classifier(vocab=4, hidden=0)
    m = cairn.Module()
    cairn.models.birnn_classifier(m, vocab=4)
    with pytest.raises(cairn.BuildError, match="already has"):
        cairn.models.birnn_classifier(m, vocab=4)


RNN_LOSS = """func @loss(%x: tensor<?x3x2xf64>, %len: tensor<3xi32>, %h0: tensor<3x2xf64>, %wi: tensor<6x2xf64>, %wh: tensor<6x2xf64>, %b: tensor<6xf64>) -> tensor<f64> {
  %r:2 = rnn %x, %len, %h0, %wi, %wh, %b, %b {cell = "gru", reverse = 1} : tensor<?x3x2xf64>, tensor<3x2xf64>
  %s = reduce_sum %r#0 {dims = [0, 1, 2]} : tensor<f64>
  return %s
}
"""


def test_keep_rnn_ops_gradient_matches_the_loops(rng):
    # m.grad(keep_rnn_ops=True): one rnn_grad op instead of the expanded loop
    # (GradOptions::keepRnnOps), the same gradients.
    m = cairn.parse(RNN_LOSS)
    m.grad("loss", [0, 2, 3, 4, 5], grad_name="loop")
    m.grad("loss", [0, 2, 3, 4, 5], grad_name="kept", keep_rnn_ops=True)
    kept = m.text().split("func @kept")[1]
    assert "rnn_grad" in kept and "while" not in kept
    args = [rng.standard_normal((4, 3, 2)), np.array([4, 0, 2], np.int32),
            rng.standard_normal((3, 2)), rng.standard_normal((6, 2)),
            rng.standard_normal((6, 2)), rng.standard_normal(6)]
    for want, got in zip(m.interpret("loop", *args), m.interpret("kept", *args)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def load_spinn_example():
    path = os.path.join(ROOT, "examples", "python", "spinn_model.py")
    spec = importlib.util.spec_from_file_location("spinn_example", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SST = """(3 (2 (2 The) (2 film)) (4 (3 (2 is) (4 good)) (2 .)))
(1 (2 Dull) (1 (2 and) (1 slow)))
(2 (2 It) (2 exists))
(4 (4 Wonderful) (2 !))
(0 (2 (2 A) (1 mess)) (1 (2 from) (1 (2 start) (2 (2 to) (2 finish)))))
"""


def python_tree_lstm(params, H):
    ex = load_spinn_example()
    names = list(params)
    specs = [cairn.i32[None, None]] * 2 + [cairn.i32[None]] + \
        [cairn.TensorSpec(v.shape, v.dtype) for v in params.values()]

    def logits(t, tr, n, *ps):
        p = dict(zip(names, ps))
        return nn.linear(ex.spinn_encode(t, tr, n, p, H), p, "out")

    return cairn.jit(logits, specs=specs)


def test_sst_file_and_tree_lstm_sentiment(tmp_path):
    path = tmp_path / "sst.txt"
    path.write_text(SST + "(3 (2 unbalanced\n")  # a malformed line: skipped with a warning
    corpus = cairn.models.load_corpus(path, "sst")
    assert corpus.format == "sst" and len(corpus) == 5 and corpus.classes == 5
    assert len(corpus.warnings) == 1 and "sst.txt:6:" in corpus.warnings[0]
    tokens, transitions, lengths, labels = corpus.batch(list(range(5)))
    assert list(lengths) == [5, 3, 2, 2, 6] and list(labels) == [3, 1, 2, 4, 0]
    assert transitions.shape == (5, 2 * tokens.shape[1] - 1)

    f, params = cairn.models.tree_lstm_sentiment(vocab=corpus.vocab_size, embed=6, hidden=4,
                                                 seed=5)
    want = f.interpret(tokens, transitions, lengths, *params.values())
    assert want.shape == (5, 5)
    got = python_tree_lstm(params, 4)(tokens, transitions, lengths, *params.values())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


SNLI = [
    '{"gold_label": "entailment", "sentence1_binary_parse": "( ( A dog ) runs )", '
    '"sentence2_binary_parse": "( ( An animal ) ( is moving ) )"}',
    '{"gold_label": "contradiction", "sentence1_binary_parse": "( It rains )", '
    '"sentence2_binary_parse": "( ( The sun ) shines )"}',
    '{"gold_label": "-", "sentence1_binary_parse": "( No label )", '
    '"sentence2_binary_parse": "( Skipped )"}',
    '{"gold_label": "neutral", "sentence1_binary_parse": "( ( A man ) sings )", '
    '"sentence2_binary_parse": "( He ( is happy ) )"}',
]


def test_snli_file(tmp_path):
    path = tmp_path / "snli.jsonl"
    path.write_text("\n".join(SNLI) + "\nnot json\n")
    corpus = cairn.models.load_corpus(path, "snli")
    assert corpus.format == "snli" and len(corpus) == 3 and corpus.classes == 3
    assert corpus.warnings  # the unlabeled pair and the broken line
    tokens, transitions, lengths, labels = corpus.batch([0, 1, 2])
    assert tokens.shape[:2] == (2, 3) and transitions.shape[:2] == (2, 3)
    assert lengths.tolist() == [[3, 2, 3], [4, 3, 3]]
    assert labels.tolist() == [0, 2, 1]
    assert cairn.models.load_corpus(path, "snli", limit=2).batch([0, 1])[3].tolist() == [0, 2]


def test_listops_evaluation_sets_and_buckets():
    train = cairn.models.listops(200, seed=4, max_length=30)
    held = cairn.models.listops_like(train, 40, seed=1004, max_length=30, exclude=train)
    held.truncate(20)
    assert len(held) == 20 and held.vocab_size == train.vocab_size
    longer = cairn.models.listops_like(train, 10, seed=2004, max_depth=6, min_length=31,
                                       max_length=60, nest_probability=1.0)
    assert min(longer.lengths()) >= 31
    ops = set(train.first_tokens())
    assert ops <= {"[MAX", "[MIN", "[MED", "[SM"} | set("0123456789")
    batches = cairn.models.bucket_by_length(train.lengths(), 16, seed=3)
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert all(len(b) <= 16 for b in batches)
    assert cairn.models.format_duration(75.4) == "1:15"
    with pytest.raises(cairn.CairnError):
        cairn.models.listops_like(train, 5, seed=1, min_length=50, max_length=40)


@pytest.mark.skipif(not HAVE_DATA, reason="no SNLI/SST data in $CAIRN_DATA_DIR or ../shared/data")
@pytest.mark.parametrize("name", ["bilstm_classify", "bigru_classify", "bilstm_tag", "bigru_tag",
                                  "treelstm_sst"])
def test_golden_batches_against_pytorch(name):
    """Python's logits against PyTorch's stored ones, and for the classifiers
    the gradients of the mean cross-entropy with labels b % classes (the
    loss of tests/unit/GoldenGradientTest.cpp) against PyTorch's."""
    case = cairn.models.golden_case(name, DATA_DIR)
    params, inputs = case["params"], list(case["inputs"].values())
    names = list(params)
    if name.startswith("treelstm"):
        ex = load_spinn_example()
        H = params["reduce.right.weight"].shape[0]
        model = lambda p, t, tr, n: nn.linear(ex.spinn_encode(t, tr, n, p, H), p, "out")
    else:
        cell = "lstm" if name.startswith("bilstm") else "gru"
        model = lambda p, t, n: nn.birnn(t, n, p, cell, name.endswith("_tag"))
    ours = cairn.jit(lambda *a: model(dict(zip(names, a[len(inputs):])), *a[:len(inputs)]),
                     backend="interpreter")(
        *inputs, *params.values())
    torch = np.load(os.path.join(ROOT, "tests", "golden", name, "expected_0.npy"))
    assert np.abs(ours - torch).max() / np.abs(torch).max() <= 1e-5
    if name.endswith("_tag"):
        return
    labels = (np.arange(len(ours)) % ours.shape[1]).astype(np.int32)

    def loss(p, *args):
        return nn.cross_entropy(model(p, *args), labels)

    grads = cairn.grad(loss, backend="interpreter")(params, *inputs)  # no compile: faster here
    for k in names:
        want = np.load(os.path.join(ROOT, "tests", "golden", name, f"grad_{k}.npy"))
        rows = os.path.join(ROOT, "tests", "golden", name, f"grad_{k}.rows.npy")
        got = grads[k][np.load(rows)] if os.path.exists(rows) else grads[k]
        assert np.abs(got - want).max() / max(np.abs(want).max(), 1e-6) <= 1e-4, k
