"""SPINN in eager PyTorch, written from docs/models.md ("SPINN encoder").

Define-by-run, in the style of the classic PyTorch SPINN tutorial: every
example has its own Python list for its buffer and its stack, and a Python
loop walks the transitions one step at a time. Per step the Tracker (an
LSTMCell) and the Reduce (a TreeLSTM composition) run batched over the rows
that need them; the bookkeeping (push, pop, which rows shift or reduce) is
per example. This is deliberately an independent formulation of the same
math as Cairn's thin-stack graph (no pointers, no masks over a stack tensor).
"""
import numpy as np
import torch

from common import Mlp, embedding_from, linear_from, lstm_cell_from

SHIFT, REDUCE, PAD = 1, 2, 0


class Reduce(torch.nn.Module):
    """TreeLSTMReduce(name, H, T): g = left_h.Wl + bl + right_h.Wr (+ track.Wt),
    split a, i, f1, f2, o; c = tanh(a)s(i) + s(f1)c_l + s(f2)c_r, h = s(o)tanh(c)."""

    def __init__(self, P, name, hidden, tracker):
        super().__init__()
        self.hidden = hidden
        self.left = linear_from(P, name + ".left", hidden, 5 * hidden)
        self.right = linear_from(P, name + ".right", hidden, 5 * hidden, bias=False)
        self.track = (linear_from(P, name + ".track", tracker, 5 * hidden, bias=False)
                      if tracker > 0 else None)

    def forward(self, left, right, track=None):
        (hl, cl), (hr, cr) = left, right
        g = self.left(hl) + self.right(hr)
        if self.track is not None:
            g = g + self.track(track)
        a, i, f1, f2, o = g.chunk(5, dim=1)
        c = torch.tanh(a) * torch.sigmoid(i) + torch.sigmoid(f1) * cl + torch.sigmoid(f2) * cr
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class SpinnEncoder(torch.nn.Module):
    def __init__(self, P, cfg, names):
        super().__init__()
        self.H = cfg["hidden"]
        self.T = cfg.get("tracker", 0)
        self.predicted = cfg.get("mode", "pi") == "predicted"
        if self.predicted and self.T <= 0:
            raise ValueError("predicted transitions need a tracker")
        self.embed = embedding_from(P, names["embed"], cfg["vocab"], cfg["embed"])
        self.projection = linear_from(P, names["projection"], cfg["embed"], 2 * self.H)
        self.reduce = Reduce(P, names["reduce"], self.H, self.T)
        self.tracker = (lstm_cell_from(P, names["tracker"] + ".cell", 3 * self.H, self.T)
                        if self.T > 0 else None)
        self.predictor = (linear_from(P, names["predictor"], self.T, 2)
                          if self.predicted else None)

    def forward(self, tokens, transitions, lengths):
        """tokens [B, N] int, transitions [B, S] int (ignored when predicted),
        lengths [B]. Returns (root h [B, H], chosen transitions [B, 2N-1] or None)."""
        B, N = tokens.shape
        H = self.H
        dev = self.projection.weight.device  # the model's device (bench.py --device cuda)
        zeros = torch.zeros(H, device=dev)
        proj = self.projection(self.embed(torch.as_tensor(tokens, dtype=torch.long, device=dev)))
        # Buffers hold (h, c) pairs; the next word to shift is at the end.
        buffers = [[(proj[b, i, :H], proj[b, i, H:]) for i in range(int(lengths[b]))][::-1]
                   for b in range(B)]
        stacks = [[] for _ in range(B)]
        if self.tracker is not None:
            th = torch.zeros(B, self.T, device=dev)
            tc = torch.zeros(B, self.T, device=dev)
        steps = 2 * N - 1 if self.predicted else transitions.shape[1]
        self.min_margin = float("inf")
        chosen = np.zeros((B, max(steps, 0)), dtype=np.int32)

        for s in range(steps):
            if self.predicted:
                active = [s < 2 * int(lengths[b]) - 1 for b in range(B)]
            else:
                active = [int(transitions[b, s]) != PAD for b in range(B)]
            if not any(active):
                continue

            if self.tracker is not None:
                buf_top = torch.stack([buf[-1][0] if buf else zeros for buf in buffers])
                top = torch.stack([st[-1][0] if len(st) >= 1 else zeros for st in stacks])
                second = torch.stack([st[-2][0] if len(st) >= 2 else zeros for st in stacks])
                nh, nc = self.tracker(torch.cat([buf_top, top, second], dim=1), (th, tc))
                keep = torch.tensor(active, device=dev).unsqueeze(1)
                th = torch.where(keep, nh, th)
                tc = torch.where(keep, nc, tc)

            if self.predicted:
                logits = self.predictor(th)
                moves = []
                for b in range(B):
                    if not active[b]:
                        moves.append(PAD)
                        continue
                    shift_ok = len(buffers[b]) > 0
                    reduce_ok = len(stacks[b]) >= 2
                    ls = logits[b, 0].item() if shift_ok else -np.inf
                    lr = logits[b, 1].item() if reduce_ok else -np.inf
                    moves.append(REDUCE if lr > ls else SHIFT)  # ties: SHIFT
                    if shift_ok and reduce_ok:  # how close the choice was
                        self.min_margin = min(self.min_margin, abs(lr - ls))
            else:
                moves = [int(transitions[b, s]) for b in range(B)]

            reducing = []
            for b in range(B):
                if not active[b]:
                    continue
                chosen[b, s] = moves[b]
                if moves[b] == SHIFT:
                    stacks[b].append(buffers[b].pop())
                elif moves[b] == REDUCE:
                    reducing.append(b)
                else:
                    raise ValueError(f"row {b} step {s}: bad transition {moves[b]}")
            if reducing:
                lefts = [stacks[b][-2] for b in reducing]
                rights = [stacks[b][-1] for b in reducing]
                left = (torch.stack([x[0] for x in lefts]), torch.stack([x[1] for x in lefts]))
                right = (torch.stack([x[0] for x in rights]), torch.stack([x[1] for x in rights]))
                track = th[reducing] if self.tracker is not None else None
                h, c = self.reduce(left, right, track)
                for j, b in enumerate(reducing):
                    stacks[b].pop()
                    stacks[b].pop()
                    stacks[b].append((h[j], c[j]))

        roots = torch.stack([st[-1][0] for st in stacks])
        return roots, (chosen if self.predicted else None)


DEFAULT_NAMES = {
    "embed": "embed",
    "projection": "projection",
    "reduce": "reduce",
    "tracker": "tracker",
    "predictor": "predictor",
    "mlp": "mlp",
    "out": "out",
}


class SpinnSnli(torch.nn.Module):
    """SNLI classifier: premise and hypothesis through one encoder;
    features [p, h, p - h, p * h] -> Mlp(mlp, 4H, M, layers, 3)."""

    def __init__(self, P, cfg, names=None):
        super().__init__()
        names = {**DEFAULT_NAMES, **(names or {})}
        self.encoder = SpinnEncoder(P, cfg, names)
        H = cfg["hidden"]
        self.mlp = Mlp(P, names["mlp"], 4 * H, cfg["mlp_hidden"], cfg["mlp_layers"],
                       cfg.get("classes", 3))

    def forward(self, tokens, transitions, lengths):
        """tokens [2, B, N], transitions [2, B, S] (or None), lengths [2, B].
        Returns logits [B, 3] and, when predicted, the moves taken
        [2B, 2N-1] (premise rows first, as Cairn's buildSpinnSnli returns them)."""
        _, B, N = tokens.shape
        flat_t = None if transitions is None else transitions.reshape(2 * B, -1)
        roots, chosen = self.encoder(tokens.reshape(2 * B, N), flat_t, lengths.reshape(2 * B))
        p, h = roots[:B], roots[B:]
        logits = self.mlp(torch.cat([p, h, p - h, p * h], dim=1))
        return logits, chosen
