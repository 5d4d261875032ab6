"""The wrong gradient torch_compile.py found (2026-12-06): torch 2.5.1's
torch.compile (Inductor, CPU) of an nn.Embedding computes d loss / d weight
wrongly when the indices repeat (unique indices: exact). 1 thread, AMD EPYC
(Zen 4, AVX-512). Run: python embedding_grad_repro.py"""
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
emb = torch.nn.Embedding(20000, 256)
w = torch.randn(64, 35, 256)


def grad(m, t):
    emb.weight.grad = None
    (m(t) * w).sum().backward()
    return emb.weight.grad.clone()


for name, t in (("repeated", torch.randint(0, 300, (64, 35))),
                ("unique", torch.randperm(20000)[:64 * 35].reshape(64, 35))):
    want = torch.zeros(20000, 256).index_add_(0, t.reshape(-1), w.reshape(-1, 256))
    eager, compiled = grad(emb, t), grad(torch.compile(emb), t)
    rel = lambda g: float((g - want).abs().max() / want.abs().max())  # noqa: E731
    print(f"{name} indices: max|g - index_add| / max|index_add|: eager {rel(eager):.1e}, "
          f"compiled {rel(compiled):.1e}")
