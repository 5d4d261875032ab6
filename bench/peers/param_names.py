"""The peers' parameter names: Cairn's ParamStore declaration order for
each model kind, shared by jax_models.py and tf_models.py (no framework
import, so either twin loads without the other)."""

# Parameter-name prefixes (a golden case's config.json may rename them).
DEFAULT_NAMES = {
    "embed": "embed",
    "projection": "projection",
    "reduce": "reduce",
    "tracker": "tracker",
    "predictor": "predictor",
    "mlp": "mlp",
    "out": "out",
    "rnn": "rnn",
}


def param_names(kind, cfg, names=None):
    n = {**DEFAULT_NAMES, **(names or {})}
    if kind in ("spinn_snli", "treelstm_sst"):
        T = 0 if kind == "treelstm_sst" else cfg.get("tracker", 0)
        out = [n["embed"] + ".weight", n["projection"] + ".weight", n["projection"] + ".bias"]
        if T > 0:
            out += [f"{n['tracker']}.cell.{w}" for w in ("wx", "wh", "b")]
        if kind == "spinn_snli" and cfg.get("mode", "pi") == "predicted":
            out += [n["predictor"] + ".weight", n["predictor"] + ".bias"]
        out += [f"{n['reduce']}.{w}" for w in ("left.weight", "left.bias", "right.weight")]
        if T > 0:
            out.append(n["reduce"] + ".track.weight")
        if kind == "spinn_snli":
            for k in range(cfg["mlp_layers"] + 1):
                out += [f"{n['mlp']}.{k}.weight", f"{n['mlp']}.{k}.bias"]
        else:
            out += [n["out"] + ".weight", n["out"] + ".bias"]
        return out
    if kind in ("birnn_classify", "birnn_tag"):
        out = [n["embed"] + ".weight"]
        cell_params = ("wx", "wh", "b") if cfg["cell"] == "lstm" else ("wx", "wh", "bx", "bh")
        for k in range(cfg["layers"]):
            for d in ("fwd", "bwd"):
                out += [f"{n['rnn']}.l{k}.{d}.{w}" for w in cell_params]
        return out + [n["out"] + ".weight", n["out"] + ".bias"]
    raise ValueError(f"unknown kind {kind!r}")
