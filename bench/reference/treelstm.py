"""TreeLSTM sentiment (SST) in eager PyTorch, from docs/models.md: the SPINN
encoder without a tracker, in PI mode with the tree's transitions; the root h
goes through Linear(out, H, 5)."""
import torch

from common import linear_from
from spinn import DEFAULT_NAMES, SpinnEncoder


class TreeLstmSentiment(torch.nn.Module):
    def __init__(self, P, cfg, names=None):
        super().__init__()
        names = {**DEFAULT_NAMES, **(names or {})}
        cfg = {**cfg, "tracker": 0, "mode": "pi"}
        self.encoder = SpinnEncoder(P, cfg, names)
        self.out = linear_from(P, names["out"], cfg["hidden"], cfg.get("classes", 5))

    def forward(self, tokens, transitions, lengths):
        roots, _ = self.encoder(tokens, transitions, lengths)
        return self.out(roots)
