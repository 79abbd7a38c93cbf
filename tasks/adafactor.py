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
            grad = grad.astype("float32")
            state = self.moments.setdefault(p.name, {"step": 0})
            state["step"] += 1
            lr = base_lr * p.optimize_attr.get("learning_rate", 1.0)
            beta2t = 1.0 - state["step"] ** self.decay_rate
            update = grad * grad + self.eps[0]
            if len(grad.shape) >= 2:
                row, col = update.mean(axis=-1), update.mean(axis=-2)
                state["row"] = row * (1 - beta2t) if "row" not in state else state["row"] * beta2t + row * (1 - beta2t)
                state["col"] = col * (1 - beta2t) if "col" not in state else state["col"] * beta2t + col * (1 - beta2t)
                r = paddle.rsqrt(state["row"] / state["row"].mean(axis=-1, keepdim=True)).unsqueeze(-1)
                c = paddle.rsqrt(state["col"]).unsqueeze(-2)
                update = r * c * grad
            else:
                state["sq"] = update * (1 - beta2t) if "sq" not in state else \
                    state["sq"] * beta2t + update * (1 - beta2t)
                update = paddle.rsqrt(state["sq"]) * grad
            update = update / paddle.clip(self._rms(update) / self.clip_threshold, min=1.0) * lr
            value = p.astype("float32")
            if self.decay and (self.apply_decay is None or self.apply_decay(p.name)):
                value = value - value * (self.decay * lr)
            p.set_value((value - update).astype(p.dtype))

