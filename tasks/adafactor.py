"""Adafactor for Paddle, step for step the algorithm of transformers' `Adafactor` (Shazeer & Stern 2018) as HF's
Trainer builds it for `--optim adafactor` (no relative step, no parameter scaling, no first moment): PaddleNLP has
none. Second moments factored into row and column means for matrices, full for vectors; update clipped by its RMS;
decoupled weight decay; per-parameter learning-rate multipliers (`optimize_attr["learning_rate"]`, the kit's layer
decay) as Paddle's own optimizers apply them. Checked equal to HF's over several steps (tests/test_clue.py).

A step never synchronises with the host (every value stays a tensor on the device; tests/test_optimizer_sync.py).
Its state lives in the optimizer object (not saved in checkpoints): resuming an Adafactor run restarts the moments.
"""
from __future__ import annotations

import math

import paddle


class Adafactor(paddle.optimizer.Optimizer):
    def __init__(self, learning_rate, parameters, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8,
                 weight_decay=0.0, apply_decay_param_fun=None, grad_clip=None):
        super().__init__(learning_rate=learning_rate, parameters=parameters, weight_decay=None, grad_clip=grad_clip)
        self.eps, self.clip_threshold, self.decay_rate = eps, clip_threshold, decay_rate
        self.decay, self.apply_decay = weight_decay, apply_decay_param_fun
        self.moments = {}

    @staticmethod
    def _rms(x):
        """On the device, as HF's (a 0-d tensor: no host synchronisation; the element count is the static shape's)."""
        return paddle.linalg.norm(x.flatten(), 2) / (math.prod(x.shape) ** 0.5)

    @paddle.no_grad()
    def step(self):
        pairs = [(p, p.grad) for p in self._parameter_list if not p.stop_gradient and p.grad is not None]
        if self._grad_clip is not None:
            pairs = self._grad_clip(pairs)
        base_lr = self.get_lr()
        for p, grad in pairs:
            # float32 parameters (the kit's training) are updated in place: no copy of the weight, the gradient or
            # the update beyond the ones the algorithm needs (HF's order of operations, so the same rounding)
            f32 = p.dtype == paddle.float32
            grad = grad if grad.dtype == paddle.float32 else grad.astype("float32")
            state = self.moments.setdefault(p.name, {"step": 0})
            state["step"] += 1
            lr = base_lr * p.optimize_attr.get("learning_rate", 1.0)
            beta2t = 1.0 - state["step"] ** self.decay_rate
            update = paddle.square(grad).scale_(1.0, bias=self.eps[0])
            if len(grad.shape) >= 2:
                row, col = update.mean(axis=-1), update.mean(axis=-2)
                if "row" not in state:
                    state["row"], state["col"] = row.scale_(1 - beta2t), col.scale_(1 - beta2t)
                else:
                    state["row"].scale_(beta2t).add_(row.scale_(1 - beta2t))
                    state["col"].scale_(beta2t).add_(col.scale_(1 - beta2t))
                r = paddle.rsqrt(state["row"] / state["row"].mean(axis=-1, keepdim=True)).unsqueeze(-1)
                c = paddle.rsqrt(state["col"]).unsqueeze(-2)
                update = (r * c).multiply_(grad)
            else:
                if "sq" not in state:
                    state["sq"] = update.scale_(1 - beta2t)
                else:
                    state["sq"].scale_(beta2t).add_(update.scale_(1 - beta2t))
                update = paddle.rsqrt(state["sq"]).multiply_(grad)
            update.divide_(paddle.clip(self._rms(update) / self.clip_threshold, min=1.0)).scale_(lr)
            value = p if f32 else p.astype("float32")
            if self.decay and (self.apply_decay is None or self.apply_decay(p.name)):
                value.add_(value * (-self.decay * lr))
            value.subtract_(update)
            if not f32:
                p.set_value(value.astype(p.dtype))
