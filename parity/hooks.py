"""Per-layer recording for the compare report, written once for both frameworks.

A `LayerRecorder` hooks every named sub-layer that exists under the same name in the torch reference and in the Paddle
port (the ports mirror the reference module by module, so names are the match; no definition-order guessing):
- forward: each call's output tensors, keyed `name` (a tensor) or `name[i]` (element i of a tuple), `name@k` for the
  k-th call of a layer used more than once (Funnel's block_repeats), in the order the calls *finish* (inner layers before
  the layer that contains them, so the first failing entry is the innermost culprit);
- backward: the gradient of each call's floating-point inputs, keyed `name:in0`, `name:in:key` (keyword inputs). A
  pre-hook hands the layer a clone of each input and records the clone's gradient, so the number is this layer's input
  gradient alone (not summed with other users of the same tensor). Entries are kept in the order backward computes them,
  so the first failing one names the layer whose backward went wrong.
"""
from __future__ import annotations

import functools
from collections import Counter
from typing import Dict, List, Tuple

import numpy as np


def named_modules(fw: str, model) -> dict:
    """{name: sub-layer}, the root (name "") left out; the same in both frameworks."""
    items = model.named_modules() if fw == "torch" else model.named_sublayers()
    return {n: m for n, m in items if n}


def module_names(fw: str, model) -> List[str]:
    return list(named_modules(fw, model))


def matched_names(torch_model, paddle_model) -> Tuple[List[str], List[str], List[str]]:
    """(names in both, only in torch, only in paddle), in the torch model's definition order."""
    t, p = module_names("torch", torch_model), module_names("paddle", paddle_model)
    ps = set(p)
    return [n for n in t if n in ps], [n for n in t if n not in ps], [n for n in p if n not in set(t)]


class LayerRecorder:
    """Use as a context manager around one forward + backward."""

    def __init__(self, fw: str, model, names, grads: bool = True, store=None):
        """names: layer names present in both models, or {record key: {"torch": name, "paddle": name}} where the
        two models name a layer differently (parity/ecosystem.py); records are keyed by the record key.
        store(kind): the mapping records go to (default a dict; parity.spill.SpillStore keeps them on disk)."""
        self.fw, self.model, self.want_grads = fw, model, grads
        self.names = {k: v[fw] for k, v in names.items()} if isinstance(names, dict) else {n: n for n in names}
        store = store or (lambda kind: {})
        self.outputs: Dict[str, np.ndarray] = store("layer_outputs")
        self.input_grads: Dict[str, np.ndarray] = store("layer_input_grads")
        self._calls: Counter = Counter()
        self._current: Dict[str, str] = {}
        self._handles = []

    # -- framework differences, kept in one place ------------------------------------------------------------------
    def _is_float_tensor(self, x, need_grad: bool) -> bool:
        if self.fw == "torch":
            import torch
            ok = isinstance(x, torch.Tensor) and x.is_floating_point()
            return ok and (x.requires_grad or not need_grad)
        import paddle
        ok = isinstance(x, paddle.Tensor) and x.dtype in (paddle.float16, paddle.bfloat16, paddle.float32,
                                                          paddle.float64)
        return ok and (not x.stop_gradient or not need_grad)

    def _numpy(self, t) -> np.ndarray:
        return np.array(t.detach().cpu().numpy()) if self.fw == "torch" else t.numpy()

    def __enter__(self):
        modules = named_modules(self.fw, self.model)
        for name, module_name in self.names.items():
            m = modules[module_name]
            pre, post = functools.partial(self._pre, name), functools.partial(self._post, name)
            if self.fw == "torch":
                self._handles += [m.register_forward_pre_hook(pre, with_kwargs=True), m.register_forward_hook(post)]
            else:
                self._handles += [m.register_forward_pre_hook(pre, with_kwargs=True),
                                  m.register_forward_post_hook(post)]
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles = []
        self.model = None  # the records stay; the model may be freed

    # -- hooks ------------------------------------------------------------------------------------------------------
    def _pre(self, name, module, args, kwargs):
        self._calls[name] += 1
        n = self._calls[name]
        key = self._current[name] = name if n == 1 else f"{name}@{n}"
        if not self.want_grads:
            return None
        args, kwargs, changed = list(args), dict(kwargs), False
        for i, a in enumerate(args):
            if self._is_float_tensor(a, need_grad=True):
                args[i], changed = self._tap(a, f"{key}:in{i}"), True
        for k, a in kwargs.items():
            if self._is_float_tensor(a, need_grad=True):
                kwargs[k], changed = self._tap(a, f"{key}:in:{k}"), True
        return (tuple(args), kwargs) if changed else None

    def _tap(self, tensor, label):
        clone = tensor.clone()

        def record(grad):
            self.input_grads[label] = self._numpy(grad)
        clone.register_hook(record)
        return clone

    def _post(self, name, module, args, output):
        key = self._current[name]
        if isinstance(output, (tuple, list)):
            for i, o in enumerate(output):
                if self._is_float_tensor(o, need_grad=False):
                    self.outputs[f"{key}[{i}]"] = self._numpy(o)
        elif self._is_float_tensor(output, need_grad=False):
            self.outputs[key] = self._numpy(output)
        return None


def layer_of(key: str) -> str:
    """`blocks.0.0.attention@2[1]` or `blocks.0.0.attention@2:in0` -> `blocks.0.0.attention@2`."""
    return key.split(":in")[0].split("[")[0]
