"""The parity machinery shared by every model: the same weights and numpy batches through the torch reference and the
Paddle port, compared output by output, gradient by gradient, layer by layer, and over a few AdamW steps.

A model plugs in through a *spec* module (parity/funnel.py, parity/gau_alpha.py) that provides:
`NAME`, `ARCHITECTURES`, `TINY`, `RELEASED`, `config_kwargs(base, arch)`, `build_pair(kwargs, arch, seed, realistic,
dtype)`, `make_batch(arch, kwargs, lengths, seed)`, `reference_table(kwargs, arch)`, `embeds_dim(kwargs)` (None when the
model has no inputs_embeds path), `FLOAT32_LOSS_ARCHS` and `LAYER_FLOAT64_TOL` (the float64 bar per layer).
Dropout is switched off (rates set to 0) and both models stay in train mode, as Paddle's reproduction guide prescribes.
"""
from __future__ import annotations

import inspect
from typing import Dict, List, Optional

import paddlenlp_ext  # noqa: F401  (first: sets paddle's CPU environment, paddlenlp_ext/_cpu.py)

import numpy as np
import paddle
import torch

from reprokit.diff import Diff, diff_arrays, diff_dicts, with_noise_floor, zero_gradient_diffs
from reprokit.tables import convert_array

from .hooks import LayerRecorder, layer_of, matched_names
from .spill import Spill


def paddle_twin(torch_model, make_paddle_model, dtype: str = "float32"):
    """`make_paddle_model()` built with paddle's default dtype set to `dtype`, holding `torch_model`'s weights
    (loaded through its parameter table), in train mode."""
    state = {k: v.detach().cpu().numpy() for k, v in torch_model.state_dict().items()}
    return paddle_from_state(state, make_paddle_model, dtype)


def paddle_from_state(state, make_paddle_model, dtype: str = "float32"):
    """The Paddle model holding `state` (torch names and layout: a dict or a SpillStore), in train mode."""
    previous = paddle.get_default_dtype()
    paddle.set_default_dtype(dtype)
    try:
        pm = make_paddle_model()
    finally:
        paddle.set_default_dtype(previous)
    pm.load_numpy_state(state, "torch", origin="torch reference")
    pm.train()
    return pm


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

    def grads(self, table, out=None, release: bool = False) -> Dict[str, np.ndarray]:
        """Gradient of every table parameter, in torch layout (zeros where a framework leaves it unset), into `out`
        (a dict, or a SpillStore). release: free each gradient once read (peak memory: one gradient set, not two)."""
        params = self.params()
        out = {} if out is None else out
        for p in table:
            if p.tied_to:
                continue
            param = params[p.name_in(self.fw)]
            g = param.grad
            g = np.zeros(p.shape_in(self.fw)) if g is None else self.numpy(g)
            out[p.name] = convert_array(p, g, self.fw, "torch")
            del g
            if release and self.fw == "torch":
                param.grad = None
            elif release:
                param.clear_gradient(set_to_zero=False)
        return out

    def weights(self, table, out=None) -> Dict[str, np.ndarray]:
        params = self.params()
        out = {} if out is None else out
        for p in table:
            if not p.tied_to:
                out[p.name] = convert_array(p, self.numpy(params[p.name_in(self.fw)]), self.fw, "torch")
        return out


def sides(tm, pm, dtype="float32"):
    return Side("torch", tm, dtype), Side("paddle", pm, dtype)


def forward_backward(tm, pm, batch, dtype="float32", seed=0, embeds_dim: Optional[int] = None):
    """Run both sides on `batch`; return (forward outputs, gradients) as dicts of name -> (torch, paddle) arrays.
    With embeds_dim, the inputs_embeds path: random embeddings of that width replace input_ids."""
    table = pm.param_table()
    embeds = None
    if embeds_dim:
        rng = np.random.RandomState(seed + 7)
        embeds = rng.standard_normal(batch["input_ids"].shape + (embeds_dim,))
    return tuple(side_forward_backward(side, batch, table, seed, embeds) for side in sides(tm, pm, dtype))


def side_forward_backward(side: "Side", batch, table, seed=0, embeds=None, recorder: Optional[LayerRecorder] = None,
                          store=None, param_grads: bool = True):
    """One framework: every output and every parameter gradient (torch layout), as numpy. With a recorder, its hooks
    are on during this forward and backward (per-layer outputs and input gradients). store(kind): where outputs and
    gradients go (default dicts; SpillStores on disk for big models). param_grads=False: d/d inputs_embeds only."""
    store = store or (lambda kind: {})
    side.zero_grad()
    if recorder is not None:
        recorder.__enter__()
    try:
        named, embeds_t = side.forward(batch, inputs_embeds=embeds)
        numpy_named = store("outputs")
        for k, v in named.items():
            numpy_named[k] = side.numpy(v)
        proj = _projections({k: np.empty(0) if k == "loss" else np.broadcast_to(0.0, tuple(t.shape))
                             for k, t in named.items()}, seed)
        side.objective(named, proj).backward()
        del named, proj
    finally:
        if recorder is not None:
            recorder.__exit__()
    grads = side.grads(table, out=store("grads"), release=True) if param_grads else store("grads")
    if embeds_t is not None:
        grads["inputs_embeds"] = side.numpy(embeds_t.grad)
    side.zero_grad()
    return numpy_named, grads


def train_side(side: "Side", table, batches: List[dict], lr=1e-3, weight_decay=0.01, warmup=2, eps=1e-6, seed=0,
               out=None, offload=None):
    """len(batches) AdamW steps with linear warmup on one framework. Returns (per-step objective, final weights in
    torch layout, into `out`). The two sides are independent, so they can train one after the other (half the peak
    memory). offload(kind) (torch only): a store for the optimizer state, which then lives on disk - each parameter
    is stepped by its own torch AdamW (the same algorithm, state loaded and saved per parameter) and its gradient
    released at once: a float64 xlarge steps without 2 x 3.7 GB of moments in memory."""
    schedule = lambda step: min(1.0, (step + 1) / warmup)  # noqa: E731
    if side.fw == "torch" and offload is not None:
        return _train_torch_offloaded(side, table, batches, lr, weight_decay, eps, seed, schedule, out, offload)
    if side.fw == "torch":
        opt = torch.optim.AdamW(side.model.parameters(), lr=lr, weight_decay=weight_decay, eps=eps)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    else:
        sched = paddle.optimizer.lr.LambdaDecay(learning_rate=lr, lr_lambda=schedule)
        opt = paddle.optimizer.AdamW(learning_rate=sched, parameters=side.model.parameters(),
                                     weight_decay=weight_decay, epsilon=eps)
    losses = []
    for step, batch in enumerate(batches):
        side.zero_grad()
        obj = _training_step_objective(side, batch, seed + step)
        obj.backward()
        opt.step()
        sched.step()
        if side.fw == "paddle":
            opt.clear_grad()
        losses.append(float(side.numpy(obj)))
    side.zero_grad()
    del opt, sched
    return losses, side.weights(table, out=out)


def _training_step_objective(side, batch, seed):
    named, _ = side.forward(batch, output_all=False)
    targets = _projections({k: np.broadcast_to(0.0, tuple(v.shape)) for k, v in named.items()}, seed)
    return side.training_objective(named, targets)


def _train_torch_offloaded(side, table, batches, lr, weight_decay, eps, seed, schedule, out, offload):
    moments = offload("adam_state")
    params = [(n, p) for n, p in side.model.named_parameters() if p.requires_grad]
    losses = []
    for step, batch in enumerate(batches):
        side.zero_grad()
        obj = _training_step_objective(side, batch, seed + step)
        obj.backward()
        losses.append(float(side.numpy(obj)))
        del obj
        for name, p in params:
            opt = torch.optim.AdamW([p], lr=lr * schedule(step), weight_decay=weight_decay, eps=eps, foreach=False)
            if step:
                opt.state[p] = {"step": torch.tensor(float(step), dtype=torch.float32),
                                "exp_avg": torch.from_numpy(moments[name + ".m"]),
                                "exp_avg_sq": torch.from_numpy(moments[name + ".v"])}
            if p.grad is None:  # torch's AdamW skips a parameter without a gradient
                continue
            opt.step()
            st = opt.state[p]
            if step + 1 < len(batches):  # the last step's moments are never read again
                moments[name + ".m"], moments[name + ".v"] = st["exp_avg"].numpy(), st["exp_avg_sq"].numpy()
            p.grad = None
            del opt, st
    side.zero_grad()
    return losses, side.weights(table, out=out)


def train_steps(tm, pm, batches: List[dict], lr=1e-3, weight_decay=0.01, warmup=2, eps=1e-6, dtype="float32",
                seed=0):
    """len(batches) AdamW steps with linear warmup on both sides. Returns per-step losses and final weights."""
    table = pm.param_table()
    kw = dict(lr=lr, weight_decay=weight_decay, warmup=warmup, eps=eps, seed=seed)
    (lt, wt), (lp, wp) = (train_side(side, table, batches, **kw) for side in sides(tm, pm, dtype))
    return {"torch": lt, "paddle": lp}, wt, wp


# ---- tolerances ------------------------------------------------------------------------------------------------------
FWD_TOL = dict(tol_max=1e-5, tol_mean=1e-6)          # forward: max abs / mean abs
GRAD_TOL = dict(tol_max=1e-5, relative_to_scale=True)  # gradients: max abs <= 1e-5 x max(1, max|grad|)
TRAIN_TOL = dict(tol_max=1e-5, relative_to_scale=True)  # losses and weights after the steps, relative
# A tensor that misses the bar passes when the port's float32 error against the float64 reference is within
# FLOOR_FACTOR x the reference's own float32 error (worst measured on the tiny configs: 3.7x, on a mathematically
# zero gradient, decoder k_head.bias). The reference itself misses the bars at trained-weight scale (up to 2.6x).
FLOOR_FACTOR = 4.0
# The float64 runs check the logic: they must agree to ~1e-12. A spec lists in FLOAT32_LOSS_ARCHS the classes whose
# reference computes its loss in float32 even in a float64 model: float64 agreement is float32-limited there.
FLOAT64_TOL = 1e-10
FLOAT64_TOL_FLOAT32_LOSS = 1e-6
# Adam's normalised step m/(sqrt(v)+eps) is +-1 at step 1 and stays O(1) after: a parameter driven by pure noise
# moves at most about this many lr per step.
ADAM_NOISE_STEP = 3.0


# ---- per-layer entries ----------------------------------------------------------------------------------------------
def _structural(ref: Dict[str, np.ndarray], other: Dict[str, np.ndarray]) -> List[Diff]:
    """A layer output or gradient recorded on one side only: a failure of its own (never skipped)."""
    out = []
    for k in ref:
        if k not in other:
            out.append(Diff(f"{k} (only in torch)", tuple(ref[k].shape), float("inf"), float("inf"), 0.0, 0.0, 0.0))
    for k in other:
        if k not in ref:
            out.append(Diff(f"{k} (only in paddle)", tuple(other[k].shape), float("inf"), float("inf"), 0.0, 0.0, 0.0))
    return out


def layer_diffs(t32, p32, t64, tol32: dict, t32_other_order=None) -> List[dict]:
    """Per-layer entries in the reference's order: the float32 diff (bar, or noise floor against the float64
    reference t64 when given). Entry: {"name", "layer", "float32": Diff, "float64": None, "ok"}; `attach_float64`
    adds the logic check. A key recorded on one side only comes first, as a failure."""
    entries = [{"name": d.name, "layer": layer_of(d.name.split(" (")[0]), "float32": d, "float64": None, "ok": False}
               for d in _structural(t32, p32)]
    for k in t32:
        if k not in p32:
            continue
        note = _broadcast_batch_of_one(k, t32, p32, t64, t32_other_order)
        d32 = diff_arrays(k, t32[k], p32[k], **tol32)
        if t64 and k in t64:
            with_noise_floor([d32], t32, p32, t64, FLOOR_FACTOR, t32_other_order)
        entries.append({"name": k, "layer": layer_of(k), "float32": d32, "float64": None, "ok": d32.ok,
                        **({"note": note} if note else {})})
    return entries


def _broadcast_batch_of_one(k, t32, p32, t64, t32b=None) -> Optional[str]:
    """One side computed a layer once for the whole batch (HF's BERT looks position embeddings up for position ids
    of shape [1, L]; PaddleNLP's for [B, L]): the batch-of-one record is broadcast, explicitly and noted, to the
    other side's shape. Any other shape difference stays a failure."""
    a, b = np.shape(t32[k]), np.shape(p32[k])
    if a == b or len(a) != len(b) or a[1:] != b[1:] or 1 not in (a[0], b[0]):
        return None
    if a[0] == 1:
        t32[k] = np.broadcast_to(t32[k], b)
        for other in (t64, t32b):
            if other and k in other:
                other[k] = np.broadcast_to(other[k], b)
        return f"torch {a} broadcast to paddle's {b}"
    p32[k] = np.broadcast_to(p32[k], a)
    return f"paddle {b} broadcast to torch's {a}"


def attach_float64(entries: List[dict], t64, p64, tol64: float) -> List[dict]:
    """The float64 torch-vs-paddle diff of each entry recorded on both sides (the logic check)."""
    for e in entries:
        k = e["name"]
        if k in t64 and k in p64:
            e["float64"] = diff_arrays(k, t64[k], p64[k], tol_max=tol64, relative_to_scale=True)
            e["ok"] = e["ok"] and e["float64"].ok
    return entries


def _diffs_with_floor(ref32, other32, ref64, ref32_other_order, tol: dict) -> List[Diff]:
    """diff_dicts and, with ref64, with_noise_floor, tensor by tensor (a spilled tensor is read once for both)."""
    if set(ref32) != set(other32):
        return diff_dicts(ref32, other32, **tol)  # the same one-line error
    out = []
    for k in ref32:
        d = diff_arrays(k, ref32[k], other32[k], **tol)
        if ref64 is not None:
            with_noise_floor([d], ref32, other32, ref64, FLOOR_FACTOR, ref32_other_order)
        out.append(d)
    return out


def _float64_zero_gradients(diffs: List[Diff], table, g64_t, g64_p, tol: float) -> List[Diff]:
    """A mathematically zero gradient (k_head.bias: softmax is shift-invariant) holds only rounding noise in float64
    too (HF's float64 Funnel rounds attention scores to float32): compared as zero, both sides within tol x its
    layer's gradient scale, not against its own noise-sized magnitude."""
    by_name = {p.name: p for p in table}
    out = []
    for d in diffs:
        p = by_name.get(d.name)
        if p is None or not p.zero_grad_scale:
            out.append(d)
            continue
        scale = max(1.0, float(np.abs(g64_t[p.zero_grad_scale]).max()))
        worst = max(float(np.abs(g64_t[d.name]).max()), float(np.abs(g64_p[d.name]).max()))
        out.append(Diff(d.name + " (zero gradient)", d.shape, worst, d.mean_abs, scale, tol * scale, float("inf")))
    return out


def first_divergence(entries: List[dict]) -> Optional[dict]:
    """The first failing entry (in the order given) and the layer of the last passing one before it."""
    last_ok = None
    for e in entries:
        if not e["ok"]:
            return {"name": e["name"], "layer": e["layer"], "after": last_ok}
        last_ok = e["layer"]
    return None


def backward_order(entries: List[dict], param_diffs: List[Diff]) -> List[dict]:
    """Input-gradient entries in backward order, each layer's parameter gradients placed after the layer's *last*
    input gradient (a layer called twice, as with block_repeats, has its parameter gradient complete only then);
    parameters of layers without a float input (embeddings) come last."""
    by_layer: Dict[str, List[Diff]] = {}
    for d in param_diffs:
        by_layer.setdefault(d.name.split(" (")[0].rsplit(".", 1)[0], []).append(d)
    last = {e["layer"].split("@")[0]: i for i, e in enumerate(entries)}

    def param_entries(layer):
        return [{"name": d.name, "layer": layer, "float32": d, "float64": None, "ok": d.ok, "param": True}
                for d in by_layer.pop(layer, [])]
    out = []
    for i, e in enumerate(entries):
        out.append(e)
        layer = e["layer"].split("@")[0]
        if last[layer] == i:
            out += param_entries(layer)
    for layer in list(by_layer):
        out += param_entries(layer)
    return out


class torch_threads:
    """torch's intra-op thread count set for a block (a different count changes the GEMM blocking, hence the order of
    float32 reductions: the reference's rounding under a second order)."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.previous)


BIG_MODEL_PARAMS = 20_000_000  # below this, handing memory back is not worth its time (gc.collect per stage)


def _release(stage: str, big: bool = True) -> None:
    """Hand freed memory back to the OS at each stage of run_checks (glibc keeps freed mid-size blocks, such as the
    ~1 MB layer records of a large model, in its heap; malloc_trim returns them), and with REPROKIT_TRACE_MEMORY=1
    print the resident set size (to stderr)."""
    import ctypes
    import gc
    import os
    import sys
    if big:
        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass
    if os.environ.get("REPROKIT_TRACE_MEMORY"):
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        import time
        print(f"[memory] {time.strftime('%H:%M:%S')} {stage}: RSS {rss / 2**30:.2f} GiB", file=sys.stderr, flush=True)


# ---- the full check, used by the tests and compare.py ----------------------------------------------------------------
def tensor_checks(results: dict) -> Dict[str, List[Diff]]:
    """The whole-model checks of a run_checks result (every key but "layers")."""
    return {k: v for k, v in results.items() if k not in ("layers", "meta")}


def tolerances(fwd_max: float = FWD_TOL["tol_max"], fwd_mean: float = FWD_TOL["tol_mean"],
               grad: float = GRAD_TOL["tol_max"], train: float = TRAIN_TOL["tol_max"]) -> dict:
    """The bars run_checks applies (defaults: the issue's), as keyword sets for reprokit.diff."""
    return {"forward": dict(tol_max=fwd_max, tol_mean=fwd_mean), "backward": dict(tol_max=grad, relative_to_scale=True),
            "train": dict(tol_max=train, relative_to_scale=True)}


def run_checks(spec, kwargs: dict, arch: str, realistic: bool = False, seed: int = 0, lengths=(13, 7, 11),
               steps: int = 3, lr: float = 1e-5, layers: bool = True, pairs: Optional[dict] = None,
               batch: Optional[dict] = None, float64: bool = True, tol: Optional[dict] = None,
               spill: Optional[bool] = None, spill_dir: Optional[str] = None) -> dict:
    """Forward (every output), backward (every parameter), the inputs_embeds path (outputs and d/d inputs_embeds),
    `steps` AdamW steps; float32 torch vs paddle, with the float64 torch run as ground truth for the noise floor,
    and the float64 paddle run to show the float32 gap is rounding (the logic agrees to ~1e-12 there).
    Every other key holds a list of Diff. With `layers`, the ids path also records every matched layer's output and
    input gradient on both sides, under "layers": {"forward": entries, "backward": entries (backward order),
    "first_divergence": {"forward", "backward"}, "unmatched": {"torch", "paddle"}}.
    `pairs` ({"float32": (tm, pm), "float64": (tm, pm)}) and `batch` replace the spec's random ones (real weights);
    training steps need the spec's builder and are skipped then. float64=False: float32 only, bars only (no noise
    floor, no logic check); float64="reference": the float64 torch run only (the noise floor), no float64 Paddle
    run (no logic check). `tol`: tolerances(...) to replace the default bars.

    Memory: one model alive at a time (a twin is built from its reference just before the reference is freed), and
    with `spill` (default: models over BIG_MODEL_PARAMS) every output, gradient, layer record and trained weight goes
    to disk as it is produced (parity/spill.py, under `spill_dir` or the system temp folder, removed at the end) and
    the diffs stream from there one tensor at a time: an xlarge Funnel (1.9 GB of float32 weights, 3.7 GB in
    float64, as much again per gradient set) runs the float64 check on both sides within ~12 GB."""
    import tempfile
    tol = tol or tolerances()
    logic = float64 is True  # the float64 Paddle run, beside the float64 torch reference
    batch = spec.make_batch(arch, kwargs, lengths=lengths, seed=seed) if batch is None else batch
    table = spec.reference_table(kwargs, arch)
    big = sum(int(np.prod(p.shape)) for p in table) > BIG_MODEL_PARAMS
    spill = big if spill is None else spill
    tol64 = FLOAT64_TOL_FLOAT32_LOSS if arch in spec.FLOAT32_LOSS_ARCHS else FLOAT64_TOL
    dim = spec.embeds_dim(kwargs)
    paths = ["ids"] + (["embeds"] if dim else [])
    embeds = {"ids": None,
              "embeds": np.random.RandomState(seed + 7).standard_normal(batch["input_ids"].shape + (dim,))
              if dim else None}
    folder = tempfile.TemporaryDirectory(prefix="reprokit-compare-", dir=spill_dir) if spill else None
    stores = Spill(folder.name) if spill else None

    def store_for(label):
        return (lambda kind: stores.store(f"{label}_{kind}")) if spill else (lambda kind: {})

    def pair_of(dt):
        if pairs is not None:
            return pairs[dt]
        tm = spec.build_torch(kwargs, arch, seed=seed, realistic=realistic, dtype=dt)
        return tm, None  # the Paddle twin is made from tm (one model at a time)

    def twin(tm, pm, dt):
        return pm if pm is not None else paddle_twin(tm, lambda: spec.make_paddle(kwargs, arch), dt)

    def run_side(side, names, label, paths=paths):
        """{path: (outputs, grads)}, and the layer records of the ids path."""
        res, rec = {}, None
        for path in paths:
            store = store_for(f"{label}_{path}")
            r = LayerRecorder(side.fw, side.model, names, store=store) if layers and path == "ids" else None
            # the ids path covers the parameter gradients; the embeds path keeps only d/d inputs_embeds
            res[path] = side_forward_backward(side, batch, table, seed, embeds[path], recorder=r, store=store,
                                              param_grads=path == "ids")
            rec = rec or r
        return res, ((rec.outputs, rec.input_grads) if rec else ({}, {}))

    try:
        # float32: both sides; the Paddle twin is built while the torch model is idle, then the torch model goes
        tm, pm = pair_of("float32")
        weights32 = None
        if spill and pairs is None and logic:  # the float64 twin is these weights cast (build_torch's float64 model
            weights32 = Side("torch", tm, "float32").weights(table, out=stores.store("weights32"))  # is, exactly)
        pm = twin(tm, pm, "float32")
        names, only_t, only_p = (spec.layer_names(tm, pm, table) if hasattr(spec, "layer_names")
                                 else matched_names(tm, pm))
        t32, trec32 = run_side(Side("torch", tm, "float32"), names, "t32")
        t32b, trec32b = ({}, ({}, {}))
        if float64:  # the reference's rounding under a second reduction order (1 thread: other GEMM blockings)
            with torch_threads(1):
                t32b, trec32b = run_side(Side("torch", tm, "float32"), names, "t32b", paths=["ids"])
        del tm
        _release("float32 torch done", big)
        p32, prec32 = run_side(Side("paddle", pm, "float32"), names, "p32")
        del pm
        _release("float32 paddle done", big)
        # float64 torch: the reference's truth; its Paddle twin is built from it once its gradients are released
        t64, trec64 = ({}, ({}, {}))
        if float64:
            tm, pm = pair_of("float64")
            t64, trec64 = run_side(Side("torch", tm, "float64"), names, "t64")
            _release("float64 torch done", big)
            if weights32 is not None:  # spilling: the twin from the stored weights, after the torch model is gone
                del tm
                _release("float64 torch freed", big)
                pm = paddle_from_state(weights32, lambda: spec.make_paddle(kwargs, arch), "float32")
                pm.to(dtype="float64")  # the same values as a float64 build (its weights are these, cast), at half
                # the cost of initialising and loading 468M float64 parameters (tests/test_compare_spill.py)
            else:
                pm = twin(tm, pm, "float64") if logic else None
                del tm
            _release("float64 twin built", big)
        out = {}
        for path in paths:
            (f32_t, g32_t), (f32_p, g32_p) = t32[path], p32[path]
            f64_t, g64_t = t64.get(path, ({}, {}))
            f32_tb, g32_tb = t32b.get(path, ({}, {}))
            fwd = _diffs_with_floor(f32_t, f32_p, f64_t if float64 else None, f32_tb, tol["forward"])
            bwd = _diffs_with_floor(g32_t, g32_p, g64_t if float64 else None, g32_tb, tol["backward"])
            if float64:
                # HF casts attention scores to float32 even in float64 models, so their gradient is rounded to
                # float32 on the way back and the "zero" key-bias gradient is ~1e-8 of its layer's scale.
                bwd = zero_gradient_diffs(bwd, table, {"torch": g32_t, "torch_other_order": g32_tb, "paddle": g32_p,
                                                       "float64": g64_t}, "float64",
                                          tol=tol["backward"]["tol_max"], tol_truth=FLOAT64_TOL_FLOAT32_LOSS,
                                          floor_factor=FLOOR_FACTOR)
            out[f"forward_{path}"], out[f"backward_{path}"] = fwd, bwd
        if layers:
            fwd_layers = layer_diffs(trec32[0], prec32[0], trec64[0], tol["forward"], trec32b[0])
            bwd_layers = layer_diffs(trec32[1], prec32[1], trec64[1], tol["backward"], trec32b[1])
        del t32, p32, trec32, prec32, t32b, trec32b
        if not logic:
            del t64, trec64
        _release("float32 reduced to diffs", big)
        # float64 paddle: the logic check
        if logic:
            p64, prec64 = run_side(Side("paddle", pm, "float64"), names, "p64")
            _release("float64 paddle done", big)
            del pm
            for path in paths:
                (f64_t, g64_t), (f64_p, g64_p) = t64[path], p64[path]
                out[f"float64_forward_{path}"] = diff_dicts(f64_t, f64_p, tol_max=tol64, relative_to_scale=True)
                # gradients flow back through the reference's float32-rounded attention scores (Funnel): the same
                # float32-limited bar as the per-layer entries (LAYER_FLOAT64_TOL); the forward keeps tol64
                tol_grad64 = max(tol64, spec.LAYER_FLOAT64_TOL)
                out[f"float64_backward_{path}"] = _float64_zero_gradients(
                    diff_dicts(g64_t, g64_p, tol_max=tol_grad64, relative_to_scale=True), table, g64_t, g64_p,
                    tol_grad64)
            if layers:
                tol64_layers = max(tol64, spec.LAYER_FLOAT64_TOL)
                attach_float64(fwd_layers, trec64[0], prec64[0], tol64_layers)
                attach_float64(bwd_layers, trec64[1], prec64[1], tol64_layers)
            del t64, p64, trec64, prec64
        if layers:
            bwd_layers = backward_order(bwd_layers, out["backward_ids"])
            out["layers"] = {"forward": fwd_layers, "backward": bwd_layers,
                             "first_divergence": {"forward": first_divergence(fwd_layers),
                                                  "backward": first_divergence(bwd_layers)},
                             "unmatched": {"torch": only_t, "paddle": only_p}}
        if steps and pairs is None:
            out.update(_train_checks(spec, kwargs, arch, table, realistic, seed, lengths, steps, lr, float64, tol,
                                     big, store_for, spilling=spill))
        if spill:
            out["meta"] = {"spilled_bytes": stores.bytes_written}
        return out
    finally:
        if folder is not None:
            folder.cleanup()


def _train_checks(spec, kwargs, arch, table, realistic, seed, lengths, steps, lr, float64, tol, big,
                  store_for=None, spilling: bool = False) -> dict:
    """`steps` AdamW steps on each side from the same weights and batches, one model in memory at a time (the Paddle
    side starts from the initial weights kept in a store); the float64 torch run is the noise floor (its Paddle twin
    is not needed). With spilling stores, weights and (float64) optimizer moments live on disk."""
    store_for = store_for or (lambda label: (lambda kind: {}))
    batches = [spec.make_batch(arch, kwargs, lengths=lengths, seed=seed + s) for s in range(steps)]
    kw = dict(lr=lr, seed=seed)
    tm = spec.build_torch(kwargs, arch, seed=seed, realistic=realistic, dtype="float32")
    initial = Side("torch", tm, "float32").weights(table, out=store_for("train_initial")("weights"))
    if not spilling:
        initial = {k: v.copy() for k, v in initial.items()}  # the torch arrays share the weights it trains
    l32_t, w32_t = train_side(Side("torch", tm, "float32"), table, batches, out=store_for("train_t32")("weights"),
                              **kw)
    del tm
    _release("float32 torch trained", big)
    pm = paddle_from_state(initial, lambda: spec.make_paddle(kwargs, arch), "float32")
    l32_p, w32_p = train_side(Side("paddle", pm, "float32"), table, batches, out=store_for("train_p32")("weights"),
                              **kw)
    del pm
    _release("float32 paddle trained", big)
    loss_t = {f"loss.step{i}": np.array(v) for i, v in enumerate(l32_t)}
    loss_p = {f"loss.step{i}": np.array(v) for i, v in enumerate(l32_p)}
    losses = diff_dicts(loss_t, loss_p, **tol["train"])
    weights = diff_dicts(w32_t, w32_p, **tol["train"])
    if float64:
        tm = spec.build_torch(kwargs, arch, seed=seed, realistic=realistic, dtype="float64")
        l64, w64_t = train_side(Side("torch", tm, "float64"), table, batches, out=store_for("train_t64")("weights"),
                                offload=store_for("train_t64") if spilling else None, **kw)
        del tm
        _release("float64 torch trained", big)
        loss_64 = {f"loss.step{i}": np.array(v) for i, v in enumerate(l64)}
        with_noise_floor(losses, loss_t, loss_p, loss_64, FLOOR_FACTOR)
        with_noise_floor(weights, w32_t, w32_p, w64_t, FLOOR_FACTOR)
        del w64_t
    # zero-gradient parameters move only by noise-driven Adam steps (each at most ~lr): bound the move itself
    by_name = {p.name: p for p in table}
    bound = ADAM_NOISE_STEP * lr * steps
    for i, d in enumerate(weights):
        if by_name[d.name].zero_grad_scale:
            moved = max(float(np.abs(w[d.name] - initial[d.name]).max()) for w in (w32_t, w32_p))
            weights[i] = Diff(d.name + " (zero gradient: moved only by noise)", d.shape, moved, 0.0,
                              d.max_ref, bound, float("inf"))
    return {"train_losses": losses, "train_weights": weights}
