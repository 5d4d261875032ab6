"""Cairn's models in JAX/XLA, written from docs/models.md, for the peers
benchmark (bench/peers/): the same math as Cairn's graphs and the PyTorch
reference (bench/reference/), in the form JAX compiles best.

Parameters are a dict {Cairn name: float32 array in Cairn's layout} (Linear
weights [in, out], x . W + b), so the .npy files of a golden case load as they
are. Data inputs are int32 as in docs/models.md ("Data encoding").

Models (each a pure function of (params, inputs); make_forward/make_train_step
wrap them in jax.jit):

- SPINN encoder: the thin stack [B, N, 2H] with per-row stack and buffer
  pointers; every step all rows read the buffer top and the two stack tops
  with one batched gather each, compute both a SHIFT and a REDUCE, and write
  the chosen item back with one batched scatter (.at[rows, slot].set). A
  no-op row writes its own top item back, so its stack is unchanged.
  Inference runs the steps in lax.while_loop; training (and anything that is
  reverse-differentiated, which while_loop cannot be) runs the same step
  function in lax.scan over the padded step count T.
  Given transitions ("PI") or predicted ones (predictor on the tracker's h,
  invalid moves masked to -inf, argmax, ties to SHIFT).
- SNLI classifier: premise and hypothesis through one encoder batched
  together ([2B, ...]); features [p, h, p - h, p * h] -> Mlp.
- TreeLSTM sentiment (SST): the encoder without tracker, PI, root h -> Linear.
- BiLSTM / BiGRU classifier and tagger: per layer and direction one lax.scan
  over time; a row updates its state only while t < length, so the backward
  direction starts at each row's own last token; outputs are zero at padded
  positions.

Training step: mean cross-entropy against integer labels, gradients by
jax.value_and_grad, optional clipping by global norm
(torch.nn.utils.clip_grad_norm_), then Adam with torch.optim.Adam's formulas
(docs/training.md), all in one jitted function.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from param_names import DEFAULT_NAMES, param_names  # noqa: F401 (bench.py calls jm.param_names)

SHIFT, REDUCE = 1, 2


# ----------------------------------------------------------------------------
# Layers (docs/models.md, "Parameters")


def linear(p, name, x, bias=True):
    y = x @ p[name + ".weight"]
    return y + p[name + ".bias"] if bias else y


def lstm_gates(g, c):
    """g = x.wx + h.wh + b, split i, f, g, o."""
    i, f, gg, o = jnp.split(g, 4, axis=-1)
    c2 = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(gg)
    return jax.nn.sigmoid(o) * jnp.tanh(c2), c2


def lstm_cell(p, name, x, h, c):
    g = x @ p[name + ".wx"] + h @ p[name + ".wh"] + p[name + ".b"]
    return lstm_gates(g, c)


def gru_combine(gx, gh, h):
    """gx = x.wx + bx, gh = h.wh + bh, split r, z, n (PyTorch's GRU)."""
    xr, xz, xn = jnp.split(gx, 3, axis=-1)
    hr, hz, hn = jnp.split(gh, 3, axis=-1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1.0 - z) * n + z * h


def tree_reduce(p, name, left_h, left_c, right_h, right_c, track_h=None):
    """TreeLSTMReduce: g split a, i, f1, f2, o."""
    g = left_h @ p[name + ".left.weight"] + p[name + ".left.bias"]
    g = g + right_h @ p[name + ".right.weight"]
    if track_h is not None:
        g = g + track_h @ p[name + ".track.weight"]
    a, i, f1, f2, o = jnp.split(g, 5, axis=-1)
    c = (jnp.tanh(a) * jax.nn.sigmoid(i) + jax.nn.sigmoid(f1) * left_c
         + jax.nn.sigmoid(f2) * right_c)
    return jax.nn.sigmoid(o) * jnp.tanh(c), c


def mlp(p, name, x, layers):
    for k in range(layers):
        x = jax.nn.relu(linear(p, f"{name}.{k}", x))
    return linear(p, f"{name}.{layers}", x)


def cross_entropy(logits, labels):
    """Mean cross-entropy of logits [B, C] against int labels [B]."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


# ----------------------------------------------------------------------------
# SPINN encoder (docs/models.md, "SPINN encoder")


def _spinn_step(p, cfg, names, buf, lens, carry, s, given):
    """One step for all rows. carry = (sp, bp, stack, th, tc); `given` is the
    step's transition column [B] (PI mode) or None (predicted). Returns the
    new carry and the move each row made (0 for a no-op)."""
    sp, bp, stack, th, tc = carry
    B, N, twoH = stack.shape
    H = twoH // 2
    rows = jnp.arange(B)
    tracked = th is not None

    # 1. Read (indices clamped into range, then masked where nothing exists).
    has_buf = bp < lens
    buf_row = buf[rows, jnp.minimum(bp, N - 1)]
    top_raw = stack[rows, jnp.maximum(sp - 1, 0)]
    second_raw = stack[rows, jnp.maximum(sp - 2, 0)]
    buf_top = jnp.where(has_buf[:, None], buf_row, 0.0)
    top = jnp.where((sp >= 1)[:, None], top_raw, 0.0)
    second = jnp.where((sp >= 2)[:, None], second_raw, 0.0)

    # 2. Tracker.
    if tracked:
        tin = jnp.concatenate([buf_top[:, :H], top[:, :H], second[:, :H]], axis=1)
        nth, ntc = lstm_cell(p, names["tracker"] + ".cell", tin, th, tc)

    # 3. The move.
    can_shift = has_buf & (sp < N)
    can_reduce = sp >= 2
    live = s < 2 * lens - 1
    if given is None:
        logits = linear(p, names["predictor"], nth)
        invalid = jnp.stack([~can_shift, ~can_reduce], axis=1)
        masked = jnp.where(invalid, -jnp.inf, logits)
        move = jnp.argmax(masked, axis=1).astype(jnp.int32) + 1  # ties: SHIFT
    else:
        move = given
    do_shift = (move == SHIFT) & can_shift & live
    do_reduce = (move == REDUCE) & can_reduce & live
    acts = do_shift | do_reduce

    # 4. Apply: both candidates computed for every row, one scatter.
    rh, rc = tree_reduce(p, names["reduce"], second[:, :H], second[:, H:], top[:, :H],
                         top[:, H:], nth if tracked else None)
    reduced = jnp.concatenate([rh, rc], axis=1)
    slot = jnp.where(do_shift, sp, jnp.where(do_reduce, sp - 2, jnp.maximum(sp - 1, 0)))
    item = jnp.where(do_shift[:, None], buf_row,
                     jnp.where(do_reduce[:, None], reduced, top_raw))
    stack = stack.at[rows, slot].set(item)
    sp = jnp.where(do_shift, sp + 1, jnp.where(do_reduce, sp - 1, sp))
    bp = jnp.where(do_shift, bp + 1, bp)
    if tracked:
        th = jnp.where(acts[:, None], nth, th)
        tc = jnp.where(acts[:, None], ntc, tc)
    return (sp, bp, stack, th, tc), jnp.where(acts, move, 0)


def spinn_encode(p, cfg, tokens, transitions, lengths, loop="while", names=None):
    """tokens [B, N], transitions [B, T] (None in predicted mode), lengths [B].
    Returns (root h [B, H], moves [B, 2N-1] in predicted mode else None).
    loop: "while" (lax.while_loop: inference) or "scan" (lax.scan over T:
    reverse-differentiable)."""
    names = names or DEFAULT_NAMES
    H, T = cfg["hidden"], cfg.get("tracker", 0)
    predicted = cfg.get("mode", "pi") == "predicted"
    B, N = tokens.shape
    lens = lengths.astype(jnp.int32)
    buf = linear(p, names["projection"], jnp.take(p[names["embed"] + ".weight"], tokens, axis=0))
    steps = max(2 * N - 1, 0) if predicted else transitions.shape[1]
    given = None if predicted else transitions.astype(jnp.int32)

    zrows = jnp.zeros((B,), jnp.int32)
    carry = (zrows, zrows, jnp.zeros((B, N, 2 * H), buf.dtype),
             jnp.zeros((B, T), buf.dtype) if T > 0 else None,
             jnp.zeros((B, T), buf.dtype) if T > 0 else None)
    step = functools.partial(_spinn_step, p, cfg, names, buf, lens)

    if loop == "while":
        moves0 = jnp.zeros((B, steps), jnp.int32) if predicted else None

        def cond(state):
            return state[0] < steps

        def body(state):
            s, c, moves = state
            col = None if predicted else lax.dynamic_index_in_dim(given, s, 1, keepdims=False)
            c, move = step(c, s, col)
            if predicted:
                moves = lax.dynamic_update_index_in_dim(moves, move, s, 1)
            return s + 1, c, moves

        _, carry, moves = lax.while_loop(cond, body, (jnp.int32(0), carry, moves0))
    elif loop == "scan":
        def body(c, x):
            s, col = x
            return step(c, s, col)

        xs = (jnp.arange(steps, dtype=jnp.int32), None if predicted else given.T)
        carry, moves = lax.scan(body, carry, xs)
        moves = moves.T if predicted else None
    else:
        raise ValueError(f"loop must be 'while' or 'scan', got {loop!r}")

    sp, _, stack = carry[0], carry[1], carry[2]
    root = stack[jnp.arange(B), jnp.maximum(sp - 1, 0), :H]
    return jnp.where((sp >= 1)[:, None], root, 0.0), moves


def spinn_snli(p, cfg, tokens, transitions, lengths, loop="while", names=None):
    """tokens [2, B, N], transitions [2, B, T] or None, lengths [2, B].
    Returns (logits [B, classes], moves [2B, 2N-1] or None)."""
    names = names or DEFAULT_NAMES
    _, B, N = tokens.shape
    flat_t = None if transitions is None else transitions.reshape(2 * B, -1)
    roots, moves = spinn_encode(p, cfg, tokens.reshape(2 * B, N), flat_t,
                                lengths.reshape(2 * B), loop, names)
    pr, hy = roots[:B], roots[B:]
    feats = jnp.concatenate([pr, hy, pr - hy, pr * hy], axis=1)
    return mlp(p, names["mlp"], feats, cfg["mlp_layers"]), moves


def treelstm_sst(p, cfg, tokens, transitions, lengths, loop="while", names=None):
    names = names or DEFAULT_NAMES
    cfg = {**cfg, "tracker": 0, "mode": "pi"}
    roots, _ = spinn_encode(p, cfg, tokens, transitions, lengths, loop, names)
    return linear(p, names["out"], roots)


# ----------------------------------------------------------------------------
# Recurrent models (docs/models.md, "Recurrent models")


def _direction(p, name, cell, xs, mask, reverse):
    """One direction of one layer: xs [N, B, D] time-major, mask [N, B].
    Returns (outputs [N, B, H], zero where masked; final h [B, H])."""
    B = xs.shape[1]
    H = p[name + ".wh"].shape[0]
    wh = p[name + ".wh"]
    if cell == "lstm":
        gx = xs @ p[name + ".wx"] + p[name + ".b"]  # the input half of every step at once

        def body(carry, x):
            h, c = carry
            g, m = x
            h2, c2 = lstm_gates(g + h @ wh, c)
            m = m[:, None]
            return (jnp.where(m, h2, h), jnp.where(m, c2, c)), jnp.where(m, h2, 0.0)

        init = (jnp.zeros((B, H), xs.dtype), jnp.zeros((B, H), xs.dtype))
    else:
        gx = xs @ p[name + ".wx"] + p[name + ".bx"]
        bh = p[name + ".bh"]

        def body(h, x):
            g, m = x
            h2 = gru_combine(g, h @ wh + bh, h)
            m = m[:, None]
            return jnp.where(m, h2, h), jnp.where(m, h2, 0.0)

        init = jnp.zeros((B, H), xs.dtype)
    final, ys = lax.scan(body, init, (gx, mask), reverse=reverse)
    return ys, (final[0] if cell == "lstm" else final)


def birnn(p, cfg, tokens, lengths, tag=False, names=None):
    """tokens [B, N], lengths [B]. Classifier: logits [B, C] from [final fwd h,
    final bwd h] of the last layer; tagger: logits [B, N, C]."""
    names = names or DEFAULT_NAMES
    cell = cfg["cell"]
    if cell not in ("lstm", "gru"):
        raise ValueError(f"unknown cell {cell!r}")
    N = tokens.shape[1]
    xs = jnp.take(p[names["embed"] + ".weight"], tokens.T, axis=0)  # [N, B, E]
    mask = jnp.arange(N, dtype=jnp.int32)[:, None] < lengths.astype(jnp.int32)[None, :]
    for k in range(cfg["layers"]):
        base = f"{names['rnn']}.l{k}"
        fwd, hf = _direction(p, base + ".fwd", cell, xs, mask, reverse=False)
        bwd, hb = _direction(p, base + ".bwd", cell, xs, mask, reverse=True)
        xs = jnp.concatenate([fwd, bwd], axis=2)
    if tag:
        return jnp.transpose(linear(p, names["out"], xs), (1, 0, 2))
    return linear(p, names["out"], jnp.concatenate([hf, hb], axis=1))


# ----------------------------------------------------------------------------
# Forward, loss, Adam, train step


def logits_fn(kind, cfg, loop="while", names=None):
    """(params, inputs dict) -> logits [B, C] (or [B, N, C] for the tagger).
    inputs: tokens, lengths and, except in predicted mode, transitions."""
    names = {**DEFAULT_NAMES, **(names or {})}
    if kind == "spinn_snli":
        return lambda p, x: spinn_snli(p, cfg, x["tokens"], x.get("transitions"), x["lengths"],
                                       loop, names)[0]
    if kind == "treelstm_sst":
        return lambda p, x: treelstm_sst(p, cfg, x["tokens"], x["transitions"], x["lengths"],
                                         loop, names)
    if kind in ("birnn_classify", "birnn_tag"):
        tag = kind == "birnn_tag"
        return lambda p, x: birnn(p, cfg, x["tokens"], x["lengths"], tag, names)
    raise ValueError(f"unknown kind {kind!r}")


def make_forward(kind, cfg, names=None):
    """jit((params, inputs) -> dict of outputs): "logits" and, in predicted
    mode, "transitions" (the moves taken, [2B, 2N-1] int32). Inference:
    SPINN runs lax.while_loop."""
    names = {**DEFAULT_NAMES, **(names or {})}
    if kind == "spinn_snli":
        def fwd(p, x):
            logits, moves = spinn_snli(p, cfg, x["tokens"], x.get("transitions"), x["lengths"],
                                       "while", names)
            return {"logits": logits} if moves is None else {"logits": logits,
                                                             "transitions": moves}
        return jax.jit(fwd)
    f = logits_fn(kind, cfg, "while", names)
    return jax.jit(lambda p, x: {"logits": f(p, x)})


def make_loss(kind, cfg, names=None):
    """(params, inputs, labels [B]) -> mean cross-entropy of the classifier's
    logits, SPINN run with lax.scan so it can be reverse-differentiated.
    (In predicted mode the moves are an argmax: no gradient reaches the
    predictor through them, as in the PyTorch reference.)"""
    if kind == "birnn_tag":
        raise ValueError("the tagger has no classifier loss here")
    f = logits_fn(kind, cfg, "scan", names)
    return lambda p, x, labels: cross_entropy(f(p, x), labels)


def make_grad(kind, cfg, names=None):
    """jit((params, inputs, labels) -> (loss, grads dict))."""
    return jax.jit(jax.value_and_grad(make_loss(kind, cfg, names)))


def adam_init(params):
    zeros = {k: jnp.zeros_like(v) for k, v in params.items()}
    return {"step": jnp.zeros((), jnp.int32), "exp_avg": zeros,
            "exp_avg_sq": {k: jnp.zeros_like(v) for k, v in params.items()}}


def clip_by_global_norm(grads, max_norm, eps=1e-6):
    """torch.nn.utils.clip_grad_norm_(norm_type=2): scale = min(1, max/(norm + eps))."""
    norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads.values()))
    scale = jnp.minimum(1.0, max_norm / (norm + eps))
    return {k: g * scale for k, g in grads.items()}, norm


def adam_update(params, grads, state, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.Adam (weight_decay 0, amsgrad off), single-tensor form:
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)."""
    t = state["step"] + 1
    tf = t.astype(jnp.float32)
    # 1 - beta^t as -expm1(t log beta), log beta taken in f64 on the host:
    # float32's 1 - 0.999**t loses ~1e-5 relative to torch's f64 scalars.
    bc1 = -jnp.expm1(tf * np.float32(np.log(beta1)))
    bc2_sqrt = jnp.sqrt(-jnp.expm1(tf * np.float32(np.log(beta2))))
    new_p, new_m, new_v = {}, {}, {}
    for k, p in params.items():
        g = grads[k]
        m = beta1 * state["exp_avg"][k] + (1.0 - beta1) * g
        v = beta2 * state["exp_avg_sq"][k] + (1.0 - beta2) * g * g
        new_p[k] = p - (lr / bc1) * m / (jnp.sqrt(v) / bc2_sqrt + eps)
        new_m[k], new_v[k] = m, v
    return new_p, {"step": t, "exp_avg": new_m, "exp_avg_sq": new_v}


def make_train_step(kind, cfg, names=None, lr=1e-3, clip_norm=5.0):
    """jit((params, adam_state, inputs, labels) -> (params, adam_state, loss)):
    mean cross-entropy, gradients, clipping by global norm (None: off), Adam.
    The bench/exec training-step benchmark's recipe (clip 5, Adam 1e-3)."""
    loss_fn = make_loss(kind, cfg, names)

    def step(params, state, x, labels):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, labels)
        if clip_norm is not None:
            grads, _ = clip_by_global_norm(grads, clip_norm)
        params, state = adam_update(params, grads, state, lr)
        return params, state, loss

    return jax.jit(step, donate_argnums=(0, 1))


def labels_for(batch, classes):
    """The golden gradients' labels: row b gets class b % classes."""
    return jnp.asarray(np.arange(batch) % classes, jnp.int32)
