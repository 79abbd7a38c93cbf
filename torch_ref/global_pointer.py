"""GlobalPointer and EfficientGlobalPointer span heads (PyTorch), with the multilabel categorical cross-entropy.
Mirrored line by line in paddlenlp_ext/global_pointer.py. They take any encoder's hidden states [B, L, H] and an
attention mask [B, L], so they sit on GAU-α, Funnel, or a BERT from transformers alike.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from reprokit.rope import interleaved_rope_tables

NEG = -1e12  # masked logits (older code subtracted 1e12; -inf would make 0 * inf in fp32 gradients possible)


def apply_rope(x, sin, cos):
    """Interleaved RoPE on the last axis: pairs (x[2i], x[2i+1]) rotated by position * 10000^(-2i/d)."""
    x2 = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).reshape(x.shape)
    return x * cos + x2 * sin


def mask_logits(logits, attention_mask, tril: bool = True):
    """logits [B, heads, L, L]: padded rows and columns, and (tril) the strict lower triangle i > j, get NEG."""
    L = logits.shape[-1]
    keep = attention_mask[:, None, :, None].bool() & attention_mask[:, None, None, :].bool()
    if tril:
        keep = keep & torch.ones(L, L, dtype=torch.bool, device=logits.device).triu()
    return torch.where(keep, logits, torch.full_like(logits, NEG))


class GlobalPointer(nn.Module):
    def __init__(self, hidden_size: int, heads: int, head_size: int = 64, rope: bool = True, max_len: int = 512):
        super().__init__()
        self.heads, self.head_size, self.rope = heads, head_size, rope
        self.dense = nn.Linear(hidden_size, heads * head_size * 2)
        sin, cos = interleaved_rope_tables(max_len, head_size)
        self.register_buffer("sin", torch.from_numpy(sin), persistent=False)
        self.register_buffer("cos", torch.from_numpy(cos), persistent=False)

    def forward(self, hidden_states, attention_mask):
        B, L, _ = hidden_states.shape
        x = self.dense(hidden_states).reshape(B, L, self.heads, 2 * self.head_size)  # per head [q | k]
        qw, kw = x[..., :self.head_size], x[..., self.head_size:]
        if self.rope:
            sin, cos = self.sin[:L, None, :].to(x.dtype), self.cos[:L, None, :].to(x.dtype)
            qw, kw = apply_rope(qw, sin, cos), apply_rope(kw, sin, cos)
        logits = torch.einsum("bmhd,bnhd->bhmn", qw, kw) / self.head_size**0.5
        return mask_logits(logits, attention_mask)


class EfficientGlobalPointer(nn.Module):
    def __init__(self, hidden_size: int, heads: int, head_size: int = 64, rope: bool = True, max_len: int = 512):
        super().__init__()
        self.heads, self.head_size, self.rope = heads, head_size, rope
        self.p_dense = nn.Linear(hidden_size, head_size * 2)
        self.q_dense = nn.Linear(head_size * 2, heads * 2)
        sin, cos = interleaved_rope_tables(max_len, head_size)
        self.register_buffer("sin", torch.from_numpy(sin), persistent=False)
        self.register_buffer("cos", torch.from_numpy(cos), persistent=False)

    def forward(self, hidden_states, attention_mask):
        L = hidden_states.shape[1]
        x = self.p_dense(hidden_states)  # [B, L, 2*hs]
        qw, kw = x[..., 0::2], x[..., 1::2]
        if self.rope:
            sin, cos = self.sin[:L].to(x.dtype), self.cos[:L].to(x.dtype)
            qw, kw = apply_rope(qw, sin, cos), apply_rope(kw, sin, cos)
        logits = torch.matmul(qw, kw.transpose(1, 2)) / self.head_size**0.5  # [B, L, L]
        bias = self.q_dense(x).transpose(1, 2) / 2  # [B, 2*heads, L], from the pre-RoPE x
        logits = logits[:, None] + bias[:, 0::2, None] + bias[:, 1::2, :, None]  # [B, heads, L, L]
        return mask_logits(logits, attention_mask)


def multilabel_categorical_crossentropy(logits, labels):
    """log(1 + sum_neg e^s) + log(1 + sum_pos e^-s) per (batch, head) over the L*L grid, then the mean."""
    B, H = logits.shape[:2]
    s = logits.reshape(B * H, -1)
    y = labels.reshape(B * H, -1).to(s.dtype)
    s = (1 - 2 * y) * s
    neg = s - y * 1e12
    pos = s - (1 - y) * 1e12
    zeros = torch.zeros_like(s[..., :1])
    neg_loss = torch.logsumexp(torch.cat([neg, zeros], dim=-1), dim=-1)
    pos_loss = torch.logsumexp(torch.cat([pos, zeros], dim=-1), dim=-1)
    return (neg_loss + pos_loss).mean()


class GlobalPointerForNER(nn.Module):
    """An encoder of the kit (GAUAlphaModel, transformers' FunnelModel) with a GlobalPointer or EfficientGlobalPointer
    head and the multilabel categorical cross-entropy: logits [B, heads, L, L]. Saved as one checkpoint directory
    (`backbone.*`, `global_pointer.*`; config.json = the encoder's config + a `global_pointer` entry)."""

    def __init__(self, encoder, heads: int, head_size: int = 64, rope: bool = True, efficient: bool = False,
                 max_len: int = 512) -> None:
        super().__init__()
        self.config = encoder.config
        self.backbone = encoder
        self.span_config = dict(heads=heads, head_size=head_size, rope=rope, efficient=efficient, max_len=max_len)
        head = EfficientGlobalPointer if efficient else GlobalPointer
        self.global_pointer = head(self.config.hidden_size, heads, head_size, rope=rope, max_len=max_len)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, return_dict=None):
        from transformers.modeling_outputs import TokenClassifierOutput
        if attention_mask is None:
            attention_mask = (input_ids != (self.config.pad_token_id or 0)).long()
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
        """config.json (the encoder's + `global_pointer`) and model.safetensors in the torch layout, atomically."""
        from safetensors.torch import save_file

        from reprokit.checkpoint import write_directory
        from reprokit.files import write_json
        config = self.config.to_dict()
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}

        def write(tmp):
            write_json(tmp / "config.json", {**config, "global_pointer": self.span_config,
                                             "architectures": ["GlobalPointerForNER"]})
            save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})

        return write_directory(directory, write, manifest_extra={"layout": "torch", "class": "GlobalPointerForNER"})

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

        from . import model_class
        from reprokit.loading import FAMILIES
        if read_config(directory).get("model_type") not in FAMILIES:  # BERT, RoBERTa...: transformers' encoder
            return cls._from_ecosystem(directory, dict(heads=heads, head_size=head_size, rope=rope,
                                                       efficient=efficient), trust_pickle)
        cfg = config_dict(directory, read_config(directory).get("model_type"), config_overrides)
        span = cfg.pop("global_pointer", None) or dict(heads=heads, head_size=head_size, rope=rope, efficient=efficient)
        enc_cls = model_class(ENCODER_ARCH[cfg["model_type"]])
        model = cls(enc_cls(enc_cls.config_class.from_dict(cfg)), **span)
        layout, state, weights = load_state(directory, trust_pickle=trust_pickle)
        arrays, _ = plan_span_model(cfg["model_type"], model.config, model.head_table(), state, layout, "torch",
                                    str(weights))
        own = model.state_dict()
        own.update({k: torch.from_numpy(np.ascontiguousarray(v)).to(own[k].dtype) for k, v in arrays.items()})
        model.load_state_dict(own)
        return model.eval()

    @classmethod
    def _from_ecosystem(cls, directory, new_span: dict, trust_pickle: bool):
        """transformers' AutoModel for the checkpoint's model type: from a span model saved by either backend (torch
        layout, `backbone.*` + `global_pointer.*`), or from a pretrained checkpoint with a new head."""
        import numpy as np
        from transformers import AutoConfig, AutoModel

        from reprokit import KitError
        from reprokit.checkpoint import load_state, read_config
        from reprokit.loading import span_head_arrays
        from reprokit.tables import describe_key_problems
        raw = read_config(directory)
        span = raw.get("global_pointer") or new_span
        kw = {k: span[k] for k in ("heads", "head_size", "rope", "efficient") if k in span}
        layout, state, weights = load_state(directory, trust_pickle=trust_pickle)
        if layout != "torch":
            raise KitError(f"{weights}: a {raw.get('model_type')} span model is read from the torch layout "
                           "(transformers' names), which both backends write")
        if not any(k.startswith("backbone.") for k in state):  # pretrained: transformers strips `bert.` itself
            return cls(AutoModel.from_pretrained(str(directory), add_pooling_layer=False), **kw).eval()
        model = cls(AutoModel.from_config(AutoConfig.from_pretrained(str(directory)), add_pooling_layer=False), **kw)
        own = model.state_dict()
        backbone = {k for k in own if k.startswith("backbone.")}
        given = {k for k in state if k.startswith("backbone.") and not k.startswith("backbone.pooler.")}
        extra = sorted(k for k in state if not k.startswith(("backbone.", "global_pointer.")))
        if backbone != given or extra:  # (a Paddle-written encoder carries a pooler the span model has not)
            raise KitError(describe_key_problems(str(weights), sorted(backbone - given), sorted(given - backbone)
                                                 + extra))
        arrays = {k: np.asarray(state[k]) for k in backbone}
        arrays.update(span_head_arrays(model.head_table(), {k[len("global_pointer."):]: v for k, v in state.items()
                                                            if k.startswith("global_pointer.")},
                                       "torch", "torch", str(weights)))
        for k, array in arrays.items():
            if tuple(array.shape) != tuple(own[k].shape):
                raise KitError(f"{weights}: {k} has shape {tuple(array.shape)}, the model {tuple(own[k].shape)}")
            own[k] = torch.from_numpy(np.ascontiguousarray(array)).to(own[k].dtype)
        model.load_state_dict(own)
        return model.eval()
