"""Layers as functions of symbolic tensors and a parameter dict, with the C++
layers' names, shapes and formulas (frontend/layers/Layers.h,
docs/models.md): `p` maps "<name>.weight" and so on to tensors, so a model
written with these takes the same parameters (and checkpoints) as the C++
model of the same structure. Weights are [in, out] (y = x @ W + b); gates of
LSTMCell are i, f, g, o and of GRUCell r, z, n, as PyTorch's.
"""
from ._control import while_loop
from ._tensor import as_tensor, concat, full, gather, log_softmax, relu, sigmoid, split, tanh, where


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


def _rnn_direction(xs, lengths, sizes, p, name, lstm, backward):
    """One direction of one BiRNN layer over time-major xs [N, B, in]: a
    `while` over the steps carrying (t, h, outputs [N, B, H][, c]). A row
    keeps its state and emits zeros at t >= its length, so the backward
    direction starts at each row's last token. Returns (outputs, final h)."""
    steps, batch, zeros, zero_out = sizes
    H = zeros.shape[-1]
    t0 = steps - 1 if backward else as_tensor(0, "i32")
    init = (t0, zeros, zero_out) + ((zeros,) if lstm else ())

    def cond(c):
        return c[0] >= 0 if backward else c[0] < steps

    def body(c):
        t, h, out = c[0], c[1], c[2]
        x = xs[t]
        live = (t < lengths)[:, None].broadcast_to((batch, H))
        if lstm:
            h_new, c_new = lstm_cell(x, (h, c[3]), p, name)
        else:
            h_new = gru_cell(x, h, p, name)
        nxt = (t - 1 if backward else t + 1, where(live, h_new, h),
               out.at[t].set(where(live, h_new, zeros)))
        return nxt + ((where(live, c_new, c[3]),) if lstm else ())

    r = while_loop(cond, body, init, max_trip=steps)
    return r[2], r[1]


def birnn(tokens, lengths, p, cell="lstm", tag=False):
    """The bidirectional LSTM/GRU of frontend/models/BiRnn.h (docs/models.md,
    "Recurrent models") over a padded batch: tokens [B, N] i32, lengths [B]
    i32; parameters embed.weight, rnn.l<k>.{fwd,bwd}.* per layer k (layer
    k > 0 reads the previous layer's [fwd h_t, bwd h_t]) and out.*, as
    `cairn.models.birnn_classifier` declares them. Returns the classifier's
    logits [B, C] (out of the last layer's final fwd and bwd h) or, with
    `tag`, the tagger's [B, N, C]. Padding changes no row's result."""
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cairn.nn.birnn: unknown cell {cell!r} (lstm, gru)")
    layers = 0
    while f"rnn.l{layers}.fwd.wh" in p:
        layers += 1
    if layers == 0:
        raise KeyError("cairn.nn.birnn: no parameters rnn.l0.fwd.*")
    H = p["rnn.l0.fwd.wh"].shape[0]
    xs = embedding(tokens, p, "embed").transpose(1, 0, 2)  # [N, B, E]
    steps, batch = tokens.dim(1, "i32"), tokens.dim(0, "i32")
    dt = p["embed.weight"].dtype
    sizes = (steps, batch, full((batch, H), 0.0, dt), full((steps, batch, H), 0.0, dt))
    for k in range(layers):
        fwd, f_last = _rnn_direction(xs, lengths, sizes, p, f"rnn.l{k}.fwd", cell == "lstm",
                                     False)
        bwd, b_last = _rnn_direction(xs, lengths, sizes, p, f"rnn.l{k}.bwd", cell == "lstm",
                                     True)
        xs = concat([fwd, bwd], axis=-1)
    if tag:
        return linear(xs.transpose(1, 0, 2), p, "out")
    return linear(concat([f_last, b_last], axis=-1), p, "out")


def cross_entropy(logits, labels):
    """Mean over rows of -log softmax(logits)[label]."""
    return -gather(log_softmax(logits), labels, axis=1, batch_dims=1).mean()


def accuracy(logits, labels):
    return (logits.argmax(-1, labels.dtype) == labels).astype("f32").mean()
