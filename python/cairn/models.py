"""Cairn's C++ models and data from Python (frontend/models, frontend/data).

    m = cairn.Module()
    f, params = cairn.models.spinn_tree_classifier(m, vocab=20, embed=16, hidden=16)
    corpus = cairn.models.listops(512, seed=1)
    tokens, transitions, lengths, labels = corpus.batch(range(32))
    logits = f(tokens, transitions, lengths, *params.values())

The functions are the C++ builders' (docs/models.md is the contract: argument
order, parameter names); `params` holds their deterministic initial values
(ParamStore::initialize). Models in Python (examples/python/spinn.py) can be
checked against them.
"""
from . import _cairn
from ._module import Function, Module

Corpus = _cairn.Corpus


def spinn_tree_classifier(module=None, *, vocab, embed=32, hidden=32, tracker=0, mlp_hidden=32,
                          mlp_layers=1, classes=10, loss=False, name=None, seed=1):
    """SPINN with given transitions as a tree classifier (ListOps: 10
    classes). Returns (Function, {parameter name: initial value}).

    Arguments of the function: tokens [B, N] i32, transitions [B, 2N-1] i32,
    lengths [B] i32, (with loss=True: labels [B] i32,) then the parameters in
    the dict's order. Results: logits [B, classes]; with loss=True the mean
    cross-entropy and the batch accuracy.
    """
    module = module if module is not None else Module()
    name = name or ("spinn_classify_loss" if loss else "spinn_classify")
    names, values = _cairn.spinn_tree_classifier(module._h, vocab, embed, hidden, tracker,
                                                 mlp_hidden, mlp_layers, classes, loss, name,
                                                 seed)
    return Function(module, name, None), dict(zip(names, values))


def birnn_classifier(module=None, *, vocab, embed=32, hidden=32, layers=1, classes=2,
                     cell="lstm", tag=False, compact_rows=False, name=None, seed=1):
    """The C++ bidirectional LSTM/GRU (frontend/models/BiRnn.h) over padded
    batches: arguments tokens [B, N] i32, lengths [B] i32, then the
    parameters in the dict's order (embed.weight, rnn.l<k>.fwd/bwd.*,
    out.*). Results: logits [B, classes] (the last layer's final forward
    and backward h through `out`), or with tag=True [B, N, classes] (every
    position). Returns (Function, {parameter name: initial value});
    `cairn.nn.birnn` is the same model written in Python."""
    module = module if module is not None else Module()
    name = name or ("birnn_tag" if tag else "birnn_classify")
    names, values = _cairn.birnn(module._h, cell, vocab, embed, hidden, layers, classes, tag,
                                 compact_rows, name, seed)
    return Function(module, name, None), dict(zip(names, values))


def tree_lstm_sentiment(module=None, *, vocab, embed=32, hidden=32, classes=5,
                        compact_reduce=False, name="treelstm_sentiment", seed=1):
    """The C++ TreeLSTM sentiment model (frontend/models/TreeLstmSentiment.h:
    SPINN's encoder without a tracker, then Linear(out) of the root's h):
    arguments tokens [B, N], transitions [B, 2N-1], lengths [B] (i32, as
    an SST corpus's batches give them), then the parameters. Returns
    (Function, {parameter name: initial value})."""
    module = module if module is not None else Module()
    names, values = _cairn.tree_lstm_sentiment(module._h, vocab, embed, hidden, classes,
                                               compact_reduce, name, seed)
    return Function(module, name, None), dict(zip(names, values))


def listops(count, seed=1, max_depth=None, max_args=None, max_length=None, min_length=None,
            preset=None):
    """`count` generated ListOps examples (Nangia & Bowman 2018; Cairn's own
    deterministic generator) with their vocabulary: a Corpus with
    `batch(indices)` -> (tokens, transitions, lengths, labels) arrays,
    `vocab_size`, `classes`, `lengths()` and `split_tail(n)`. Without a
    preset: depth <= 4, <= 5 arguments, 3-60 tokens, nesting thinned with
    depth. preset="paper": the ListOps paper's distribution (depth <= 20,
    2-5 arguments, a digit with probability 0.75 at every depth, <= 1000
    tokens; `cairn-train --listops-preset paper`). Bounds given override
    the preset's."""
    def given(x):
        return -1 if x is None else x
    return Corpus.listops(count, seed, given(max_depth), given(max_args), given(max_length),
                          given(min_length), preset or "")


def listops_like(corpus, count, seed, max_depth=4, max_args=5, min_length=3, max_length=60,
                 nest_probability=0.5, exclude=None):
    """`count` more generated ListOps examples with `corpus`'s vocabulary (its
    token ids; examples also in `exclude` are dropped): how cairn-train makes
    its held-out and longer/deeper evaluation sets. A shape the generator
    cannot fill is a CairnError."""
    return Corpus.generate_listops(corpus, seed, count, max_depth, max_args, min_length,
                                   max_length, nest_probability, exclude)


def bucket_by_length(lengths, batch_size, seed):
    """Batches (lists of indices) of examples of similar length, in an order
    shuffled by `seed` (frontend/data/Batching.cpp, what cairn-train uses)."""
    return _cairn.bucket_by_length([int(n) for n in lengths], batch_size, seed)


def format_duration(seconds):
    """"m:ss" or "h:mm:ss" (frontend/training/Progress.h, cairn-train's)."""
    return _cairn.format_duration(float(seconds))


def load_corpus(path, format, limit=0):
    """SNLI (.jsonl or .jsonl.gz), SST (PTB trees) or ListOps (label<TAB>parse)
    examples from a file (`format`: "snli", "sst", "listops"), with their
    vocabulary; `limit` the first examples only (0: all). SNLI batches are
    [2, B, ...] (premises, hypotheses). Unreadable files and files without a
    usable example are CairnErrors; skipped malformed lines are listed in
    `warnings`."""
    return Corpus.load(str(path), format, limit)


def golden_case(name, data_dir):
    """Golden case `name` (tests/golden/<name>): a dict with the C++ model's
    Module and function name, the inputs (real SNLI/SST examples from
    `data_dir`) and parameters by name. Its PyTorch outputs are
    tests/golden/<name>/expected_<i>.npy. Needs the data files
    (`golden_have_data(data_dir)`)."""
    c = _cairn.golden_case(name, str(data_dir))
    c["module"] = Module(c["module"])
    c["inputs"] = dict(zip(c.pop("input_names"), c["inputs"]))
    c["params"] = dict(zip(c.pop("param_names"), c["params"]))
    return c


def golden_have_data(data_dir):
    return _cairn.golden_have_data(str(data_dir))


def save(path, arrays, metadata=None):
    """Writes a dict of arrays as a safetensors file (as cairn-train's
    checkpoints; an interrupted write never leaves a truncated file)."""
    names = list(arrays)
    _cairn.save_safetensors(str(path), names, [arrays[n] for n in names],
                            {str(k): str(v) for k, v in (metadata or {}).items()})


def load(path):
    """(dict of arrays in file order, metadata dict) from a safetensors file;
    a malformed file is a CairnError naming the path and the problem."""
    return _cairn.load_safetensors(str(path))
