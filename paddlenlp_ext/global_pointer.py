"""GlobalPointer and EfficientGlobalPointer span heads (Paddle), with the multilabel categorical cross-entropy.
Mirrors torch_ref/global_pointer.py line by line. They take any encoder's hidden states [B, L, H] and an attention
mask [B, L], so they sit on GAU-α, Funnel, or a PaddleNLP BERT alike.
"""
from __future__ import annotations

import importlib

import numpy as np
import paddle
import paddle.nn as nn

from reprokit import KitError
from reprokit.rope import interleaved_rope_tables

from .layers import Linear

NEG = -1e12  # masked logits (older code subtracted 1e12; -inf would make 0 * inf in fp32 gradients possible)


def apply_rope(x, sin, cos):
    """Interleaved RoPE on the last axis: pairs (x[2i], x[2i+1]) rotated by position * 10000^(-2i/d)."""
    x2 = paddle.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)
    return x * cos + x2 * sin


def mask_logits(logits, attention_mask, tril: bool = True):
    """logits [B, heads, L, L]: padded rows and columns, and (tril) the strict lower triangle i > j, get NEG."""
    L = logits.shape[-1]
    m = attention_mask.astype("bool")
    keep = paddle.logical_and(m[:, None, :, None], m[:, None, None, :])
    if tril:
        keep = paddle.logical_and(keep, paddle.triu(paddle.ones([L, L], dtype="int32")).astype("bool"))
    return paddle.where(keep, logits, paddle.full_like(logits, NEG))


class GlobalPointer(nn.Layer):
    def __init__(self, hidden_size: int, heads: int, head_size: int = 64, rope: bool = True, max_len: int = 512):
        super().__init__()
        self.heads, self.head_size, self.rope = heads, head_size, rope
        self.dense = Linear(hidden_size, heads * head_size * 2)
        sin, cos = interleaved_rope_tables(max_len, head_size)
        self.register_buffer("sin", paddle.to_tensor(sin), persistable=False)
        self.register_buffer("cos", paddle.to_tensor(cos), persistable=False)

    def forward(self, hidden_states, attention_mask):
        B, L, _ = hidden_states.shape
        x = self.dense(hidden_states).reshape([B, L, self.heads, 2 * self.head_size])  # per head [q | k]
        qw, kw = x[..., :self.head_size], x[..., self.head_size:]
        if self.rope:
            sin, cos = self.sin[:L, None, :].astype(x.dtype), self.cos[:L, None, :].astype(x.dtype)
            qw, kw = apply_rope(qw, sin, cos), apply_rope(kw, sin, cos)
        logits = paddle.einsum("bmhd,bnhd->bhmn", qw, kw) / self.head_size**0.5
        return mask_logits(logits, attention_mask)


class EfficientGlobalPointer(nn.Layer):
    def __init__(self, hidden_size: int, heads: int, head_size: int = 64, rope: bool = True, max_len: int = 512):
        super().__init__()
        self.heads, self.head_size, self.rope = heads, head_size, rope
        self.p_dense = Linear(hidden_size, head_size * 2)
        self.q_dense = Linear(head_size * 2, heads * 2)
        sin, cos = interleaved_rope_tables(max_len, head_size)
        self.register_buffer("sin", paddle.to_tensor(sin), persistable=False)
        self.register_buffer("cos", paddle.to_tensor(cos), persistable=False)

    def forward(self, hidden_states, attention_mask):
        L = hidden_states.shape[1]
        x = self.p_dense(hidden_states)  # [B, L, 2*hs]
        qw, kw = x[..., 0::2], x[..., 1::2]
        if self.rope:
            sin, cos = self.sin[:L].astype(x.dtype), self.cos[:L].astype(x.dtype)
            qw, kw = apply_rope(qw, sin, cos), apply_rope(kw, sin, cos)
        logits = paddle.matmul(qw, kw.transpose([0, 2, 1])) / self.head_size**0.5  # [B, L, L]
        bias = self.q_dense(x).transpose([0, 2, 1]) / 2  # [B, 2*heads, L], from the pre-RoPE x
        logits = logits[:, None] + bias[:, 0::2, None] + bias[:, 1::2, :, None]  # [B, heads, L, L]
        return mask_logits(logits, attention_mask)


def multilabel_categorical_crossentropy(logits, labels):
    """log(1 + sum_neg e^s) + log(1 + sum_pos e^-s) per (batch, head) over the L*L grid, then the mean."""
    B, H = logits.shape[:2]
    s = logits.reshape([B * H, -1])
    y = labels.reshape([B * H, -1]).astype(s.dtype)
    s = (1 - 2 * y) * s
    neg = s - y * 1e12
    pos = s - (1 - y) * 1e12
    zeros = paddle.zeros_like(s[..., :1])
    neg_loss = paddle.logsumexp(paddle.concat([neg, zeros], axis=-1), axis=-1)
    pos_loss = paddle.logsumexp(paddle.concat([pos, zeros], axis=-1), axis=-1)
    return (neg_loss + pos_loss).mean()


class GlobalPointerForNER(nn.Layer):
    """An encoder of the kit (GAUAlphaModel, FunnelModel) with a GlobalPointer or EfficientGlobalPointer head and the
    multilabel categorical cross-entropy: logits [B, heads, L, L]. Saved as one checkpoint directory (`backbone.*`,
    `global_pointer.*`; config.json = the encoder's config + a `global_pointer` entry)."""

    def __init__(self, encoder, heads: int, head_size: int = 64, rope: bool = True, efficient: bool = False,
                 max_len: int = 512) -> None:
        super().__init__()
        self.config = encoder.config
        self.backbone = encoder
        self.span_config = dict(heads=heads, head_size=head_size, rope=rope, efficient=efficient, max_len=max_len)
        head = EfficientGlobalPointer if efficient else GlobalPointer
        self.global_pointer = head(self.config.hidden_size, heads, head_size, rope=rope, max_len=max_len)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, return_dict=None):
        from paddlenlp.transformers.model_outputs import TokenClassifierOutput
        if attention_mask is None:
            attention_mask = (input_ids != (self.config.pad_token_id or 0)).astype("int64")
        hidden = self.backbone(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                              return_dict=True).last_hidden_state
        logits = self.global_pointer(hidden, attention_mask)
        loss = multilabel_categorical_crossentropy(logits, labels) if labels is not None else None
        if return_dict is False:
            return (loss, logits) if loss is not None else (logits,)
        return TokenClassifierOutput(loss=loss, logits=logits)

    def head_table(self):
        from reprokit.global_pointer_table import global_pointer_table
        c = self.span_config
        return global_pointer_table(self.config.hidden_size, c["heads"], c["head_size"], c["efficient"])

    def save_pretrained(self, directory):
        """config.json (the encoder's + `global_pointer`) and model_state.pdparams in Paddle's layout, atomically.
        With a PaddleNLP encoder (BERT, RoBERTa): model.safetensors in the torch layout under transformers' names
        (through PaddleNLP's name mapping), which transformers and this class both read."""
        from reprokit.checkpoint import PADDLE_WEIGHTS, write_directory, write_pdparams
        from reprokit.files import write_json
        from reprokit.tables import convert_array

        from .ecosystem import ENCODERS, encoder_state
        config = self.config.to_dict()
        ecosystem = config.get("model_type") in ENCODERS
        if ecosystem:
            head = dict(self.global_pointer.named_parameters())
            state = {"backbone." + k: v for k, v in encoder_state(self.backbone).items()}
            state.update({"global_pointer." + p.name: convert_array(p, head[p.name].numpy(), "paddle", "torch")
                          for p in self.head_table()})
            config = {k: v for k, v in config.items() if not k.startswith(("paddle", "dtype"))}
        else:
            state = {k: v.numpy() for k, v in self.state_dict().items()}

        def write(tmp):
            write_json(tmp / "config.json", {**config, "global_pointer": self.span_config,
                                             "architectures": ["GlobalPointerForNER"]})
            if ecosystem:
                from safetensors.numpy import save_file
                save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(tmp / "model.safetensors"),
                          metadata={"format": "pt"})
            else:
                write_pdparams(tmp / PADDLE_WEIGHTS, state)

        return write_directory(directory, write, manifest_extra={"layout": "torch" if ecosystem else "paddle",
                                                                 "class": "GlobalPointerForNER"})

    @classmethod
    def from_pretrained(cls, directory, heads: int = None, head_size: int = 64, rope: bool = True,
                        efficient: bool = False, trust_pickle: bool = False, revision=None, **config_overrides):
        """A fine-tuned span model (its config names the head), or a checkpoint of the encoder's family with a new
        head of the given shape. Either layout; a directory or a name (artifacts.names)."""
        import numpy as np

        from artifacts.names import resolve_model
        directory = resolve_model(directory, revision)

        from reprokit.checkpoint import load_state, read_config
        from reprokit.loading import ENCODER_ARCH, config_dict, plan_span_model

        from .auto import REGISTRY
        if read_config(directory).get("model_type") not in REGISTRY:  # BERT, RoBERTa...: PaddleNLP's encoder
            return cls._from_ecosystem(directory, dict(heads=heads, head_size=head_size, rope=rope,
                                                       efficient=efficient), trust_pickle)
        cfg = config_dict(directory, read_config(directory).get("model_type"), config_overrides)
        span = cfg.pop("global_pointer", None) or dict(heads=heads, head_size=head_size, rope=rope, efficient=efficient)
        enc_cls = getattr(importlib.import_module(REGISTRY[cfg["model_type"]]), ENCODER_ARCH[cfg["model_type"]])
        model = cls(enc_cls(enc_cls.config_class(**{k: v for k, v in cfg.items() if k != "model_type"})), **span)
        layout, state, weights = load_state(directory, trust_pickle=trust_pickle)
        arrays, _ = plan_span_model(cfg["model_type"], model.config, model.head_table(), state, layout, "paddle",
                                    str(weights))
        params = dict(model.state_dict())
        for k, v in arrays.items():
            params[k].set_value(np.ascontiguousarray(v).astype(str(params[k].dtype).replace("paddle.", "")))
        model.eval()
        return model

    @classmethod
    def _from_ecosystem(cls, directory, new_span: dict, trust_pickle: bool):
        """PaddleNLP's encoder for the checkpoint's model type, loaded from a torch-layout checkpoint (transformers'
        pretrained one, or a span model saved by either backend) through PaddleNLP's name mapping."""
        import numpy as np

        from reprokit.checkpoint import load_state, read_config
        from reprokit.loading import span_head_arrays

        from .ecosystem import encoder_class, encoder_config, load_encoder, split_span_state
        raw = read_config(directory)
        model_type = raw["model_type"]
        layout, state, weights = load_state(directory, trust_pickle=trust_pickle)
        if layout != "torch":
            raise KitError(f"{weights}: a {model_type} span model is read from the torch layout (transformers' "
                           "names), which both backends write")
        enc_state, head_state, new_head = split_span_state(state, model_type, str(weights))
        span = raw.get("global_pointer") or new_span
        encoder = encoder_class(model_type, str(weights))(encoder_config(model_type, raw))
        load_encoder(encoder, enc_state, str(weights))
        model = cls(encoder, **{k: span[k] for k in ("heads", "head_size", "rope", "efficient") if k in span})
        if not new_head:
            params = dict(model.state_dict())
            for k, arr in span_head_arrays(model.head_table(), head_state, "torch", "paddle", str(weights)).items():
                params[k].set_value(np.ascontiguousarray(arr).astype(str(params[k].dtype).replace("paddle.", "")))
        model.eval()
        return model
