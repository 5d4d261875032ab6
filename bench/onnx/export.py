"""Exports the ONNX benchmark's models from PyTorch (bench/onnx/run.sh).

  python export.py OUT_DIR

Writes OUT_DIR/<model>.onnx (torch.onnx.export, opset 17, dynamic batch and
length axes) and, per batch size, OUT_DIR/<model>_b<B>/input_<i>.npy and
onnxruntime's outputs ort_<i>.npy:

- bilstm: the classifier of bench/peers' bilstm workloads (embedding 256,
  2-layer bidirectional nn.LSTM, hidden 256, the last layer's final states of
  both directions to 5 classes), tokens [B, 35];
- bigru: the same with nn.GRU;
- decoder: a TorchScript greedy decoder (embedding 128, a GRU cell of 256
  written out, a linear layer over 1000 tokens): from a start token it feeds back its
  argmax for at most `max_len` steps and stops early once every row has
  produced the end token; its loop and early exit become ONNX `Loop` (with
  the loop's condition output) and `If`. The output grows by a column per
  step (a loop-carried tensor whose shape changes).

Seeded: the same weights and inputs every run.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

VOCAB, EMBED, HIDDEN, CLASSES, SEQ = 1000, 256, 256, 5, 35
DEC_EMBED, DEC_HIDDEN, DEC_VOCAB, DEC_STEPS = 128, 256, 1000, 50


class BiRnnClassifier(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, EMBED)
        self.rnn = cell(EMBED, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * HIDDEN, CLASSES)

    def forward(self, tokens):
        _, h = self.rnn(self.embed(tokens))
        if isinstance(h, tuple):  # LSTM: (h_n, c_n)
            h = h[0]
        return self.out(torch.cat([h[-2], h[-1]], dim=1))


class GreedyDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(DEC_VOCAB, DEC_EMBED)
        # A GRU cell written out (TorchScript's nn.GRUCell checks its input's
        # rank with `in`, which the ONNX exporter cannot translate).
        self.wi = nn.Linear(DEC_EMBED, 3 * DEC_HIDDEN)
        self.wh = nn.Linear(DEC_HIDDEN, 3 * DEC_HIDDEN)
        self.out = nn.Linear(DEC_HIDDEN, DEC_VOCAB)

    def cell(self, x, h):
        ir, iz, i_n = self.wi(x).chunk(3, 1)
        hr, hz, hn = self.wh(h).chunk(3, 1)
        r = torch.sigmoid(ir + hr)
        z = torch.sigmoid(iz + hz)
        n = torch.tanh(i_n + r * hn)
        return (1 - z) * n + z * h

    def forward(self, h, max_len: int):
        batch = h.size(0)
        tok = torch.ones(batch, dtype=torch.long)
        out = torch.zeros(batch, 0, dtype=torch.long)
        eos = 2
        for _ in range(max_len):
            h = self.cell(self.embed(tok), h)
            tok = self.out(h).argmax(dim=1)
            out = torch.cat([out, tok.unsqueeze(1)], dim=1)
            if bool((tok == eos).all()):
                break
        return out


def export(model, args, path, names, dynamic):
    torch.onnx.export(model, args, path, opset_version=17, input_names=names,
                      output_names=["out"], dynamic_axes=dynamic, dynamo=False)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    import onnxruntime as ort
    models = {
        "bilstm": BiRnnClassifier(nn.LSTM).eval(),
        "bigru": BiRnnClassifier(nn.GRU).eval(),
        "decoder": torch.jit.script(GreedyDecoder().eval()),
    }
    rng = np.random.default_rng(0)
    for name, model in models.items():
        path = os.path.join(out, f"{name}.onnx")
        if name == "decoder":
            example = (torch.zeros(2, DEC_HIDDEN), DEC_STEPS)
            export(model, example, path, ["h", "max_len"], {"h": {0: "batch"}, "out": {0: "batch"}})
        else:
            example = (torch.zeros(2, SEQ, dtype=torch.long),)
            export(model, example, path, ["tokens"],
                   {"tokens": {0: "batch", 1: "length"}, "out": {0: "batch"}})
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        for batch in (1, 64):
            case = os.path.join(out, f"{name}_b{batch}")
            os.makedirs(case, exist_ok=True)
            if name == "decoder":
                inputs = [rng.standard_normal((batch, DEC_HIDDEN)).astype(np.float32),
                          np.array(DEC_STEPS, dtype=np.int64)]
            else:
                inputs = [rng.integers(0, VOCAB, (batch, SEQ)).astype(np.int64)]
            feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
            for i, x in enumerate(inputs):
                np.save(os.path.join(case, f"input_{i}.npy"), x)
            for i, y in enumerate(session.run(None, feeds)):
                np.save(os.path.join(case, f"ort_{i}.npy"), y)
        print(f"export: {path}", flush=True)


if __name__ == "__main__":
    main()
