"""Layer-wise learning-rate decay and weight-decay exclusion, computed from parameter names (identical in the torch
references and the Paddle ports), so both backends apply the same per-parameter rates.

Depth: embeddings 0; Funnel: encoder layers counted across blocks (block b, layer i -> 1 + sum(block_sizes[:b]) + i;
block_repeats reuse a layer's parameters, so they add no depth), then the decoder layers; GAU-α: encoder.layer.i -> i+1.
Everything else (pooler/heads, GlobalPointer) is on top: depth L+1. Rate multiplier = decay ** (L + 1 - depth).
No weight decay for biases and normalisation gains/offsets (LayerNorm, ScaleNorm, ScaleOffset).
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, Tuple

# as both trainers' defaults: any name containing "bias" (Funnel's r_w_bias too) or "norm"; GAU-α's ScaleOffset too
NO_DECAY = re.compile(r"(bias|norm|scaleoffset)", re.IGNORECASE)


def num_layers(model_type: str, config) -> int:
    if model_type == "funnel":
        return sum(config.block_sizes) + config.num_decoder_layers
    return config.num_hidden_layers  # GAU-alpha, and the BERT-like models of the Auto classes


def depth(name: str, model_type: str, config) -> int:
    L = num_layers(model_type, config)
    if "embeddings" in name:
        return 0
    if model_type == "funnel":
        m = re.search(r"encoder\.blocks\.(\d+)\.(\d+)\.", name)
        if m:
            b, i = int(m.group(1)), int(m.group(2))
            return 1 + sum(config.block_sizes[:b]) + i
        m = re.search(r"decoder\.layers\.(\d+)\.", name)
        if m:
            return 1 + sum(config.block_sizes) + int(m.group(1))
    else:  # GAU-alpha and transformers' BERT-likes: encoder.layer.N; PaddleNLP's: encoder.layers.N
        m = re.search(r"encoder\.layers?\.(\d+)\.", name)
        if m:
            return 1 + int(m.group(1))
    return L + 1


def param_rates(names: Iterable[str], model_type: str, config, layer_lr_decay: float = 1.0,
                weight_decay: float = 0.0) -> Dict[str, Tuple[float, float]]:
    """name -> (learning-rate multiplier, weight decay)."""
    top = num_layers(model_type, config) + 1
    out = {}
    for n in names:
        scale = layer_lr_decay ** (top - depth(n, model_type, config)) if layer_lr_decay != 1.0 else 1.0
        out[n] = (scale, 0.0 if NO_DECAY.search(n) else weight_decay)
    return out
