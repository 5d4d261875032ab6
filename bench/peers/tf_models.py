"""Cairn's models in TensorFlow 2 (graph mode, tf.function), for the peers
benchmark (bench/peers/): TensorFlow as the third peer, the system the SPINN
articles contrast their define-by-run implementations with. Our own
implementation, written from docs/models.md (the same math as Cairn's graphs,
jax_models.py and the PyTorch reference), in the form TF 2 runs best:

- SPINN encoder (SNLI classifier, tracker on or off, given or predicted
  transitions) and TreeLSTM (SST): the thin stack [B, N, 2H] with per-row
  stack and buffer pointers carried through ONE tf.while_loop; the step's
  transition column is read from a TensorArray (the transitions unstacked by
  step), predicted moves are written to one. Each step every row reads the
  buffer top and the two stack tops (batched tf.gather), runs the tracker,
  computes both a SHIFT and a REDUCE, and writes the chosen item back with one
  tf.tensor_scatter_nd_update (a no-op row writes its own top back).
  Unlike jax.lax.while_loop, TF 2's while_loop (while_v2) is
  reverse-differentiable: the training step differentiates the same loop with
  tf.GradientTape (TF keeps the intermediates the gradient needs in
  accumulators); no scan over a padded step count is needed.
- BiLSTM / BiGRU classifier: Keras 3 layers, keras.layers.Bidirectional(
  LSTM / GRU(return_sequences=True, return_state=True)) per layer, the padding
  given as a mask (a masked step keeps the state, so the backward direction,
  run on the reversed sequence, starts at each row's own last token).
  Weights are loaded from Cairn's parameters:
    LSTM: kernel = wx [in, 4H], recurrent_kernel = wh [H, 4H], bias = b;
          Keras's gate order i, f, c, o is Cairn's (and PyTorch's) i, f, g, o;
          one bias, as Cairn (PyTorch's second LSTM bias is fixed at 0).
    GRU:  Keras's gate order is z, r, h; Cairn's (PyTorch's) r, z, n, so the
          first two H-blocks of wx, wh, bx, bh are swapped; reset_after=True
          (Keras's default) is PyTorch's formula n = tanh(x.Wn + bxn +
          r * (h.Wn + bhn)), with bias [2, 3H] = [bx; bh].
  On the CPU Keras runs them as a tf.while_loop over time of its generic RNN
  step (the fused cuDNN kernel is GPU-only).

Parameters: tf.Variable per Cairn parameter (Cairn's layout: Linear weights
[in, out], x . W + b), from the case's .npy files; the Keras layers hold
their own variables, assigned from the same files.

Training step (one tf.function): mean cross-entropy against integer labels,
gradients by tf.GradientTape (an embedding's gradient, tf.IndexedSlices with
repeated rows, made dense first), clipping by global norm 5 with
torch.nn.utils.clip_grad_norm_'s formula (scale = min(1, 5 / (norm + 1e-6));
tf.clip_by_global_norm has no eps), then Adam (lr 1e-3) with torch.optim.Adam's
formulas written out on the variables (Keras's Adam puts eps inside the bias
correction: a different update). The Variables are updated in place, as
torch's; `reset()` puts back the exported parameters and a fresh Adam state.

tf.function traces once: the input signatures leave the batch and length
dimensions unknown, so one graph serves every bucket shape of a whole pass
(JAX compiles one executable per distinct shape).

Where TF's semantics differ from Cairn's, it is said at the place.
"""
import os

import numpy as np
import tensorflow as tf

from param_names import DEFAULT_NAMES, param_names

SHIFT, REDUCE = 1, 2


def set_threads(n):
    """Before any op runs: intra-op N, inter-op 1 (bench.py's child)."""
    tf.config.threading.set_intra_op_parallelism_threads(n)
    tf.config.threading.set_inter_op_parallelism_threads(1)


# ----------------------------------------------------------------------------
# Layers


def linear(p, name, x, bias=True):
    y = tf.matmul(x, p[name + ".weight"])
    return y + p[name + ".bias"] if bias else y


def lstm_cell(p, name, x, h, c):
    g = tf.matmul(x, p[name + ".wx"]) + tf.matmul(h, p[name + ".wh"]) + p[name + ".b"]
    i, f, gg, o = tf.split(g, 4, axis=-1)
    c2 = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(gg)
    return tf.sigmoid(o) * tf.tanh(c2), c2


def tree_reduce(p, name, left_h, left_c, right_h, right_c, track_h=None):
    """TreeLSTMReduce: g split a, i, f1, f2, o."""
    g = tf.matmul(left_h, p[name + ".left.weight"]) + p[name + ".left.bias"]
    g = g + tf.matmul(right_h, p[name + ".right.weight"])
    if track_h is not None:
        g = g + tf.matmul(track_h, p[name + ".track.weight"])
    a, i, f1, f2, o = tf.split(g, 5, axis=-1)
    c = tf.tanh(a) * tf.sigmoid(i) + tf.sigmoid(f1) * left_c + tf.sigmoid(f2) * right_c
    return tf.sigmoid(o) * tf.tanh(c), c


def mlp(p, name, x, layers):
    for k in range(layers):
        x = tf.nn.relu(linear(p, f"{name}.{k}", x))
    return linear(p, f"{name}.{layers}", x)


def cross_entropy(logits, labels):
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                         logits=logits))


# ----------------------------------------------------------------------------
# SPINN encoder: one tf.while_loop over the steps


def spinn_encode(p, cfg, names, tokens, transitions, lengths):
    """tokens [B, N], transitions [B, S] (None in predicted mode), lengths [B].
    Returns (root h [B, H], moves [B, 2N-1] int32 in predicted mode else None)."""
    H, T = cfg["hidden"], cfg.get("tracker", 0)
    predicted = cfg.get("mode", "pi") == "predicted"
    tracked = T > 0
    B, N = tf.shape(tokens)[0], tf.shape(tokens)[1]
    lens = tf.cast(lengths, tf.int32)
    emb = tf.gather(p[names["embed"] + ".weight"], tokens)
    buf = linear(p, names["projection"], emb)  # [B, N, 2H]
    if predicted:
        steps = tf.maximum(2 * N - 1, 0)
        given = None
    else:
        steps = tf.shape(transitions)[1]
        # The step's column of every row, read per step from a TensorArray.
        given = tf.TensorArray(tf.int32, size=steps, element_shape=[None],
                               clear_after_read=False).unstack(
            tf.transpose(tf.cast(transitions, tf.int32)))
    moves_ta = tf.TensorArray(tf.int32, size=steps, element_shape=[None]) if predicted else None

    def step(s, sp, bp, stack, th, tc, moves):
        # 1. Read (indices clamped into range, masked where nothing exists).
        has_buf = bp < lens
        buf_row = tf.gather(buf, tf.minimum(bp, N - 1), batch_dims=1)
        top_raw = tf.gather(stack, tf.maximum(sp - 1, 0), batch_dims=1)
        second_raw = tf.gather(stack, tf.maximum(sp - 2, 0), batch_dims=1)
        buf_top = tf.where(has_buf[:, None], buf_row, 0.0)
        top = tf.where((sp >= 1)[:, None], top_raw, 0.0)
        second = tf.where((sp >= 2)[:, None], second_raw, 0.0)
        # 2. Tracker.
        nth = ntc = None
        if tracked:
            tin = tf.concat([buf_top[:, :H], top[:, :H], second[:, :H]], axis=1)
            nth, ntc = lstm_cell(p, names["tracker"] + ".cell", tin, th, tc)
        # 3. The move.
        can_shift = has_buf & (sp < N)
        can_reduce = sp >= 2
        live = s < 2 * lens - 1
        if predicted:
            logits = linear(p, names["predictor"], nth)
            invalid = tf.stack([~can_shift, ~can_reduce], axis=1)
            masked = tf.where(invalid, tf.constant(-np.inf, logits.dtype), logits)
            move = tf.cast(tf.argmax(masked, axis=1), tf.int32) + 1  # ties: the first, SHIFT
        else:
            move = given.read(s)
        do_shift = (move == SHIFT) & can_shift & live
        do_reduce = (move == REDUCE) & can_reduce & live
        acts = do_shift | do_reduce
        # 4. Apply: both candidates for every row, one scatter.
        rh, rc = tree_reduce(p, names["reduce"], second[:, :H], second[:, H:], top[:, :H],
                             top[:, H:], nth)
        reduced = tf.concat([rh, rc], axis=1)
        slot = tf.where(do_shift, sp, tf.where(do_reduce, sp - 2, tf.maximum(sp - 1, 0)))
        item = tf.where(do_shift[:, None], buf_row,
                        tf.where(do_reduce[:, None], reduced, top_raw))
        stack = tf.tensor_scatter_nd_update(stack, tf.stack([tf.range(B), slot], axis=1), item)
        sp = tf.where(do_shift, sp + 1, tf.where(do_reduce, sp - 1, sp))
        bp = tf.where(do_shift, bp + 1, bp)
        if tracked:
            th = tf.where(acts[:, None], nth, th)
            tc = tf.where(acts[:, None], ntc, tc)
        if predicted:
            moves = moves.write(s, tf.where(acts, move, 0))
        return s + 1, sp, bp, stack, th, tc, moves

    zrows = tf.zeros([B], tf.int32)
    # A loop variable must be a tensor: without a tracker th / tc are
    # [B, 0] and never read.
    Tz = T if tracked else 0
    init = (tf.constant(0), zrows, zrows, tf.zeros([B, N, 2 * H], buf.dtype),
            tf.zeros([B, Tz], buf.dtype), tf.zeros([B, Tz], buf.dtype),
            moves_ta if predicted else tf.constant(0))
    out = tf.while_loop(lambda s, *_: s < steps, step, init, maximum_iterations=steps)
    sp, stack = out[1], out[3]
    root = tf.gather(stack, tf.maximum(sp - 1, 0), batch_dims=1)[:, :H]
    root = tf.where((sp >= 1)[:, None], root, 0.0)
    moves = tf.transpose(out[6].stack()) if predicted else None
    return root, moves


def spinn_snli(p, cfg, names, tokens, transitions, lengths):
    """tokens [2, B, N], transitions [2, B, S] or None, lengths [2, B]."""
    B, N = tf.shape(tokens)[1], tf.shape(tokens)[2]
    flat_t = None if transitions is None else tf.reshape(transitions, [2 * B, -1])
    roots, moves = spinn_encode(p, cfg, names, tf.reshape(tokens, [2 * B, N]), flat_t,
                                tf.reshape(lengths, [2 * B]))
    pr, hy = roots[:B], roots[B:]
    feats = tf.concat([pr, hy, pr - hy, pr * hy], axis=1)
    return mlp(p, names["mlp"], feats, cfg["mlp_layers"]), moves


def treelstm_sst(p, cfg, names, tokens, transitions, lengths):
    cfg = {**cfg, "tracker": 0, "mode": "pi"}
    roots, _ = spinn_encode(p, cfg, names, tokens, transitions, lengths)
    return linear(p, names["out"], roots)


# ----------------------------------------------------------------------------
# BiLSTM / BiGRU classifier on Keras layers


def _zr(a, H):
    """Swaps the first two H-blocks of the last axis: GRU gates r, z, n
    (Cairn, PyTorch) <-> z, r, n (Keras); its own inverse."""
    return np.concatenate([a[..., H:2 * H], a[..., :H], a[..., 2 * H:]], axis=-1)


class KerasBiRnn:
    """Embedding (a Variable) -> L x Bidirectional(LSTM | GRU) -> Linear on
    [final fwd h, final bwd h] of the last layer."""

    def __init__(self, params, cfg, names):
        import keras
        self.cell = cfg["cell"]
        if self.cell not in ("lstm", "gru"):
            raise ValueError(f"unknown cell {self.cell!r}")
        E, H, L = cfg["embed"], cfg["hidden"], cfg["layers"]
        self.embed = params[names["embed"] + ".weight"]
        self.out_w = params[names["out"] + ".weight"]
        self.out_b = params[names["out"] + ".bias"]
        self.layers = []
        for k in range(L):
            d_in = E if k == 0 else 2 * H
            if self.cell == "lstm":
                rnn = keras.layers.LSTM(H, return_sequences=True, return_state=True)
            else:
                rnn = keras.layers.GRU(H, return_sequences=True, return_state=True,
                                       reset_after=True)
            bi = keras.layers.Bidirectional(rnn, merge_mode="concat")
            bi.build((None, None, d_in))
            for direction, layer in (("fwd", bi.forward_layer), ("bwd", bi.backward_layer)):
                base = f"{names['rnn']}.l{k}.{direction}"
                layer.set_weights(self._keras_weights(params, base, H))
            self.layers.append(bi)
        # The variables in a fixed order, and for each the Cairn parameters
        # its gradient maps back to (check_tf.py compares them by name).
        self.variables = [self.embed, self.out_w, self.out_b]
        self.cairn_names = [[names["embed"] + ".weight"], [names["out"] + ".weight"],
                            [names["out"] + ".bias"]]
        for k, bi in enumerate(self.layers):
            for direction, layer in (("fwd", bi.forward_layer), ("bwd", bi.backward_layer)):
                base = f"{names['rnn']}.l{k}.{direction}"
                cell = layer.cell
                self.variables += [cell.kernel, cell.recurrent_kernel, cell.bias]
                self.cairn_names += [[base + ".wx"], [base + ".wh"],
                                     [base + ".b"] if self.cell == "lstm"
                                     else [base + ".bx", base + ".bh"]]
        if len(self.variables) != len(self.trainable()):
            raise ValueError("KerasBiRnn: the Keras layers hold variables not mapped here")

    def trainable(self):
        out = [self.embed, self.out_w, self.out_b]
        for bi in self.layers:
            out += list(bi.trainable_variables)
        return out

    def to_cairn(self, grads):
        """Gradients in self.variables' order -> {Cairn name: array}."""
        H = self.layers[0].forward_layer.units
        out = {}
        for names, g in zip(self.cairn_names, grads):
            g = np.asarray(g)
            if self.cell == "gru" and len(names) == 2:  # bias [2, 3H] -> bx, bh
                out[names[0]], out[names[1]] = _zr(g[0], H), _zr(g[1], H)
            elif self.cell == "gru" and names[0].endswith((".wx", ".wh")):
                out[names[0]] = _zr(g, H)
            else:
                out[names[0]] = g
        return out

    def _keras_weights(self, params, base, H):
        wx = params[base + ".wx"].numpy()
        wh = params[base + ".wh"].numpy()
        if self.cell == "lstm":
            return [wx, wh, params[base + ".b"].numpy()]

        bias = np.stack([_zr(params[base + ".bx"].numpy(), H),
                         _zr(params[base + ".bh"].numpy(), H)])
        return [_zr(wx, H), _zr(wh, H), bias]

    def __call__(self, tokens, lengths):
        x = tf.gather(self.embed, tokens)  # [B, N, E]
        mask = tf.sequence_mask(lengths, tf.shape(tokens)[1])
        hf = hb = None
        for bi in self.layers:
            outs = bi(x, mask=mask)
            x = outs[0]
            # [seq, fwd states..., bwd states...]: LSTM (h, c) each, GRU h.
            per = 2 if self.cell == "lstm" else 1
            hf, hb = outs[1], outs[1 + per]
        return tf.matmul(tf.concat([hf, hb], axis=1), self.out_w) + self.out_b


# ----------------------------------------------------------------------------
# A model of a case: forward and training step as tf.functions


def _spec(kind, predicted):
    """Input signatures with the batch and length dimensions unknown."""
    i32 = tf.int32
    if kind == "spinn_snli":
        sig = {"tokens": tf.TensorSpec([2, None, None], i32),
               "lengths": tf.TensorSpec([2, None], i32)}
        if not predicted:
            sig["transitions"] = tf.TensorSpec([2, None, None], i32)
        return sig
    if kind == "treelstm_sst":
        return {"tokens": tf.TensorSpec([None, None], i32),
                "transitions": tf.TensorSpec([None, None], i32),
                "lengths": tf.TensorSpec([None], i32)}
    return {"tokens": tf.TensorSpec([None, None], i32), "lengths": tf.TensorSpec([None], i32)}


class TfModel:
    """One case's model in TF. `forward(x)` -> {"logits", ["transitions"]};
    `train_step(x, labels)` -> (loss, global grad norm before clipping),
    updating the variables and Adam state in place; `reset()` restores the
    exported parameters and a fresh Adam state. x: dict of int32 tensors."""

    def __init__(self, kind, cfg, names, case_dir, param_list, lr=1e-3, clip=5.0,
                 jit_compile=False):
        self.kind, self.cfg = kind, cfg
        self.names = {**DEFAULT_NAMES, **(names or {})}
        if kind not in ("spinn_snli", "treelstm_sst", "birnn_classify"):
            raise ValueError(f"tf_models: kind {kind!r} not implemented (the tagger is not here)")
        if param_names(kind, cfg, names) != list(param_list):
            raise ValueError("tf_models' parameter names differ from the case's")
        self.initial = {k: np.load(os.path.join(case_dir, "params", k + ".npy"))
                        for k in param_list}
        for k, a in self.initial.items():
            if a.dtype != np.float32:
                raise ValueError(f"param {k}: expected float32, got {a.dtype}")
        self.p = {k: tf.Variable(a, name=k.replace(".", "_")) for k, a in self.initial.items()}
        self.predicted = kind == "spinn_snli" and cfg.get("mode", "pi") == "predicted"
        if kind == "birnn_classify":
            self.rnn = KerasBiRnn(self.p, cfg, self.names)
            self.variables = self.rnn.variables
            # The Keras layers' own variables replace Cairn's cell tensors.
            self._keras_init = [v.numpy() for v in self.variables]
        else:
            self.rnn = None
            self.variables = list(self.p.values())
        self.lr, self.clip = lr, clip
        self.step_count = tf.Variable(0, dtype=tf.int32)
        self.m = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        sig = _spec(kind, self.predicted)
        # jit_compile: XLA compiles each concrete shape at its first call.
        self.forward = tf.function(self._forward, input_signature=[sig], jit_compile=jit_compile)
        self.train_step = tf.function(self._train_step,
                                      input_signature=[sig, tf.TensorSpec([None], tf.int32)],
                                      jit_compile=jit_compile)

    def _logits(self, x):
        if self.kind == "spinn_snli":
            return spinn_snli(self.p, self.cfg, self.names, x["tokens"], x.get("transitions"),
                              x["lengths"])
        if self.kind == "treelstm_sst":
            return treelstm_sst(self.p, self.cfg, self.names, x["tokens"], x["transitions"],
                                x["lengths"]), None
        return self.rnn(x["tokens"], x["lengths"]), None

    def _forward(self, x):
        logits, moves = self._logits(x)
        return {"logits": logits} if moves is None else {"logits": logits, "transitions": moves}

    def _train_step(self, x, labels):
        with tf.GradientTape() as tape:
            logits, _ = self._logits(x)
            loss = cross_entropy(logits, labels)
        grads = tape.gradient(loss, self.variables)
        # An embedding's gradient is IndexedSlices with a row per token
        # (repeats included): its norm is the dense one's only once summed.
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                 for g, v in zip(grads, self.variables)]
        norm = tf.sqrt(tf.add_n([tf.reduce_sum(tf.square(g)) for g in grads]))
        scale = tf.minimum(1.0, self.clip / (norm + 1e-6))
        self._adam(grads, scale)
        return loss, norm

    def _adam(self, grads, scale):
        """torch.optim.Adam (weight_decay 0) on the variables, gradients
        times `scale`; bias corrections as in jax_models."""
        t = self.step_count.assign_add(1)
        tf_ = tf.cast(t, tf.float32)
        b1, b2, eps = 0.9, 0.999, 1e-8
        bc1 = -tf.math.expm1(tf_ * np.float32(np.log(b1)))
        bc2_sqrt = tf.sqrt(-tf.math.expm1(tf_ * np.float32(np.log(b2))))
        for var, g, m, v in zip(self.variables, grads, self.m, self.v):
            g = g * scale
            m_new = m.assign(b1 * m + (1.0 - b1) * g)
            v_new = v.assign(b2 * v + (1.0 - b2) * g * g)
            var.assign_sub((self.lr / bc1) * m_new / (tf.sqrt(v_new) / bc2_sqrt + eps))

    def apply_adam(self, grads):
        """For checks: one Adam step of the training step's code on given
        (already clipped) gradients, one per self.variables."""
        if not hasattr(self, "_adam_fn"):
            self._adam_fn = tf.function(lambda gs: self._adam(gs, tf.constant(1.0)))
        self._adam_fn([tf.constant(g) for g in grads])

    def _grads(self, x, labels):
        with tf.GradientTape() as tape:
            logits, _ = self._logits(x)
            loss = cross_entropy(logits, labels)
        grads = tape.gradient(loss, self.variables)
        return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                      for g, v in zip(grads, self.variables)]

    def grads(self, x, labels, clip=False, by_variable=False):
        """For checks (not timed): (loss, {Cairn name: dense gradient}) or,
        by_variable, (loss, [gradient per self.variables]); clip: scaled as
        the training step scales them."""
        if not hasattr(self, "_grads_fn"):
            self._grads_fn = tf.function(self._grads)
        loss, grads = self._grads_fn(x, labels)
        grads = [g.numpy() for g in grads]
        if clip:
            norm = np.sqrt(sum(np.sum(np.square(g, dtype=np.float32)) for g in grads))
            scale = np.float32(min(1.0, self.clip / (norm + 1e-6)))
            grads = [g * scale for g in grads]
        if by_variable:
            return loss, grads
        if self.rnn is not None:
            return loss, self.rnn.to_cairn(grads)
        return loss, dict(zip(self.p.keys(), grads))

    def reset(self):
        """The exported parameters and a fresh Adam state (outside timing)."""
        if self.rnn is not None:
            for var, a in zip(self.variables, self._keras_init):
                var.assign(a)
        else:
            for k, var in self.p.items():
                var.assign(self.initial[k])
        self.step_count.assign(0)
        for m, v in zip(self.m, self.v):
            m.assign(tf.zeros_like(m))
            v.assign(tf.zeros_like(v))


def inputs_to_tf(kind, cfg, inputs):
    """A case's numpy inputs as the int32 tensors the signature takes (the
    predicted SPINN takes no transitions)."""
    predicted = kind == "spinn_snli" and cfg.get("mode", "pi") == "predicted"
    return {k: tf.constant(v, tf.int32) for k, v in inputs.items()
            if not (predicted and k == "transitions")}
