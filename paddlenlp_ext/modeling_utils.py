"""Shared base of the Paddle ports: table-driven from_pretrained / save_pretrained, input checks, activations.

Hooks a port provides: `config_class`, `model_type`, `base_model_prefix`, `architectures` (its class names),
`_table_of(config, arch)` (the model's reprokit table for one class), `_init_weights(layer)`.
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Dict

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from reprokit import KitError
from reprokit.checkpoint import CONFIG_NAME, PADDLE_WEIGHTS, load_state, read_config, write_directory
from reprokit.tables import as_dict, convert_array, describe_key_problems, with_aliases_resolved

logger = logging.getLogger("paddlenlp_ext")

_ACTIVATIONS = {
    # tanh approximation, as HF's gelu_new. Agrees to ~1e-7; writing HF's formula op by op instead made float32
    # gradients noisier (paddle's pow rounds differently from torch's), so the fused kernel stays.
    "gelu_new": functools.partial(nn.GELU, approximate=True),
    "gelu": nn.GELU,                                          # erf
    "relu": nn.ReLU,
    "silu": nn.Silu,
    "swish": nn.Silu,
    "tanh": nn.Tanh,
}


def ACT2FN(name: str) -> nn.Layer:
    """A new activation layer (a layer, as transformers' ACT2FN gives modules: the per-layer compare hooks it)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"hidden_act {name!r} is not supported; use one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]()


def cross_entropy(logits, labels, ignore_index: int = -100):
    """torch's CrossEntropyLoss(ignore_index) mean: divides by the number of NON-ignored labels.
    paddle's F.cross_entropy(reduction='mean') divides by all labels when some are ignored."""
    per_item = F.cross_entropy(logits, labels, ignore_index=ignore_index, reduction="none").reshape([-1])
    kept = (labels.reshape([-1]) != ignore_index).astype(per_item.dtype)
    return (per_item * kept).sum() / kept.sum()


def check_inputs(input_ids, inputs_embeds, attention_mask, token_type_ids, max_token_type: int):
    """Validate shapes and token types; fill the default mask (ones) and token types (zeros) as HF does."""
    if input_ids is not None and inputs_embeds is not None:
        raise ValueError("You cannot specify both input_ids and inputs_embeds at the same time")
    if input_ids is None and inputs_embeds is None:
        raise ValueError("You have to specify either input_ids or inputs_embeds")
    shape = list(input_ids.shape) if input_ids is not None else list(inputs_embeds.shape[:-1])
    if len(shape) != 2:
        raise ValueError(f"input must be [batch, seq_len], got shape {shape}")
    if shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"empty batch: input shape {shape}")
    if attention_mask is None:
        attention_mask = paddle.ones(shape, dtype="float32")
    elif list(attention_mask.shape) != shape:
        raise ValueError(f"attention_mask shape {list(attention_mask.shape)} differs from the input shape {shape}")
    if token_type_ids is None:
        token_type_ids = paddle.zeros(shape, dtype="int64")
    else:
        if list(token_type_ids.shape) != shape:
            raise ValueError(f"token_type_ids shape {list(token_type_ids.shape)} differs from the input shape {shape}")
        lo, hi = int(token_type_ids.min()), int(token_type_ids.max())
        if lo < 0 or hi > max_token_type:
            bad = lo if lo < 0 else hi
            raise ValueError(f"token_type_ids value {bad} is outside 0..{max_token_type}")
    return attention_mask, token_type_ids


class TablePretrainedModel(nn.Layer):
    config_class = None
    model_type: str = ""
    base_model_prefix: str = ""

    def __init__(self, config):
        super().__init__()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        self.config = config

    # ---- hooks -------------------------------------------------------------------------------------------------
    architectures = ()

    @classmethod
    def _table_of(cls, config, arch):
        raise NotImplementedError

    def _init_weights(self, layer):
        raise NotImplementedError

    # ---- tables ------------------------------------------------------------------------------------------------
    def param_table(self):
        return self._table_of(self.config, type(self).__name__)

    @classmethod
    def param_universe(cls, config):
        """Every name a checkpoint of this model family may hold, in this class's naming."""
        return {p.name for arch in cls.architectures for p in cls._renamed_table(config, arch)}

    # ---- helpers -----------------------------------------------------------------------------------------------
    def post_init(self):
        for layer in self.sublayers(include_self=True):
            self._init_weights(layer)

    def _output_flags(self, output_attentions, output_hidden_states, return_dict):
        c = self.config
        return (c.output_attentions if output_attentions is None else output_attentions,
                c.output_hidden_states if output_hidden_states is None else output_hidden_states,
                c.return_dict if return_dict is None else return_dict)

    @classmethod
    def _is_prefixed(cls, names) -> bool:
        return any(n.startswith(cls.base_model_prefix + ".") for n in names)

    @classmethod
    def _renamed_table(cls, config, arch):
        """`arch`'s table with names in `cls`'s convention (body prefixed or not); head names are left as they are."""
        from dataclasses import replace
        table = cls._table_of(config, arch)
        mine = cls._is_prefixed(p.name for p in cls._table_of(config, cls.__name__))
        theirs = cls._is_prefixed(p.name for p in table)
        prefix = cls.base_model_prefix + "."
        if mine == theirs:
            return table
        if mine:
            return [replace(p, name=prefix + p.name) for p in table]
        return [replace(p, name=p.name[len(prefix):]) if p.name.startswith(prefix) else p for p in table]

    def named_state_tensors(self) -> Dict[str, paddle.Tensor]:
        """name -> parameter for every table entry; paddle's state_dict holds the parameters themselves, tied
        names included."""
        return dict(self.state_dict())

    # ---- loading -----------------------------------------------------------------------------------------------
    def load_numpy_state(self, state: Dict[str, np.ndarray], layout: str, origin: str = "checkpoint",
                         allow_new_head: bool = False) -> None:
        """Load a numpy state dict in `layout` ('torch' or 'paddle'), strictly, through the parameter table."""
        table = as_dict(self.param_table())
        state = with_aliases_resolved(table.values(), state, origin)
        prefix = self.base_model_prefix + "."
        mine, theirs = self._is_prefixed(table), self._is_prefixed(state)
        if theirs and not mine:
            state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}
        elif mine and not theirs:
            state = {prefix + k: v for k, v in state.items()}
        universe = self.param_universe(self.config)

        unexpected = sorted(k for k in state if k not in universe)
        unused = sorted(k for k in state if k in universe and k not in table)
        missing = [k for k, p in table.items() if k not in state and not (p.tied_to and p.tied_to in state)]
        mismatched = [k for k, p in table.items()
                      if k in state and tuple(state[k].shape) != p.shape_in(layout)]
        fatal_missing = [k for k in missing if not (allow_new_head and table[k].head)]
        fatal_mismatched = [f"{k} {tuple(state[k].shape)} vs {table[k].shape_in(layout)}" for k in mismatched
                            if not (allow_new_head and table[k].head)]
        if unexpected or fatal_missing or fatal_mismatched:
            hint = "" if allow_new_head or not any(table[k].head for k in missing + mismatched) else \
                " (pass allow_new_head=True to start a new head)"
            raise KitError(describe_key_problems(origin, fatal_missing, unexpected, fatal_mismatched) + hint)
        if unused:
            logger.info("%s: not used by %s: %s", origin, type(self).__name__, ", ".join(unused))
        new_head = sorted(set(missing) | set(mismatched))
        if new_head:
            logger.warning("%s: newly initialised head parameters: %s", origin, ", ".join(new_head))

        params = self.named_state_tensors()
        for name, p in table.items():
            if p.tied_to or name in new_head:
                continue
            target = params[name]
            array = convert_array(p, state[name], layout, "paddle", origin)
            target.set_value(np.ascontiguousarray(array).astype(_np_dtype(target.dtype)))

    @classmethod
    def from_pretrained(cls, path, config=None, allow_new_head: bool = False, trust_pickle: bool = False,
                        **config_overrides):
        """Load a HF directory (safetensors / .bin / sharded) or a native Paddle directory (model_state.pdparams)."""
        path = Path(path)
        if config is None:
            cfg = read_config(path, model_type=cls.model_type)
            if "num_labels" in config_overrides and len(cfg.get("id2label") or {}) != config_overrides["num_labels"]:
                # an explicit num_labels wins over the checkpoint's label map (PaddleNLP would do the reverse)
                cfg.pop("id2label", None)
                cfg.pop("label2id", None)
            cfg.update(config_overrides)
            config = cls.config_class(**{k: v for k, v in cfg.items() if k != "model_type"})
        model = cls(config)
        layout, state, weights = load_state(path, trust_pickle=trust_pickle)
        model.load_numpy_state(state, layout, origin=str(weights), allow_new_head=allow_new_head)
        model.eval()
        return model

    def save_pretrained(self, path, overwrite: bool = True) -> Path:
        """Write config.json + model_state.pdparams (Paddle layout) + kit_manifest.json, atomically."""
        state = {k: v.numpy() for k, v in self.state_dict().items()}
        expected = {p.name: p.paddle_shape for p in self.param_table()}
        assert {k: tuple(v.shape) for k, v in state.items()} == expected, "state dict does not match the table"
        self.config.architectures = [type(self).__name__]

        def write(tmp: Path):
            self.config.save_pretrained(str(tmp))
            paddle.save(state, str(tmp / PADDLE_WEIGHTS))
            assert (tmp / CONFIG_NAME).is_file()

        return write_directory(path, write, overwrite=overwrite,
                               manifest_extra={"layout": "paddle", "class": type(self).__name__})


def _np_dtype(dtype) -> str:
    name = str(dtype).replace("paddle.", "")
    if name not in ("float16", "float32", "float64"):
        raise KitError(f"cannot load numpy weights into a {name} parameter; load in float32 and cast")
    return name
