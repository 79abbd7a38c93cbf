"""The GAU-α parameter table (torch layout), from the config. `cfg` has GAU-α's config attributes."""
from __future__ import annotations

from typing import List

from .tables import Param, linear

BASE_PREFIX = "gau_alpha"

# class name -> has the `gau_alpha.` prefix
ARCHITECTURES = {
    "GAUAlphaModel": False,
    "GAUAlphaForMaskedLM": True,
    "GAUAlphaForSequenceClassification": True,
    "GAUAlphaForMultipleChoice": True,
    "GAUAlphaForTokenClassification": True,
    "GAUAlphaForQuestionAnswering": True,
}


def body_table(cfg, prefix: str = "") -> List[Param]:
    h, i, k = cfg.hidden_size, cfg.intermediate_size, cfg.attention_key_size
    table = [
        Param(f"{prefix}embeddings.word_embeddings.weight", (cfg.vocab_size, h)),
        Param(f"{prefix}embeddings.token_type_embeddings.weight", (cfg.type_vocab_size, h)),
    ]
    for n in range(cfg.num_hidden_layers):
        g = f"{prefix}encoder.layer.{n}.gau"
        table += linear(f"{g}.i_dense", h, 2 * i + k, bias=cfg.use_bias)  # rows: u 0:I, v I:2I, qk 2I:2I+K
        table += linear(f"{g}.o_dense", i, h, bias=cfg.use_bias)
        for so in ("q_scaleoffset", "k_scaleoffset"):
            table.append(Param(f"{g}.{so}.weight", (k,)))
            if cfg.use_bias:
                table.append(Param(f"{g}.{so}.bias", (k,)))
    return table


def gau_alpha_table(cfg, arch: str) -> List[Param]:
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown GAU-alpha class {arch!r}; known: {', '.join(ARCHITECTURES)}")
    table = body_table(cfg, prefix=f"{BASE_PREFIX}." if ARCHITECTURES[arch] else "")
    h = cfg.hidden_size
    if arch == "GAUAlphaForMaskedLM":  # no bias; tied to the word embeddings, same [vocab, hidden] layout
        table.append(Param("cls.predictions.decoder.weight", (cfg.vocab_size, h),
                           tied_to=f"{BASE_PREFIX}.embeddings.word_embeddings.weight", head=True,
                           aliases=("cls.decoder_weight",)))  # PaddleNLP 2.8.1's name for the same tied tensor
    if arch in ("GAUAlphaForSequenceClassification", "GAUAlphaForMultipleChoice"):
        if getattr(cfg, "summary_use_proj", False):
            to_labels = getattr(cfg, "summary_proj_to_labels", False) and cfg.num_labels > 0
            table += linear("sequence_summary.summary", h, cfg.num_labels if to_labels else h, head=True)
        n = cfg.num_labels if arch == "GAUAlphaForSequenceClassification" else 1
        table += linear("classifier", h, n, head=True)
    if arch == "GAUAlphaForTokenClassification":
        table += linear("classifier", h, cfg.num_labels, head=True)
    if arch == "GAUAlphaForQuestionAnswering":
        table += linear("qa_outputs", h, 2, head=True)
    return table
