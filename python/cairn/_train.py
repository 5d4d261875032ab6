"""`cairn.train_step`: a whole training step (gradients, optional clipping,
the learning rate, the optimizer update) as one compiled function, built by
frontend/training/TrainStep.h around the gradient of a traced loss.

    step = cairn.train_step(loss, params, [cairn.f32[None, 3], cairn.i32[None]],
                            optimizer="adam", lr=1e-3)
    for xs, ys in batches:
        loss_value = step(xs, ys)        # params and optimizer state updated
    step.params                          # {name: array}

`loss(params, *batch)` gets the parameters as a dict of tensors (or a list,
when `params` is a list) and returns the float scalar loss, or a tuple
(loss, metric, ...) whose metrics are returned with the loss.
"""
import numpy as np

from . import _cairn
from ._dtypes import TensorSpec
from ._module import _spec, trace


def _schedule_options(step_size, gamma, total_steps, min_lr):
    given = {"step_size": step_size, "gamma": gamma, "total_steps": total_steps,
             "min_lr": min_lr}
    return {k: v for k, v in given.items() if v is not None}


def lr_at(step, lr=1e-3, warmup=0, schedule="constant", step_size=None, gamma=None,
          total_steps=None, min_lr=None):
    """The learning rate `train_step` with these settings uses for update
    `step` (0-based), computed by LrSchedule::at in C++ (for plots and
    progress lines)."""
    return _cairn.lr_schedule_at(schedule, float(lr), int(warmup),
                                 _schedule_options(step_size, gamma, total_steps, min_lr),
                                 int(step))


class train_step:
    """See the module docstring. Optimizers: "sgd" (momentum, dampening,
    weight_decay, nesterov), "adam" / "adamw" (beta1, beta2, eps,
    weight_decay, amsgrad), "rmsprop" (alpha, eps, weight_decay, momentum,
    centered), as torch.optim defines them; `clip_norm` clips by global norm.

    The learning rate follows `schedule` after `warmup` linear steps
    (frontend/training/LrSchedule.h, computed in-graph from the step
    counter): "constant" (`lr`), "step" (lr * gamma^floor(d / step_size),
    torch's StepLR), "exponential" (lr * gamma^d) or "cosine" (from lr down
    to `min_lr` over `total_steps`, warmup included); d counts the updates
    after the warmup. `step.last_lr` is the rate the last step used.

    `reassociate=True` compiles the step letting the passes reassociate float
    sums (as cairn-train does): faster weight gradients, rounding differs."""

    def __init__(self, loss_fn, params, batch_specs, optimizer="adam", lr=1e-3, warmup=0,
                 clip_norm=None, name="train_step", schedule="constant", step_size=None,
                 gamma=None, total_steps=None, min_lr=None, reassociate=False, **options):
        as_dict = isinstance(params, dict)
        self.names = list(params) if as_dict else [f"param{i}" for i in range(len(params))]
        self.values = [np.array(v, copy=True) for v in (params.values() if as_dict else params)]
        batch_specs = [_spec(s) for s in batch_specs]
        nb, names = len(batch_specs), self.names
        self._as_dict = as_dict

        def loss_of(*args):
            p = args[nb:]
            return loss_fn(dict(zip(names, p)) if as_dict else list(p), *args[:nb])

        specs = batch_specs + [TensorSpec.of(v) for v in self.values]
        f = trace(loss_of, *specs, name="loss")
        leaves = f._treedef.num_leaves()
        self.num_metrics = leaves - 1
        module = f.module
        grad = module.grad(f.name, list(range(nb, nb + len(names))))
        sched = _schedule_options(step_size, gamma, total_steps, min_lr)
        self.function, self.state, n_metrics, self._grad_norm = _cairn.build_train_step(
            module._h, grad, nb, names, optimizer, dict(options), float(lr), int(warmup),
            schedule, sched, clip_norm, name)
        assert n_metrics == self.num_metrics
        self.module = module
        self._run = module._h.compile(0, bool(reassociate)).run
        self.steps = 0
        self.last_lr = None
        self.last_grad_norm = None

    @property
    def params(self):
        return dict(zip(self.names, self.values)) if self._as_dict else list(self.values)

    def __call__(self, *batch):
        P, S = len(self.values), len(self.state)
        out = self._run(self.function, [*self.values, *self.state, *batch])
        self.values, self.state = out[:P], out[P:P + S]
        loss, metrics = out[P + S], out[P + S + 1:P + S + 1 + self.num_metrics]
        rest = out[P + S + 1 + self.num_metrics:]
        self.last_lr = float(rest[0])
        self.last_grad_norm = float(rest[1]) if self._grad_norm else None
        self.steps += 1
        return (loss, *metrics) if metrics else loss
