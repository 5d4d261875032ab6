"""Layers as functions of symbolic tensors and a parameter dict, with the C++
layers' names, shapes and formulas (frontend/layers/Layers.h,
docs/models.md): `p` maps "<name>.weight" and so on to tensors, so a model
written with these takes the same parameters (and checkpoints) as the C++
model of the same structure. Weights are [in, out] (y = x @ W + b); gates of
LSTMCell are i, f, g, o and of GRUCell r, z, n, as PyTorch's.
"""
from ._tensor import concat, gather, log_softmax, relu, sigmoid, split, tanh


def linear(x, p, name, bias=True):
    y = x @ p[name + ".weight"]
    return y + p[name + ".bias"] if bias else y


def embedding(ids, p, name):
    return gather(p[name + ".weight"], ids, axis=0)


def mlp(x, p, name):
    """`name.0` ... `name.k`: relu between the linears, none after the last."""
    k = 0
    while f"{name}.{k + 1}.weight" in p:
        x = relu(linear(x, p, f"{name}.{k}"))
        k += 1
    return linear(x, p, f"{name}.{k}")


def lstm_cell(x, state, p, name):
    """(h, c) -> (h', c'); parameters name.wx [in, 4H], name.wh [H, 4H], name.b [4H]."""
    h, c = state
    gates = x @ p[name + ".wx"] + h @ p[name + ".wh"] + p[name + ".b"]
    i, f, g, o = split(gates, 4, axis=-1)
    c_next = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c_next), c_next


def gru_cell(x, h, p, name):
    """h -> h'; parameters name.wx [in, 3H], name.wh [H, 3H], name.bx, name.bh [3H]."""
    xr, xz, xn = split(x @ p[name + ".wx"] + p[name + ".bx"], 3, axis=-1)
    hr, hz, hn = split(h @ p[name + ".wh"] + p[name + ".bh"], 3, axis=-1)
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    return (1.0 - z) * n + z * h


def tree_lstm_reduce(left, right, p, name, track=None):
    """SPINN's Reduce of two (h, c) children (and the tracker's h):
    parameters name.left.{weight,bias}, name.right.weight, name.track.weight."""
    gates = linear(left[0], p, name + ".left") + linear(right[0], p, name + ".right", False)
    if track is not None:
        gates = gates + linear(track, p, name + ".track", False)
    a, i, f1, f2, o = split(gates, 5, axis=-1)
    c = tanh(a) * sigmoid(i) + sigmoid(f1) * left[1] + sigmoid(f2) * right[1]
    return sigmoid(o) * tanh(c), c


def tracker(buffer_top_h, stack_top_h, second_h, state, p, name):
    """SPINN's tracker: an LSTMCell (name.cell) over the three h's."""
    return lstm_cell(concat([buffer_top_h, stack_top_h, second_h], axis=-1), state, p,
                     name + ".cell")


def cross_entropy(logits, labels):
    """Mean over rows of -log softmax(logits)[label]."""
    return -gather(log_softmax(logits), labels, axis=1, batch_dims=1).mean()


def accuracy(logits, labels):
    return (logits.argmax(-1, labels.dtype) == labels).astype("f32").mean()
