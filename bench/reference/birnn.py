"""Bidirectional LSTM / GRU classifier and tagger in PyTorch, from
docs/models.md ("Recurrent models"), on torch.nn.LSTM / torch.nn.GRU with
packed sequences: an independent implementation of the same math.

Parameter mapping (Cairn -> PyTorch), layer k, direction suffix '' (fwd) or
'_reverse' (bwd):
  weight_ih_l{k} = rnn.l{k}.{fwd,bwd}.wx^T     weight_hh_l{k} = ....wh^T
  LSTM: bias_ih_l{k} = .b,  bias_hh_l{k} = 0
  GRU:  bias_ih_l{k} = .bx, bias_hh_l{k} = .bh
Both use PyTorch's gate orders (LSTM i, f, g, o; GRU r, z, n), as Cairn does.
"""
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from common import embedding_from, linear_from

DEFAULT_NAMES = {"embed": "embed", "rnn": "rnn", "out": "out"}


class BiRnn(torch.nn.Module):
    def __init__(self, P, cfg, names=None):
        super().__init__()
        names = {**DEFAULT_NAMES, **(names or {})}
        self.cell = cfg["cell"]
        E, H, L = cfg["embed"], cfg["hidden"], cfg["layers"]
        self.tag = cfg.get("tag", False)
        self.embed = embedding_from(P, names["embed"], cfg["vocab"], E)
        if self.cell == "lstm":
            self.rnn = torch.nn.LSTM(E, H, num_layers=L, bidirectional=True, batch_first=True)
            gates = 4
        elif self.cell == "gru":
            self.rnn = torch.nn.GRU(E, H, num_layers=L, bidirectional=True, batch_first=True)
            gates = 3
        else:
            raise ValueError(f"unknown cell {self.cell!r}")
        with torch.no_grad():
            for k in range(L):
                d_in = E if k == 0 else 2 * H
                for direction, suffix in (("fwd", ""), ("bwd", "_reverse")):
                    base = f"{names['rnn']}.l{k}.{direction}"
                    P.load_into(getattr(self.rnn, f"weight_ih_l{k}{suffix}"), base + ".wx",
                                (d_in, gates * H), transpose=True)
                    P.load_into(getattr(self.rnn, f"weight_hh_l{k}{suffix}"), base + ".wh",
                                (H, gates * H), transpose=True)
                    b_ih = getattr(self.rnn, f"bias_ih_l{k}{suffix}")
                    b_hh = getattr(self.rnn, f"bias_hh_l{k}{suffix}")
                    if self.cell == "lstm":
                        P.load_into(b_ih, base + ".b", (gates * H,))
                        b_hh.zero_()
                    else:
                        P.load_into(b_ih, base + ".bx", (gates * H,))
                        P.load_into(b_hh, base + ".bh", (gates * H,))
        self.out = linear_from(P, names["out"], 2 * H, cfg["classes"])

    def forward(self, tokens, lengths):
        """tokens [B, N], lengths [B] (each >= 1). Classifier: logits [B, C];
        tagger: logits [B, N, C] (padded positions give the bias)."""
        B, N = tokens.shape
        dev = self.embed.weight.device  # the model's device (bench.py --device cuda)
        x = self.embed(torch.as_tensor(tokens, dtype=torch.long, device=dev))
        # pack_padded_sequence takes the lengths on the CPU, whatever the device.
        lens = torch.as_tensor(lengths, dtype=torch.long)
        packed = pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
        out, state = self.rnn(packed)
        if self.tag:
            padded, _ = pad_packed_sequence(out, batch_first=True, total_length=N)
            return self.out(padded)
        h_n = state[0] if self.cell == "lstm" else state
        # h_n: [layers * 2, B, H]; the last layer's fwd and bwd final states.
        return self.out(torch.cat([h_n[-2], h_n[-1]], dim=1))
