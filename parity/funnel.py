"""Funnel parity harness: the same weights and numpy batches through transformers' Funnel (torch) and the Paddle port.

Used by the tests and by compare.py. Everything is compared in torch layout through the parameter table.
Dropout is switched off (rates set to 0) and both models stay in train mode, as Paddle's reproduction guide prescribes.
"""
from __future__ import annotations

import inspect
from typing import Dict, List, Optional, Sequence

import paddlenlp_ext.funnel as P  # first: sets paddle's CPU environment (paddlenlp_ext/_cpu.py)

import numpy as np
import paddle
import torch

import torch_ref.funnel as T
from reprokit.funnel_table import ARCHITECTURES, funnel_table
from reprokit.tables import convert_array

NO_DROPOUT = dict(hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0)

# A small config that still has three blocks, a repeated block, a decoder and several heads per layer.
TINY = dict(vocab_size=64, block_sizes=[2, 1, 2], block_repeats=[1, 2, 1], num_decoder_layers=2, d_model=32,
            n_head=4, d_head=8, d_inner=48, pad_token_id=0, **NO_DROPOUT)

# The released configurations (notes/funnel.md); the -base twins share the shape without a decoder.
RELEASED = {
    "small": dict(block_sizes=[4, 4, 4], d_model=768, n_head=12, d_inner=3072),
    "medium": dict(block_sizes=[6, 3, 3], block_repeats=[1, 2, 2], d_model=768, n_head=12, d_inner=3072),
    "intermediate": dict(block_sizes=[6, 6, 6], d_model=768, n_head=12, d_inner=3072),
    "large": dict(block_sizes=[8, 8, 8], d_model=1024, n_head=16, d_inner=4096),
    "xlarge": dict(block_sizes=[10, 10, 10], d_model=1024, n_head=16, d_inner=4096),
}
for _name in list(RELEASED):
    RELEASED[_name].update(vocab_size=30522, d_head=64)
    RELEASED[_name + "-base"] = dict(RELEASED[_name])

NUM_LABELS = {"FunnelForSequenceClassification": 3, "FunnelForTokenClassification": 5,
              "FunnelForQuestionAnswering": 2}


def config_kwargs(base: dict, arch: str, **overrides) -> dict:
    kw = dict(base)
    kw.update(overrides)
    if arch in NUM_LABELS and "num_labels" not in overrides:
        kw["num_labels"] = NUM_LABELS[arch]
    return kw


def rescale_(model: torch.nn.Module, seed: int, factor: float = 2.0) -> None:
    """Move HF's small init to trained-weight scale: Linear and relative weights x factor (trained BERT-base weights
    have std ~0.04, HF's Funnel init gives 0.0255 at d=768), LayerNorm gains U(0.5, 1.5), biases N(0, 0.2).
    Small init hides bugs (notes/alignment.md)."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm.weight" in name:
                p.copy_(0.5 + torch.rand(p.shape, generator=g, dtype=p.dtype))
            elif name.endswith(".bias") or "layer_norm" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g, dtype=p.dtype))
            elif "word_embeddings" not in name:
                p.mul_(factor)


def build_pair(kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32"):
    """A torch reference model and the Paddle port holding the same weights (loaded through the table)."""
    torch.manual_seed(seed)
    tm = T.CLASSES[arch](T.FunnelConfig(**kwargs))
    if realistic:
        rescale_(tm, seed)
    if dtype == "float64":
        tm = tm.double()
    tm.train()
    return tm, paddle_twin(tm, lambda: getattr(P, arch)(P.FunnelConfig(**kwargs)), dtype)


def paddle_twin(torch_model, make_paddle_model, dtype: str = "float32"):
    """`make_paddle_model()` built with paddle's default dtype set to `dtype`, holding `torch_model`'s weights
    (loaded through its parameter table), in train mode."""
    previous = paddle.get_default_dtype()
    paddle.set_default_dtype(dtype)
    try:
        pm = make_paddle_model()
    finally:
        paddle.set_default_dtype(previous)
    state = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    pm.load_numpy_state(state, "torch", origin="torch reference")
    pm.train()
    return pm


def make_batch(arch: str, kwargs: dict, lengths: Sequence[int] = (13, 7, 11), num_choices: int = 2,
               seed: int = 0) -> Dict[str, np.ndarray]:
    """A padded batch: rows of different lengths, token types 2 (CLS) / 0 / 1, labels for `arch`'s loss."""
    rng = np.random.RandomState(seed)
    rows = len(lengths) * (num_choices if arch == "FunnelForMultipleChoice" else 1)
    lens = np.resize(np.asarray(lengths), rows)
    L = int(lens.max())
    ids = rng.randint(5, kwargs["vocab_size"], size=(rows, L))
    mask = (np.arange(L)[None, :] < lens[:, None]).astype("int64")
    ids = np.where(mask == 1, ids, 0)
    tt = np.zeros((rows, L), dtype="int64")
    for r, n in enumerate(lens):
        tt[r, n // 2:n] = 1
    tt[:, 0] = 2
    batch = {"input_ids": ids.astype("int64"), "attention_mask": mask, "token_type_ids": tt}
    B = len(lengths)
    if arch == "FunnelForMultipleChoice":
        batch = {k: v.reshape(B, num_choices, L) for k, v in batch.items()}
        batch["labels"] = rng.randint(0, num_choices, size=B).astype("int64")
    elif arch == "FunnelForSequenceClassification":
        problem = kwargs.get("problem_type")
        if kwargs["num_labels"] == 1 or problem == "regression":   # float targets, MSE
            batch["labels"] = rng.standard_normal((B,) if kwargs["num_labels"] == 1 else (B, kwargs["num_labels"]))
        elif problem == "multi_label_classification":               # 0/1 float targets, BCE with logits
            batch["labels"] = rng.randint(0, 2, size=(B, kwargs["num_labels"])).astype("float64")
        else:
            batch["labels"] = rng.randint(0, kwargs["num_labels"], size=B).astype("int64")
    elif arch == "FunnelForTokenClassification":
        batch["labels"] = np.where(mask == 1, rng.randint(0, kwargs["num_labels"], size=(B, L)), -100).astype("int64")
    elif arch == "FunnelForMaskedLM":
        labels = np.where(rng.rand(B, L) < 0.4, ids, -100)
        labels[:, 1] = ids[:, 1]
        batch["labels"] = labels.astype("int64")
    elif arch == "FunnelForPreTraining":
        batch["labels"] = rng.randint(0, 2, size=(B, L)).astype("int64")
    elif arch == "FunnelForQuestionAnswering":
        batch["start_positions"] = rng.randint(0, L, size=B).astype("int64")
        batch["end_positions"] = rng.randint(0, L, size=B).astype("int64")
        batch["end_positions"][0] = L + 3  # out of range: clamped to L and ignored, as in HF
    return batch


def _named(outputs) -> Dict[str, object]:
    """Every tensor a model returned, named: logits, hidden_states.3, attentions.0, ..."""
    named = {}
    for key, value in outputs.items():
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                named[f"{key}.{i}"] = v
        else:
            named[key] = value
    return named


def _projections(named: Dict[str, np.ndarray], seed: int) -> Dict[str, np.ndarray]:
    rng = np.random.RandomState(seed)
    return {k: rng.standard_normal(v.shape) for k, v in sorted(named.items()) if k != "loss"}


class Side:
    """One framework's half of the harness."""

    def __init__(self, framework: str, model, dtype: str):
        self.fw, self.model, self.dtype = framework, model, dtype

    def tensor(self, array, grad=False):
        if self.fw == "torch":
            t = torch.tensor(array)
            return t.requires_grad_(True) if grad else t
        t = paddle.to_tensor(array)
        t.stop_gradient = not grad
        return t

    def forward(self, batch, inputs_embeds: Optional[np.ndarray] = None, output_all: bool = True):
        kwargs = {k: self.tensor(v.astype(self.dtype) if v.dtype.kind == "f" else v) for k, v in batch.items()}
        embeds = None
        if inputs_embeds is not None:
            kwargs.pop("input_ids")
            embeds = kwargs["inputs_embeds"] = self.tensor(inputs_embeds.astype(self.dtype), grad=True)

        if "return_dict" in inspect.signature(self.model.forward).parameters:
            kwargs["return_dict"] = True  # Funnel (HF-style outputs); the GAU-alpha models always return dicts
        out = self.model(**kwargs, output_hidden_states=output_all, output_attentions=output_all)
        return _named(out), embeds

    def numpy(self, t) -> np.ndarray:
        return t.detach().cpu().numpy() if self.fw == "torch" else t.numpy()

    def objective(self, named, projections):
        """loss (when the head has one) + sum_k <output_k, R_k>: a scalar whose gradient reaches every output."""
        total = named["loss"] if "loss" in named else 0.0
        for k, r in projections.items():
            total = total + (named[k] * self.tensor(r.astype(self.dtype))).sum()
        return total

    def training_objective(self, named, targets):
        """loss (when the head has one) + mean squared distance of each output to a fixed random target: positive and
        well conditioned, so a relative comparison of its value is meaningful (a projection sum can cancel to ~0)."""
        total = named["loss"] if "loss" in named else 0.0
        for k, r in targets.items():
            total = total + ((named[k] - self.tensor(r.astype(self.dtype))) ** 2).mean()
        return total

    def zero_grad(self):
        if self.fw == "torch":
            self.model.zero_grad(set_to_none=True)
        else:
            self.model.clear_gradients(set_to_zero=False)

    def params(self) -> Dict[str, object]:
        if self.fw == "torch":
            return dict(self.model.named_parameters(remove_duplicate=False))
        return dict(self.model.state_dict())

    def grads(self, table) -> Dict[str, np.ndarray]:
        """Gradient of every table parameter, in torch layout (zeros where a framework leaves it unset)."""
        params = self.params()
        out = {}
        for p in table:
            if p.tied_to:
                continue
            g = params[p.name].grad
            g = np.zeros(p.shape_in(self.fw)) if g is None else self.numpy(g)
            out[p.name] = convert_array(p, g, self.fw, "torch")
        return out

    def weights(self, table) -> Dict[str, np.ndarray]:
        params = self.params()
        return {p.name: convert_array(p, self.numpy(params[p.name]), self.fw, "torch") for p in table if not p.tied_to}


def sides(tm, pm, dtype="float32"):
    return Side("torch", tm, dtype), Side("paddle", pm, dtype)


def forward_backward(tm, pm, batch, dtype="float32", seed=0, inputs_embeds=False):
    """Run both sides on `batch`; return (forward outputs, gradients) as dicts of name -> (torch, paddle) arrays."""
    table = pm.param_table()
    st, sp = sides(tm, pm, dtype)
    embeds = None
    if inputs_embeds:
        rng = np.random.RandomState(seed + 7)
        shape = batch["input_ids"].shape + (tm.config.d_model,)
        embeds = rng.standard_normal(shape)
    return tuple(side_forward_backward(side, batch, table, seed, embeds) for side in (st, sp))


def side_forward_backward(side: "Side", batch, table, seed=0, embeds=None):
    """One framework: every output and every parameter gradient (torch layout), as numpy."""
    side.zero_grad()
    named, embeds_t = side.forward(batch, inputs_embeds=embeds)
    numpy_named = {k: side.numpy(v) for k, v in named.items()}
    proj = _projections(numpy_named, seed)
    side.objective(named, proj).backward()
    grads = side.grads(table)
    if embeds_t is not None:
        grads["inputs_embeds"] = side.numpy(embeds_t.grad)
    side.zero_grad()
    return numpy_named, grads


def train_steps(tm, pm, batches: List[dict], lr=1e-3, weight_decay=0.01, warmup=2, eps=1e-6, dtype="float32",
                seed=0):
    """len(batches) AdamW steps with linear warmup on both sides. Returns per-step losses and final weights."""
    table = pm.param_table()
    st, sp = sides(tm, pm, dtype)
    schedule = lambda step: min(1.0, (step + 1) / warmup)  # noqa: E731
    t_opt = torch.optim.AdamW(tm.parameters(), lr=lr, weight_decay=weight_decay, eps=eps)
    t_sched = torch.optim.lr_scheduler.LambdaLR(t_opt, schedule)
    p_sched = paddle.optimizer.lr.LambdaDecay(learning_rate=lr, lr_lambda=schedule)
    p_opt = paddle.optimizer.AdamW(learning_rate=p_sched, parameters=pm.parameters(), weight_decay=weight_decay,
                                   epsilon=eps)
    losses = {"torch": [], "paddle": []}
    for step, batch in enumerate(batches):
        for side, opt, sched in ((st, t_opt, t_sched), (sp, p_opt, p_sched)):
            side.zero_grad()
            named, _ = side.forward(batch, output_all=False)
            targets = _projections({k: side.numpy(v) for k, v in named.items()}, seed + step)
            obj = side.training_objective(named, targets)
            obj.backward()
            opt.step()
            sched.step()
            if side.fw == "paddle":
                opt.clear_grad()
            losses[side.fw].append(float(side.numpy(obj)))
    return losses, st.weights(table), sp.weights(table)


# ---- the full check, used by the tests and compare.py ----------------------------------------------------------------
FWD_TOL = dict(tol_max=1e-5, tol_mean=1e-6)          # forward: max abs / mean abs
GRAD_TOL = dict(tol_max=1e-5, relative_to_scale=True)  # gradients: max abs <= 1e-5 x max(1, max|grad|)
TRAIN_TOL = dict(tol_max=1e-5, relative_to_scale=True)  # losses and weights after the steps, relative
# A tensor that misses the bar passes when the port's float32 error against the float64 reference is within
# FLOOR_FACTOR x the reference's own float32 error (worst measured on the tiny configs: 3.7x, on a mathematically
# zero gradient, decoder k_head.bias). The reference itself misses the bars at trained-weight scale (up to 2.6x).
FLOOR_FACTOR = 4.0
# The float64 runs check the logic: they must agree to ~1e-12. HF computes FunnelForPreTraining's loss in float32
# (labels.float()), so there float64 agreement is float32-limited.
FLOAT64_TOL = 1e-10
FLOAT64_TOL_FLOAT32_LOSS = 1e-6
FLOAT32_LOSS_ARCHS = ("FunnelForPreTraining",)
# Adam's normalised step m/(sqrt(v)+eps) is +-1 at step 1 and stays O(1) after: a parameter driven by pure noise
# moves at most about this many lr per step.
ADAM_NOISE_STEP = 3.0


def reference_table(kwargs: dict, arch: str):
    return funnel_table(T.FunnelConfig(**kwargs), arch)


def run_checks(kwargs: dict, arch: str, realistic: bool = False, seed: int = 0, lengths=(13, 7, 11),
               steps: int = 3, lr: float = 1e-5) -> dict:
    """Forward (every output), backward (every parameter), the inputs_embeds path (outputs and d/d inputs_embeds),
    `steps` AdamW steps; float32 torch vs paddle, with the float64 torch run as ground truth for the noise floor,
    and the float64 paddle run to show the float32 gap is rounding (the logic agrees to ~1e-12 there)."""
    from reprokit.diff import Diff, diff_dicts, with_noise_floor, zero_gradient_diffs

    batch = make_batch(arch, kwargs, lengths=lengths, seed=seed)
    table = reference_table(kwargs, arch)
    table_by_name = {p.name: p for p in table}
    pairs = {dt: build_pair(kwargs, arch, seed=seed, realistic=realistic, dtype=dt) for dt in ("float32", "float64")}
    runs = {}
    for dt, (tm, pm) in pairs.items():
        runs[dt] = {"ids": forward_backward(tm, pm, batch, dtype=dt, seed=seed),
                    "embeds": forward_backward(tm, pm, batch, dtype=dt, seed=seed, inputs_embeds=True)}
    out = {}
    for path in ("ids", "embeds"):
        (f32_t, g32_t), (f32_p, g32_p) = runs["float32"][path]
        (f64_t, g64_t), (f64_p, g64_p) = runs["float64"][path]
        if path == "embeds":  # only what the ids path does not already cover
            g32_t, g32_p, g64_t = ({"inputs_embeds": g["inputs_embeds"]} for g in (g32_t, g32_p, g64_t))
            g64_p = {"inputs_embeds": g64_p["inputs_embeds"]}
        fwd = with_noise_floor(diff_dicts(f32_t, f32_p, **FWD_TOL), f32_t, f32_p, f64_t, FLOOR_FACTOR)
        bwd = with_noise_floor(diff_dicts(g32_t, g32_p, **GRAD_TOL), g32_t, g32_p, g64_t, FLOOR_FACTOR)
        # HF casts attention scores to float32 even in float64 models, so their gradient is rounded to float32 on
        # the way back and the "zero" key-bias gradient is ~1e-8 of its layer's scale there: float32 resolution.
        bwd = zero_gradient_diffs(bwd, table, {"torch": g32_t, "paddle": g32_p, "float64": g64_t}, "float64",
                                  tol=GRAD_TOL["tol_max"], tol_truth=FLOAT64_TOL_FLOAT32_LOSS)
        out[f"forward_{path}"] = fwd
        out[f"backward_{path}"] = bwd
        tol64 = FLOAT64_TOL_FLOAT32_LOSS if arch in FLOAT32_LOSS_ARCHS else FLOAT64_TOL
        out[f"float64_forward_{path}"] = diff_dicts(f64_t, f64_p, tol_max=tol64, relative_to_scale=True)
        out[f"float64_backward_{path}"] = diff_dicts(g64_t, g64_p, tol_max=tol64, relative_to_scale=True)
    if steps:
        batches = [make_batch(arch, kwargs, lengths=lengths, seed=seed + s) for s in range(steps)]
        trained = {}
        for dt in ("float32", "float64"):
            tm, pm = build_pair(kwargs, arch, seed=seed, realistic=realistic, dtype=dt)
            initial = Side("torch", tm, dt).weights(table)
            trained[dt] = train_steps(tm, pm, batches, lr=lr, dtype=dt, seed=seed)
        (l32, w32_t, w32_p), (l64, w64_t, _) = trained["float32"], trained["float64"]
        loss_t = {f"loss.step{i}": np.array(v) for i, v in enumerate(l32["torch"])}
        loss_p = {f"loss.step{i}": np.array(v) for i, v in enumerate(l32["paddle"])}
        loss_64 = {f"loss.step{i}": np.array(v) for i, v in enumerate(l64["torch"])}
        out["train_losses"] = with_noise_floor(diff_dicts(loss_t, loss_p, **TRAIN_TOL), loss_t, loss_p, loss_64,
                                               FLOOR_FACTOR)
        weights = with_noise_floor(diff_dicts(w32_t, w32_p, **TRAIN_TOL), w32_t, w32_p, w64_t, FLOOR_FACTOR)
        # zero-gradient parameters move only by noise-driven Adam steps (each at most ~lr): bound the move itself
        bound = ADAM_NOISE_STEP * lr * steps
        for i, d in enumerate(weights):
            p = table_by_name[d.name]
            if p.zero_grad_scale:
                moved = max(float(np.abs(w[d.name] - initial[d.name]).max()) for w in (w32_t, w32_p))
                weights[i] = Diff(d.name + " (zero gradient: moved only by noise)", d.shape, moved, 0.0,
                                  d.max_ref, bound, float("inf"))
        out["train_weights"] = weights
    return out


def funnel_body(arch: str) -> str:
    return ARCHITECTURES[arch][0]
