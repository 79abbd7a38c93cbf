"""No host synchronisation inside an optimizer step, on either backend: the optimizers the task scripts build
(tasks.backends: AdamW and Adafactor, the kit's per-parameter learning rates and weight decay, gradient clipping by
global norm) step without turning a tensor into a Python number or a numpy array. On a GPU each such conversion is a
stall; here every conversion path of the framework's tensor type is counted while a step runs."""
import types

import numpy as np
import pytest

CONVERSIONS = ("__float__", "__int__", "__bool__", "__index__", "item", "numpy", "tolist")


class Counting:
    """Patch the tensor type's conversions to record their calls (and still work) while active: `calls` the names,
    `tensors` the tensors converted."""

    def __init__(self, cls):
        self.cls, self.calls, self.tensors, self.saved = cls, [], [], {}

    def __enter__(self):
        for name in CONVERSIONS:
            original = getattr(self.cls, name, None)
            if original is None:
                continue
            self.saved[name] = original

            def counted(t, *a, _name=name, _original=original, **kw):
                self.calls.append(_name)
                self.tensors.append(t)
                return _original(t, *a, **kw)
            setattr(self.cls, name, counted)
        return self

    def __exit__(self, *exc):
        for name, original in self.saved.items():
            setattr(self.cls, name, original)


def training_args(backend, optim):
    from tasks.arguments import training_arguments_class
    ta = training_arguments_class(backend)
    return ta(output_dir="unused", optim=optim, learning_rate=5e-4, weight_decay=0.01, max_grad_norm=1.0,
              report_to="none", **({"use_cpu": True} if backend == "torch" else {}))


def test_the_counter_sees_a_sync():
    """The check can fail: a conversion inside the counted region is seen, on both frameworks."""
    import paddle
    import torch
    with Counting(paddle.Tensor) as c:
        float(paddle.ones([2]).sum())
    with Counting(torch.Tensor) as t:
        torch.ones(2).sum().item()
    assert c.calls[:1] == ["__float__"] and t.calls == ["item"]


@pytest.mark.parametrize("optim", ["adamw", "adafactor"])
def test_paddle_optimizer_step_never_syncs(optim):
    import paddlenlp_ext  # noqa: F401  (paddle's CPU settings first)
    import paddle

    from tasks.backends import get_backend
    paddle.seed(0)
    model = paddle.nn.Sequential(paddle.nn.Linear(8, 16), paddle.nn.LayerNorm(16), paddle.nn.Linear(16, 3))
    backend = get_backend("paddle")
    named = backend.trainable(model)
    rates = {n: (0.8 if i % 2 else 1.0, 0.01 if "weight" in n and p.ndim == 2 else 0.0)
             for i, (n, p) in enumerate(named)}
    opt = backend.optimizer(types.SimpleNamespace(lr_scheduler=5e-4), named, rates, training_args("paddle", optim))
    assert opt._grad_clip is not None and type(opt).__name__ == {"adamw": "AdamW", "adafactor": "Adafactor"}[optim]
    x = paddle.to_tensor(np.random.RandomState(0).randn(4, 8).astype("float32"))
    for _ in range(3):  # the first step creates the moments, the later ones update them
        (model(x) ** 2).mean().backward()
        before = [p.numpy().copy() for p in model.parameters()]
        with Counting(paddle.Tensor) as c:
            opt.step()
        opt.clear_grad()
        assert c.calls == [], f"{optim} step synchronised: {c.calls}"
        assert all(not np.array_equal(b, p.numpy()) for b, p in zip(before, model.parameters()))  # it stepped


@pytest.mark.parametrize("optim", ["adamw", "adafactor"])
def test_torch_optimizer_step_never_syncs(optim):
    import torch

    from tasks.backends import get_backend
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LayerNorm(16), torch.nn.Linear(16, 3))
    backend = get_backend("torch")
    named = backend.trainable(model)
    rates = {n: (0.8 if i % 2 else 1.0, 0.01 if n.endswith("weight") and p.ndim == 2 else 0.0)
             for i, (n, p) in enumerate(named)}
    training = training_args("torch", "adafactor" if optim == "adafactor" else "adamw_torch")
    opt = backend.optimizer(None, named, rates, training)
    x = torch.from_numpy(np.random.RandomState(0).randn(4, 8).astype("float32"))
    for _ in range(3):
        (model(x) ** 2).mean().backward()
        before = [p.detach().clone() for p in model.parameters()]
        with Counting(torch.Tensor) as c:
            torch.nn.utils.clip_grad_norm_(model.parameters(), training.max_grad_norm)  # as HF's Trainer clips
            opt.step()
        opt.zero_grad(set_to_none=True)
        # torch keeps a non-capturable optimizer's step counters on the host on purpose: reading them is no device
        # synchronisation (a GPU run never waits for it); any other conversion is
        counters = [s["step"] for s in opt.state.values() if torch.is_tensor(s.get("step"))]
        synced = [n for n, t in zip(c.calls, c.tensors) if not any(t is k for k in counters)]
        assert synced == [], f"{optim} step synchronised: {synced}"
        assert optim != "adamw" or len(c.calls) == len(counters)  # what was left out: exactly the step counters
        assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))
