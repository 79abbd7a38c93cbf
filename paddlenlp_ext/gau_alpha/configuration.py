"""GAUAlphaConfig for the Paddle port: the same fields and checks as torch_ref/gau_alpha.py's config; reads the
released config.json (unknown keys are kept, not used)."""
from __future__ import annotations

from paddlenlp.transformers.configuration_utils import PretrainedConfig

NORMALIZATIONS = ("softmax", "squared_relu", "softmax_plus")
SOFTMAX_PLUS_VARIANTS = ("gau-alpha-0.0.3", "bert4keras-0.11.4", "bert4keras-0.11.5")
SUMMARY_TYPES = ("first", "last", "mean")


class GAUAlphaConfig(PretrainedConfig):
    model_type = "gau_alpha"

    def __init__(self, vocab_size=12000, hidden_size=768, intermediate_size=1536, num_hidden_layers=24,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, attention_key_size=128,
                 layer_norm_eps=None, pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 hidden_act=None, classifier_dropout=0.1, use_bias=False, normalization="softmax_plus",
                 softmax_plus_variant="gau-alpha-0.0.3", attention_scale=True, summary_type="first",
                 summary_use_proj=False, summary_proj_to_labels=False, summary_activation=None,
                 summary_first_dropout=0.0, summary_last_dropout=0.0, **kwargs):
        # PaddleNLP's GAU-alpha config names two of these differently and its model reads only its own names; its
        # config.json also carries PretrainedConfig's unrelated default hidden_act "gelu". So PaddleNLP's names win
        # when present (the kit writes both, equal).
        if "norm_eps" in kwargs:
            layer_norm_eps = kwargs.pop("norm_eps")
        if "activation" in kwargs:
            hidden_act = kwargs.pop("activation")
        layer_norm_eps = 1e-12 if layer_norm_eps is None else layer_norm_eps
        hidden_act = "swish" if hidden_act is None else hidden_act
        kwargs.setdefault("return_dict", True)
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {normalization!r} is not supported; use one of {NORMALIZATIONS}")
        if softmax_plus_variant not in SOFTMAX_PLUS_VARIANTS:
            raise ValueError(f"softmax_plus_variant {softmax_plus_variant!r} is not supported; "
                             f"use one of {SOFTMAX_PLUS_VARIANTS}")
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.attention_key_size = attention_key_size
        self.layer_norm_eps = layer_norm_eps
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.hidden_act = hidden_act
        self.classifier_dropout = classifier_dropout
        self.use_bias = use_bias
        self.normalization = normalization
        self.softmax_plus_variant = softmax_plus_variant
        self.attention_scale = attention_scale
        if summary_type not in SUMMARY_TYPES:
            raise ValueError(f"summary_type {summary_type!r} is not supported; use one of {SUMMARY_TYPES}")
        # see torch_ref/gau_alpha.py: "first" (the CLS token) by default, where transformers would take the last
        self.summary_type = summary_type
        self.summary_use_proj = summary_use_proj
        self.summary_proj_to_labels = summary_proj_to_labels
        self.summary_activation = summary_activation
        self.summary_first_dropout = summary_first_dropout
        self.summary_last_dropout = summary_last_dropout

    def to_dict(self):
        out = super().to_dict()
        out["norm_eps"], out["activation"] = self.layer_norm_eps, self.hidden_act  # PaddleNLP's names
        return out
