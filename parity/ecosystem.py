"""Any model pair the two ecosystems share (transformers on torch, PaddleNLP on Paddle: BERT, RoBERTa, ERNIE), for
the parity machinery (parity/common.py) and compare.py, with no hand-written table.

The parameter table comes from what PaddleNLP already knows: its torch -> Paddle name mappings
(`<Class>._get_name_mappings(config)`: source name, target name, transpose or not), completed exactly as PaddleNLP's
own converter completes them - a torch tensor no mapping names keeps its name, and loads if the Paddle model has a
parameter of that name and shape. What is left is reported, never guessed: a torch parameter with no Paddle
counterpart makes the spec refuse the pair (the conversion would drop it); a Paddle parameter with no torch source is
listed (PaddleNLP's loader leaves it at its random init: harmless when unused, as the pooler of a QA head, and a
failing layer when used). Layers are matched through the same table: a torch Linear / LayerNorm / Embedding and the
Paddle layer of the same kind holding the mapped parameters are one layer, recorded under the torch name (a container
is never matched by its parameters alone: HF's BertIntermediate applies GELU, PaddleNLP's linear1 does not).

A spec instance offers what a parity spec module offers (NAME, ARCHITECTURES, TINY, build_torch, make_paddle,
make_batch, reference_table, ...), plus `layer_names(tm, pm)`.
"""
from __future__ import annotations

import functools
from typing import Dict, List, Optional, Sequence, Tuple

import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)

import numpy as np
import paddle
import torch

from paddlenlp_ext.ecosystem import mapped_table
from reprokit import KitError
from reprokit.tables import Param

from . import batches, common

LEAF_KINDS = ("Linear", "LayerNorm", "Embedding")
NUM_LABELS = {"ForSequenceClassification": 3, "ForTokenClassification": 5, "ForQuestionAnswering": 2}
NO_DROPOUT = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


class EcosystemSpec:
    """A transformers / PaddleNLP model family, e.g. EcosystemSpec("bert", "Bert")."""

    FLOAT32_LOSS_ARCHS: Tuple[str, ...] = ()
    LAYER_FLOAT64_TOL = 1e-10
    HEADS = ("Model", "ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering")

    def __init__(self, model_type: str, stem: str, special: Dict[str, int], released: Dict[str, dict]):
        self.NAME, self.STEM = model_type, stem
        self.ARCHITECTURES = tuple(stem + h for h in self.HEADS)
        self.NO_DROPOUT = NO_DROPOUT
        self.TINY = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=48, max_position_embeddings=64, type_vocab_size=2, **special, **NO_DROPOUT)
        self.RELEASED = {k: dict(v, **special) for k, v in released.items()}
        self._tables: Dict[tuple, list] = {}
        self._paddle_only: Dict[tuple, List[str]] = {}
        self.run_checks = functools.partial(common.run_checks, self)

    # -- models -------------------------------------------------------------------------------------------------
    def _classes(self, arch: str):
        import paddlenlp.transformers as PT
        import transformers as HT
        if arch not in self.ARCHITECTURES:
            raise KitError(f"{arch}: not one of {list(self.ARCHITECTURES)}")
        return (getattr(HT, arch), getattr(HT, self.STEM + "Config"), getattr(PT, arch),
                getattr(PT, self.STEM + "Config"))

    def _config_args(self, kwargs: dict, arch: str) -> dict:
        return {**kwargs, "architectures": [arch]}

    def config_kwargs(self, base: dict, arch: str, **overrides) -> dict:
        return batches.config_kwargs(base, arch, {self.STEM + h: n for h, n in NUM_LABELS.items()}, **overrides)

    def kwargs_from_config(self, config: dict) -> dict:
        kw = {k: v for k, v in config.items() if k not in ("architectures", "transformers_version", "torch_dtype")}
        kw.update(NO_DROPOUT)
        if "num_labels" not in kw and kw.get("id2label"):
            kw["num_labels"] = len(kw["id2label"])
        return kw

    def make_torch(self, kwargs: dict, arch: str):
        tcls, tcfg, _, _ = self._classes(arch)
        return tcls(tcfg(**self._config_args(kwargs, arch), attn_implementation="eager"))

    def build_torch(self, kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32"):
        torch.manual_seed(seed)
        tm = self.make_torch(kwargs, arch)
        if realistic:
            batches.rescale_(tm, seed, layer_norm="LayerNorm")
        if dtype == "float64":
            tm = tm.double()
        return tm.train()

    def make_paddle(self, kwargs: dict, arch: str):
        _, _, pcls, pcfg = self._classes(arch)
        pm = pcls(pcfg(**self._config_args(kwargs, arch)))
        table = self.reference_table(kwargs, arch)
        # the twin protocol of the kit's ports (parity.common.paddle_twin, Side): load through the table
        pm.param_table = lambda: table
        pm.load_numpy_state = functools.partial(load_through_table, pm, table)
        return pm

    def build_pair(self, kwargs: dict, arch: str, seed: int = 0, realistic: bool = False, dtype: str = "float32"):
        tm = self.build_torch(kwargs, arch, seed, realistic, dtype)
        return tm, common.paddle_twin(tm, lambda: self.make_paddle(kwargs, arch), dtype)

    # -- the table from PaddleNLP's mappings ------------------------------------------------------------------------
    def reference_table(self, kwargs: dict, arch: str) -> List[Param]:
        key = (arch, repr(sorted(kwargs.items())))
        if key not in self._tables:
            self._tables[key], self._paddle_only[key] = self._build_table(kwargs, arch)
        return self._tables[key]

    def paddle_only(self, kwargs: dict, arch: str) -> List[str]:
        self.reference_table(kwargs, arch)
        return self._paddle_only[(arch, repr(sorted(kwargs.items())))]

    def _build_table(self, kwargs: dict, arch: str):
        _, _, pcls, pcfg = self._classes(arch)
        with torch.device("meta"):
            tm = self.make_torch(kwargs, arch)
        torch_shapes = {n: tuple(p.shape) for n, p in tm.named_parameters()}  # tied duplicates once
        pm = pcls(pcfg(**self._config_args(kwargs, arch)))
        paddle_shapes = {n: tuple(p.shape) for n, p in pm.named_parameters()}
        del pm
        table, paddle_only = mapped_table(pcls, pcfg(**self._config_args(kwargs, arch)), paddle_shapes,
                                          torch_shapes)
        names = [p.name for p in table]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise KitError(f"PaddleNLP's conversion for {arch} loads {twice[0]} into two Paddle parameters; the kit's "
                           "tables give a tensor one place")
        for p in table:
            pname = p.name_in("paddle")
            if paddle_shapes[pname] != p.paddle_shape:
                raise KitError(f"PaddleNLP's mapping for {arch}: {p.name} {p.shape} -> {pname} "
                               f"{paddle_shapes[pname]} (expected {p.paddle_shape}{' transposed' * p.transpose})")
        dropped = [n for n in torch_shapes if n not in {p.name for p in table}]
        if dropped:
            raise KitError(f"PaddleNLP's mapping for {arch} gives no Paddle parameter for {len(dropped)} torch "
                           f"parameter(s): {', '.join(dropped[:6])}: converting this checkpoint would drop them")
        return table, paddle_only

    # -- batches and the rest of the spec interface -------------------------------------------------------------
    def make_batch(self, arch: str, kwargs: dict, lengths: Sequence[int] = (9, 5, 1), num_choices: int = 2,
                   seed: int = 0) -> Dict[str, np.ndarray]:
        """Rows of different lengths padded with the pad id (RoBERTa's positions count from it), token types 0 for
        the first half of each row and 1 for the second, the mask passed, labels for `arch`'s head."""
        def token_types(lens, L):
            tt = np.zeros((len(lens), L), dtype="int64")
            for r, n in enumerate(lens):
                tt[r, n // 2:n] = 1 if kwargs.get("type_vocab_size", 2) > 1 else 0
            return tt
        batch = batches.make_batch(self.STEM, arch, kwargs, lengths, seed, num_choices, token_types,
                                   explicit_mask=True, low_id=5)
        pad = kwargs.get("pad_token_id", 0) or 0
        batch["input_ids"] = np.where(batch["attention_mask"] == 1, batch["input_ids"], pad).astype("int64")
        return batch

    def embeds_dim(self, kwargs: dict) -> Optional[int]:
        """The inputs_embeds path when both classes take it (PaddleNLP's BERT does not)."""
        import inspect
        _, _, pcls, _ = self._classes(self.STEM + "Model")
        return kwargs["hidden_size"] if "inputs_embeds" in inspect.signature(pcls.forward).parameters else None

    def layer_names(self, tm, pm, table: Sequence[Param]) -> Tuple[Dict[str, Dict[str, str]], List[str], List[str]]:
        """({torch name: {"torch": name, "paddle": name}}, torch layers unmatched, paddle layers unmatched): leaf
        layers of one kind holding mapped parameters (see the module docstring)."""
        to_paddle = {p.name: p.name_in("paddle") for p in table}
        tmods = dict(tm.named_modules())
        pmods = {n: m for n, m in pm.named_sublayers()}
        matched = {}
        for name, m in tmods.items():
            kind = type(m).__name__
            own = [n for n, _ in m.named_parameters(prefix=name, recurse=False)]
            if not own or not any(kind.endswith(k) for k in LEAF_KINDS) or any(n not in to_paddle for n in own):
                continue
            targets = {to_paddle[n] for n in own}
            candidates = {t.rsplit(".", 1)[0] for t in targets}
            if len(candidates) != 1:
                continue
            (pname,) = candidates
            pm_layer = pmods.get(pname)
            if pm_layer is None or not any(type(pm_layer).__name__.endswith(k) for k in LEAF_KINDS):
                continue
            if {f"{pname}.{n}" for n, _ in pm_layer.named_parameters(include_sublayers=False)} != targets:
                continue
            matched[name] = {"torch": name, "paddle": pname}
        paddle_matched = {v["paddle"] for v in matched.values()}
        return (matched, [n for n in tmods if n and n not in matched],
                [n for n in pmods if n not in paddle_matched])


def load_pairs(directory, spec: EcosystemSpec, config: dict, arch: Optional[str] = None, float64: bool = True):
    """(kwargs, arch, {"float32": (tm, pm), "float64": ...}) from a transformers checkpoint directory: transformers
    loads the torch side, the Paddle side gets those tensors through PaddleNLP's conversion (the table)."""
    import copy
    from pathlib import Path
    arch = arch or next((a for a in config.get("architectures") or [] if a in spec.ARCHITECTURES), None)
    if arch not in spec.ARCHITECTURES:
        raise KitError(f"{Path(directory) / 'config.json'}: pass --arch, one of {list(spec.ARCHITECTURES)}")
    if not any((Path(directory) / f).is_file() for f in ("model.safetensors", "pytorch_model.bin",
                                                          "model.safetensors.index.json", "pytorch_model.bin.index.json")):
        raise KitError(f"{directory}: no transformers weights (model.safetensors / pytorch_model.bin); a {spec.NAME} "
                       "pair is compared from the transformers checkpoint PaddleNLP converts")
    tcls, _, _, _ = spec._classes(arch)
    kwargs = spec.kwargs_from_config(config)
    tm = tcls.from_pretrained(str(directory), attn_implementation="eager", **NO_DROPOUT).float().train()
    state = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    pm = spec.make_paddle(kwargs, arch)
    pm.load_numpy_state(state, "torch", origin=str(directory))
    pm.train()
    pairs = {"float32": (tm, pm)}
    if float64:
        tm64 = copy.deepcopy(tm).double()
        pairs["float64"] = (tm64, common.paddle_twin(tm64, lambda: spec.make_paddle(kwargs, arch), "float64"))
    return kwargs, arch, pairs


def load_through_table(pm, table: Sequence[Param], state: Dict[str, np.ndarray], layout: str, origin: str = ""):
    """Load a state in `layout` ("torch": torch names and shapes) into the PaddleNLP model through `table`; every
    table parameter must be there. Parameters the table does not cover keep the model's init (listed by the spec)."""
    from reprokit.tables import convert_array
    params = dict(pm.named_parameters())
    for p in table:
        key = p.name_in(layout)
        if key not in state:
            raise KitError(f"{origin or 'state'}: no {key}")
        array = convert_array(p, np.asarray(state[key]), layout, "paddle", origin)
        target = params[p.name_in("paddle")]
        target.set_value(paddle.to_tensor(np.ascontiguousarray(array), dtype=target.dtype))


BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
            max_position_embeddings=512, **NO_DROPOUT)
SPECS = {
    "bert": EcosystemSpec("bert", "Bert", dict(pad_token_id=0),
                          {"base": dict(BASE, vocab_size=30522, type_vocab_size=2)}),
    "roberta": EcosystemSpec("roberta", "Roberta", dict(pad_token_id=1, bos_token_id=0, eos_token_id=2),
                             {"base": dict(BASE, vocab_size=50265, type_vocab_size=1, max_position_embeddings=514)}),
}
