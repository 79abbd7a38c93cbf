"""Shared base of the Paddle ports: a PaddleNLP `PretrainedModel` whose from_pretrained / save_pretrained go through
the kit's parameter tables (either layout, strict keys and shapes), plus input checks, activations and recompute.

Hooks a port provides: `config_class`, `model_type` (which names its table in reprokit.loading), `base_model_prefix`,
`_init_weights(layer)`. PaddleNLP's API comes with the base class: `resize_token_embeddings`,
`get/set_input_embeddings`, `constructed_from_pretrained_config`, `model_name_list` / `pretrained_init_configuration`
(the registry's names of that model type), `recompute_enable` / `recompute_disable`, `base_model`.
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

from paddlenlp.transformers.model_utils import PretrainedModel

from artifacts.names import resolve_model
from reprokit import KitError
from reprokit.checkpoint import CONFIG_NAME, PADDLE_WEIGHTS, load_state, write_directory
from reprokit.loading import config_dict, plan_load, table_of

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


def recompute_layer(encoder, layer, *args):
    """`layer(*args)`, recomputed in the backward pass when the encoder's `enable_recompute` is on and it trains
    (PaddleNLP's convention: Trainer --recompute and recompute_enable() set that attribute). The RNG state is
    replayed, so dropout masks, losses and gradients equal the run without it."""
    if getattr(encoder, "enable_recompute", False) and encoder.training:
        from paddle.distributed.fleet.utils import recompute
        return recompute(layer, *args, preserve_rng_state=True, use_reentrant=False)
    return layer(*args)


def registry_configurations(model_type: str) -> Dict[str, dict]:
    """name -> architecture fields of every registry model of `model_type` (aliases included): PaddleNLP's
    `pretrained_init_configuration`, the names `from_pretrained` resolves (artifacts.names)."""
    from artifacts import fetching
    entries = fetching.load_registry()
    out = {}
    for name, e in entries.items():
        target = entries.get(e["alias"], {}) if "alias" in e else e
        if target.get("kind") == "model" and target.get("model_type") == model_type:
            out[name] = dict(target.get("config", {}), model_type=model_type)
    return out


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


class TablePretrainedModel(PretrainedModel):
    config_class = None
    model_type: str = ""
    base_model_prefix: str = ""
    model_config_file = CONFIG_NAME
    resource_files_names = {"model_state": PADDLE_WEIGHTS}

    def __init__(self, config):
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        super().__init__(config)
        self.config = config

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.model_type and "pretrained_init_configuration" not in cls.__dict__:
            cls.pretrained_init_configuration = registry_configurations(cls.model_type)

    # ---- PaddleNLP's model API ---------------------------------------------------------------------------------
    def init_weights(self):
        """PaddleNLP calls this after every __init__; the kit's post_init() already initialised each layer once."""

    def recompute_disable(self):
        """Turn recompute off on every layer that has it (PaddleNLP 2.8.1's own recompute_disable turns it ON)."""
        for layer in self.sublayers(include_self=True):
            if hasattr(layer, "enable_recompute"):
                layer.enable_recompute = False

    def tie_weights(self):
        """Point a tied output head at the current input embedding; a head bias follows a resized vocabulary
        (kept rows as they were, new rows 0)."""
        head = self.get_output_embeddings()
        if head is None:
            return
        weight = self.get_input_embeddings().weight
        head.weight = weight
        bias = getattr(head, "bias", None)
        n = weight.shape[0]
        if bias is not None and bias.shape[0] != n:
            old = bias.numpy()
            new = np.zeros([n], dtype=old.dtype)
            new[:min(n, old.shape[0])] = old[:n]
            head.bias = head.create_parameter([n], is_bias=True, dtype=bias.dtype)
            head.bias.set_value(new)

    def resize_token_embeddings(self, new_num_tokens=None):
        """PaddleNLP's resize (new rows initialised, kept rows unchanged, config.vocab_size updated), then the tied
        head follows it."""
        embeddings = super().resize_token_embeddings(new_num_tokens)
        self.tie_weights()
        return embeddings

    # ---- hooks -------------------------------------------------------------------------------------------------
    def _init_weights(self, layer):
        raise NotImplementedError

    # ---- tables ------------------------------------------------------------------------------------------------
    def param_table(self):
        return table_of(self.model_type, self.config, type(self).__name__)

    # ---- helpers -----------------------------------------------------------------------------------------------
    def post_init(self):
        for layer in self.sublayers(include_self=True):
            self._init_weights(layer)

    def _output_flags(self, output_attentions, output_hidden_states, return_dict):
        c = self.config
        return (c.output_attentions if output_attentions is None else output_attentions,
                c.output_hidden_states if output_hidden_states is None else output_hidden_states,
                c.return_dict if return_dict is None else return_dict)

    def named_state_tensors(self) -> Dict[str, paddle.Tensor]:
        """name -> parameter for every table entry; paddle's state_dict holds the parameters themselves, tied
        names included."""
        return dict(self.state_dict())

    # ---- loading -----------------------------------------------------------------------------------------------
    def load_numpy_state(self, state: Dict[str, np.ndarray], layout: str, origin: str = "checkpoint",
                         allow_new_head: bool = False) -> None:
        """Load a numpy state dict in `layout` ('torch' or 'paddle'), strictly, through the parameter table
        (reprokit.loading: the same plan the torch side follows)."""
        plan = plan_load(self.model_type, self.config, type(self).__name__, state, layout, "paddle", origin,
                         allow_new_head)
        if plan.unused:
            logger.info("%s: not used by %s: %s", origin, type(self).__name__, ", ".join(plan.unused))
        if plan.new_head:
            logger.warning("%s: newly initialised head parameters: %s", origin, ", ".join(plan.new_head))
        params = self.named_state_tensors()
        for name, array in plan.arrays.items():
            target = params[name]
            target.set_value(np.ascontiguousarray(array).astype(_np_dtype(target.dtype)))

    @classmethod
    def from_pretrained(cls, path, *args, config=None, allow_new_head: bool = False, trust_pickle: bool = False,
                        revision=None, ignore_mismatched_sizes: bool = False, **config_overrides):
        """Load a HF directory (safetensors / .bin / sharded) or a native Paddle directory (model_state.pdparams),
        given as a directory or a name (artifacts.names: registry name or alias, hub repo id at `revision`).
        PaddleNLP's loader arguments (from_hf_hub, cache_dir, convert_from_torch, dtype, ...) are accepted: the
        table decides the layout, the kit's name resolution the source; `dtype` casts the loaded model."""
        if args:
            raise TypeError(f"{cls.__name__}.from_pretrained takes the path and keyword arguments only")
        for k in _LOADER_ARGS:
            config_overrides.pop(k, None)
        dtype = config_overrides.pop("dtype", None)
        allow_new_head = allow_new_head or ignore_mismatched_sizes
        path = resolve_model(path, revision)
        if config is None:
            cfg = config_dict(path, cls.model_type, config_overrides)
            config = cls.config_class(**{k: v for k, v in cfg.items() if k != "model_type"})
        model = cls(config)
        layout, state, weights = load_state(path, trust_pickle=trust_pickle)
        model.load_numpy_state(state, layout, origin=str(weights), allow_new_head=allow_new_head)
        model.eval()
        if dtype is not None and str(dtype).replace("paddle.", "") != "float32":
            model.to(dtype=dtype)
        return model

    def save_pretrained(self, path, overwrite: bool = True, **kwargs) -> Path:
        """Write config.json + model_state.pdparams (Paddle layout) + kit_manifest.json, atomically. PaddleNLP's
        saving options (safe_serialization, max_shard_size, ...) are accepted; the format is always this one."""
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


# PaddleNLP's from_pretrained arguments that choose a source or a cache, not config values
_LOADER_ARGS = ("from_hf_hub", "from_aistudio", "cache_dir", "subfolder", "convert_from_torch", "low_cpu_mem_usage",
                "use_safetensors", "variant", "load_state_as_np", "force_download", "_from_auto")


def _np_dtype(dtype) -> str:
    name = str(dtype).replace("paddle.", "")
    if name not in ("float16", "float32", "float64"):
        raise KitError(f"cannot load numpy weights into a {name} parameter; load in float32 and cast")
    return name
