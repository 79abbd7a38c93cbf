"""The Funnel-Transformer parameter table: every parameter of every class, torch layout, what to transpose.

`cfg` is any object with Funnel's config attributes (transformers.FunnelConfig or paddlenlp_ext's FunnelConfig).
"""
from __future__ import annotations

from typing import List

from .tables import Param, layer_norm, linear

BASE_PREFIX = "funnel"

# class name -> (body: "full" encoder+decoder | "base" encoder only, has the `funnel.` prefix)
ARCHITECTURES = {
    "FunnelModel": ("full", False),
    "FunnelBaseModel": ("base", False),
    "FunnelForPreTraining": ("full", True),
    "FunnelForMaskedLM": ("full", True),
    "FunnelForSequenceClassification": ("base", True),
    "FunnelForMultipleChoice": ("base", True),
    "FunnelForTokenClassification": ("full", True),
    "FunnelForQuestionAnswering": ("full", True),
}


def _attention(prefix: str, cfg) -> List[Param]:
    d, n, h = cfg.d_model, cfg.n_head, cfg.d_head
    return [  # torch's state-dict order: a module's own parameters before its submodules'
        Param(f"{prefix}.r_w_bias", (n, h)),
        Param(f"{prefix}.r_r_bias", (n, h)),
        Param(f"{prefix}.r_kernel", (d, n, h)),
        Param(f"{prefix}.r_s_bias", (n, h)),
        Param(f"{prefix}.seg_embed", (2, n, h)),
        *linear(f"{prefix}.q_head", d, n * h, bias=False),
        # the key bias adds q.b to a whole score row; softmax is shift-invariant per row: its gradient is zero
        Param(f"{prefix}.k_head.weight", (n * h, d), transpose=True),
        Param(f"{prefix}.k_head.bias", (n * h,), zero_grad_scale=f"{prefix}.k_head.weight"),
        *linear(f"{prefix}.v_head", d, n * h),
        *linear(f"{prefix}.post_proj", n * h, d),
        *layer_norm(f"{prefix}.layer_norm", d),
    ]


def _layer(prefix: str, cfg) -> List[Param]:
    return [
        *_attention(f"{prefix}.attention", cfg),
        *linear(f"{prefix}.ffn.linear_1", cfg.d_model, cfg.d_inner),
        *linear(f"{prefix}.ffn.linear_2", cfg.d_inner, cfg.d_model),
        *layer_norm(f"{prefix}.ffn.layer_norm", cfg.d_model),
    ]


def body_table(cfg, decoder: bool, prefix: str = "") -> List[Param]:
    table = [
        Param(f"{prefix}embeddings.word_embeddings.weight", (cfg.vocab_size, cfg.d_model)),
        *layer_norm(f"{prefix}embeddings.layer_norm", cfg.d_model),
    ]
    for b, size in enumerate(cfg.block_sizes):
        for i in range(size):
            table += _layer(f"{prefix}encoder.blocks.{b}.{i}", cfg)
    if decoder:
        for j in range(cfg.num_decoder_layers):
            table += _layer(f"{prefix}decoder.layers.{j}", cfg)
    return table


def head_table(arch: str, cfg) -> List[Param]:
    d = cfg.d_model
    if arch == "FunnelForPreTraining":
        return linear("discriminator_predictions.dense", d, d, head=True) + \
            linear("discriminator_predictions.dense_prediction", d, 1, head=True)
    if arch == "FunnelForMaskedLM":
        return [Param("lm_head.weight", (cfg.vocab_size, d), tied_to=f"{BASE_PREFIX}.embeddings.word_embeddings.weight",
                      head=True),
                Param("lm_head.bias", (cfg.vocab_size,), head=True)]
    if arch == "FunnelForSequenceClassification":
        return linear("classifier.linear_hidden", d, d, head=True) + \
            linear("classifier.linear_out", d, cfg.num_labels, head=True)
    if arch == "FunnelForMultipleChoice":
        return linear("classifier.linear_hidden", d, d, head=True) + linear("classifier.linear_out", d, 1, head=True)
    if arch == "FunnelForTokenClassification":
        return linear("classifier", d, cfg.num_labels, head=True)
    if arch == "FunnelForQuestionAnswering":
        return linear("qa_outputs", d, cfg.num_labels, head=True)
    return []


def funnel_table(cfg, arch: str) -> List[Param]:
    """The complete, ordered parameter list of `arch` built from `cfg`."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown Funnel class {arch!r}; known: {', '.join(ARCHITECTURES)}")
    body, prefixed = ARCHITECTURES[arch]
    table = body_table(cfg, decoder=body == "full", prefix=f"{BASE_PREFIX}." if prefixed else "")
    table += head_table(arch, cfg)
    return table
