"""FunnelConfig for the Paddle port: reads HF's config.json for Funnel (unused and stale keys are kept, not used)."""
from __future__ import annotations

from paddlenlp.transformers.configuration_utils import PretrainedConfig

ATTENTION_TYPES = ("relative_shift", "factorized")
POOLING_TYPES = ("mean", "max")


class FunnelConfig(PretrainedConfig):
    model_type = "funnel"
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "n_head"}

    def __init__(
        self,
        vocab_size=30522,
        block_sizes=(4, 4, 4),
        block_repeats=None,
        num_decoder_layers=2,
        d_model=768,
        n_head=12,
        d_head=64,
        d_inner=3072,
        hidden_act="gelu_new",
        hidden_dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        initializer_range=0.1,
        initializer_std=None,
        layer_norm_eps=1e-9,
        pooling_type="mean",
        attention_type="relative_shift",
        separate_cls=True,
        truncate_seq=True,
        pool_q_only=True,
        **kwargs,
    ):
        kwargs.setdefault("return_dict", True)  # HF's default; PaddleNLP's PretrainedConfig defaults to tuples
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.block_sizes = list(block_sizes)
        self.block_repeats = [1] * len(self.block_sizes) if block_repeats is None else list(block_repeats)
        if len(self.block_sizes) != len(self.block_repeats):
            raise ValueError(f"block_sizes {self.block_sizes} and block_repeats {self.block_repeats} differ in length")
        if not self.block_sizes or min(self.block_sizes) < 1 or min(self.block_repeats) < 1:
            raise ValueError(f"block_sizes {self.block_sizes} / block_repeats {self.block_repeats} must be >= 1")
        self.num_decoder_layers = num_decoder_layers
        self.d_model = d_model
        self.n_head = n_head
        self.d_head = d_head
        self.d_inner = d_inner
        self.hidden_act = hidden_act
        self.hidden_dropout = hidden_dropout
        self.attention_dropout = attention_dropout
        self.activation_dropout = activation_dropout
        self.initializer_range = initializer_range
        self.initializer_std = initializer_std
        self.layer_norm_eps = layer_norm_eps
        if pooling_type not in POOLING_TYPES:
            raise ValueError(f"pooling_type {pooling_type!r} is not supported; use one of {POOLING_TYPES}")
        self.pooling_type = pooling_type
        if attention_type not in ATTENTION_TYPES:
            raise ValueError(f"attention_type {attention_type!r} is not supported; use one of {ATTENTION_TYPES}")
        self.attention_type = attention_type
        self.separate_cls = separate_cls
        self.truncate_seq = truncate_seq
        self.pool_q_only = pool_q_only

    @property
    def num_hidden_layers(self):
        return sum(self.block_sizes)

    @property
    def num_blocks(self):
        return len(self.block_sizes)
