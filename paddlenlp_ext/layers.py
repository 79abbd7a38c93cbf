"""Layers shared by the ports.

Linear: paddle's nn.Linear (weight [in, out], same parameter names) whose CPU path is one addmm forward and three
matmuls backward. paddle's CPU F.linear is matmul + broadcast add, and the add's backward (a column reduction) cost
71 ms of a 164 ms fwd+bwd for [1024, 768] x [768, 3072]; as `ones @ grad` it costs 0.4 ms. On GPU (cuBLAS epilogue)
and under AMP the stock F.linear is used.
"""
from __future__ import annotations

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddle.autograd import PyLayer


class _LinearCPU(PyLayer):
    @staticmethod
    def forward(ctx, x, weight, bias):
        ctx.save_for_backward(x, weight)
        shape = x.shape
        y = paddle.addmm(bias.unsqueeze(0), x.reshape([-1, shape[-1]]), weight)
        return y.reshape(shape[:-1] + [weight.shape[1]])

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensor()
        g2 = grad.reshape([-1, grad.shape[-1]])
        x2 = x.reshape([-1, x.shape[-1]])
        grad_x = paddle.matmul(g2, weight, transpose_y=True).reshape(x.shape)
        grad_w = paddle.matmul(x2, g2, transpose_x=True)
        grad_b = paddle.matmul(paddle.ones([1, g2.shape[0]], g2.dtype), g2).reshape([-1])
        return grad_x, grad_w, grad_b


class Linear(nn.Linear):
    def forward(self, x):
        if self.bias is None or not x.place.is_cpu_place() or paddle.amp.is_autocast_enabled():
            return F.linear(x, self.weight, self.bias)
        return _LinearCPU.apply(x, self.weight, self.bias)
