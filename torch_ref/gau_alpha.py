"""GAU-α in PyTorch, a transformers model: the torch reference of the kit. It uses only transformers APIs alike in
4.46 and 5.x (PretrainedConfig, PreTrainedModel, the ModelOutput classes; registered with the Auto classes on
`import torch_ref`), so it runs with either. Same state-dict names as the `gau-alpha` package (0.0.3), whose modeling
it mirrors; checked equal to it in tests/test_gau_alpha_torch_ref.py. The Paddle port is to mirror this file.

Differences from the package, each a choice named in the config:
- softmax_plus_variant: "gau-alpha-0.0.3" (default: the released PyTorch checkpoint's code; every key column scaled
  by log(l)/log(512)), "bert4keras-0.11.4" (also gau-alpha 0.0.4 and PaddleNLP: padded key columns keep scale 1),
  "bert4keras-0.11.5" (as 0.11.4, with l clamped to >= 16). They differ only where a row has length 1 (0.11.4) or < 16.
- the MLM decoder is tied to the word embeddings here explicitly (transformers 5.x no longer ties the package's).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import PretrainedConfig, PreTrainedModel
from transformers import __version__ as transformers_version
from transformers.modeling_outputs import (BaseModelOutput, MaskedLMOutput, MultipleChoiceModelOutput,
                                         QuestionAnsweringModelOutput, SequenceClassifierOutput,
                                         TokenClassifierOutput)

from reprokit.rope import rope_tables

INF = 1e4
SOFTMAX_PLUS_VARIANTS = ("gau-alpha-0.0.3", "bert4keras-0.11.4", "bert4keras-0.11.5")
NORMALIZATIONS = ("softmax", "squared_relu", "softmax_plus")
SUMMARY_TYPES = ("first", "last", "mean")
_ACT = {"swish": nn.SiLU, "silu": nn.SiLU, "gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}  # modules, as ACT2FN


class GAUAlphaConfig(PretrainedConfig):
    """transformers' PretrainedConfig for GAU-alpha (AutoConfig model_type "gau_alpha"). Reads the released
    config.json and PaddleNLP's (its names norm_eps / activation win when present: PaddleNLP's model reads only those,
    and its config.json also carries PretrainedConfig's unrelated default hidden_act); unknown keys are kept."""
    model_type = "gau_alpha"

    def __init__(self, vocab_size=12000, hidden_size=768, intermediate_size=1536, num_hidden_layers=24,
                 max_position_embeddings=512, type_vocab_size=2, initializer_range=0.02, attention_key_size=128,
                 layer_norm_eps=1e-12, pad_token_id=0, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 hidden_act="swish", classifier_dropout=0.1, use_bias=False, normalization="softmax_plus",
                 softmax_plus_variant="gau-alpha-0.0.3", attention_scale=True, summary_type="first",
                 summary_use_proj=False, summary_proj_to_labels=False, summary_activation=None,
                 summary_first_dropout=0.0, summary_last_dropout=0.0, tie_word_embeddings=True, **kwargs):
        layer_norm_eps = kwargs.pop("norm_eps", layer_norm_eps)
        hidden_act = kwargs.pop("activation", hidden_act)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization {normalization!r} is not supported; use one of {NORMALIZATIONS}")
        if softmax_plus_variant not in SOFTMAX_PLUS_VARIANTS:
            raise ValueError(f"softmax_plus_variant {softmax_plus_variant!r} is not supported; "
                             f"use one of {SOFTMAX_PLUS_VARIANTS}")
        if hidden_act not in _ACT:
            raise ValueError(f"hidden_act {hidden_act!r} is not supported; use one of {sorted(_ACT)}")
        if summary_type not in SUMMARY_TYPES:
            raise ValueError(f"summary_type {summary_type!r} is not supported; use one of {SUMMARY_TYPES}")
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
        # SequenceSummary of the classification / multiple-choice heads. The package leaves these to transformers'
        # defaults, which take the LAST position (a pad token in a padded batch); GAU-alpha's recipe reads the CLS
        # token, so "first" is the default here. A config.json that names them is followed.
        self.summary_type = summary_type
        self.summary_use_proj = summary_use_proj
        self.summary_proj_to_labels = summary_proj_to_labels
        self.summary_activation = summary_activation
        self.summary_first_dropout = summary_first_dropout
        self.summary_last_dropout = summary_last_dropout
        self.pad_token_id = pad_token_id  # transformers 5 no longer keeps it in the base class
        self.tie_word_embeddings = tie_word_embeddings
        super().__init__(pad_token_id=pad_token_id, tie_word_embeddings=tie_word_embeddings, **kwargs)

    def to_dict(self) -> dict:
        out = super().to_dict()
        # PaddleNLP's names too, equal to ours, so PaddleNLP's GAU-alpha reads the same values
        out["norm_eps"], out["activation"] = self.layer_norm_eps, self.hidden_act
        return out


def attention_normalize(a, l, method, variant, mask):
    """a: [B, L, L] scores, l: [B, 1, 1] valid tokens per sequence, mask: [B, 1, L] (1 = real token)."""
    if method == "softmax":
        return torch.softmax(a, dim=-1)
    if method == "squared_relu":
        return torch.relu(a) ** 2 / l
    if variant == "bert4keras-0.11.5":
        l = torch.clamp(l, min=16)
    scale = torch.log(l) / math.log(512)
    if variant != "gau-alpha-0.0.3":
        scale = torch.where(mask > 0, scale, torch.ones_like(scale))  # padded key columns keep scale 1
    return torch.softmax(a * scale, dim=-1)


class ScaleOffset(nn.Module):
    """x * weight (+ bias) on the last axis."""

    def __init__(self, hidden_size: int, offset: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size)) if offset else None

    def forward(self, x):
        x = x * self.weight
        return x + self.bias if self.bias is not None else x


class Norm(nn.Module):
    """RMS normalisation without weight or bias: x / sqrt(mean(x^2) + eps)."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x):
        variance = torch.mean(torch.square(x), dim=-1, keepdim=True)
        return x / torch.sqrt(variance + self.eps)


class GatedAttentionUnit(nn.Module):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.config = config
        self.activation = _ACT[config.hidden_act]()
        self.intermediate_size = config.intermediate_size
        self.attention_key_size = config.attention_key_size
        self.i_dense = nn.Linear(config.hidden_size, 2 * config.intermediate_size + config.attention_key_size,
                                 bias=config.use_bias)
        self.o_dense = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.use_bias)
        self.q_scaleoffset = ScaleOffset(config.attention_key_size, offset=config.use_bias)
        self.k_scaleoffset = ScaleOffset(config.attention_key_size, offset=config.use_bias)

    @staticmethod
    def apply_rotary(x, sinusoidal_pos):
        """RoPE on pairs (x[2i], x[2i+1]); the rotated halves are concatenated (the package's order)."""
        sin, cos = sinusoidal_pos
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def forward(self, hidden_states, attention_mask, sinusoidal_pos, output_attentions=False):
        x = self.i_dense(hidden_states)  # [B, L, 2*I + K]
        u, v, qk = torch.split(self.activation(x), [self.intermediate_size, self.intermediate_size,
                                                    self.attention_key_size], dim=-1)
        q, k = self.q_scaleoffset(qk), self.k_scaleoffset(qk)
        q, k = self.apply_rotary(q, sinusoidal_pos), self.apply_rotary(k, sinusoidal_pos)

        a = torch.einsum("bmd,bnd->bmn", q, k)
        if self.config.attention_scale:
            a = a / self.attention_key_size**0.5
        a = a.masked_fill(attention_mask == 0, -INF)
        l = attention_mask.sum(-1, keepdim=True)  # [B, 1, 1]
        A = attention_normalize(a, l, self.config.normalization, self.config.softmax_plus_variant, attention_mask)
        A = F.dropout(A, p=self.config.attention_probs_dropout_prob, training=self.training)

        o = self.o_dense(u * torch.einsum("bmn,bnd->bmd", A, v))
        return (o, A) if output_attentions else (o,)


class GAULayer(nn.Module):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.gau = GatedAttentionUnit(config)
        self.norm = Norm(eps=config.layer_norm_eps)
        self.hidden_dropout = config.hidden_dropout_prob

    def forward(self, hidden_states, attention_mask, sinusoidal_pos, output_attentions=False):
        gau_output = self.gau(hidden_states, attention_mask, sinusoidal_pos, output_attentions)
        o = F.dropout(gau_output[0], p=self.hidden_dropout, training=self.training)
        o = self.norm(hidden_states + o)
        return (o,) + gau_output[1:]


class GAUAlphaEmbeddings(nn.Module):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = Norm(eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, inputs_embeds=None):
        if inputs_embeds is None:
            words = self.word_embeddings(input_ids)
        else:
            words = inputs_embeds
        embeddings = words + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.norm(embeddings))


class GAUAlphaEncoder(nn.Module):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.config = config
        self.layer = nn.ModuleList([GAULayer(config) for _ in range(config.num_hidden_layers)])
        sin, cos = rope_tables(config.max_position_embeddings, config.attention_key_size)
        self.register_buffer("sin_pos", torch.from_numpy(sin), persistent=False)
        self.register_buffer("cos_pos", torch.from_numpy(cos), persistent=False)
        self.gradient_checkpointing = False  # transformers' switch (gradient_checkpointing_enable())

    def forward(self, hidden_states, attention_mask, output_attentions=False, output_hidden_states=False,
                return_dict=True):
        seq_len = hidden_states.shape[1]
        if seq_len > self.config.max_position_embeddings:
            raise ValueError(f"sequence length {seq_len} exceeds max_position_embeddings "
                             f"{self.config.max_position_embeddings}")
        sinusoidal_pos = self.sin_pos[:, :seq_len, :], self.cos_pos[:, :seq_len, :]
        all_hidden_states = () if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer_module in self.layer:
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            if self.gradient_checkpointing and self.training:
                layer_outputs = self._gradient_checkpointing_func(layer_module.__call__, hidden_states,
                                                                  attention_mask, sinusoidal_pos, output_attentions)
            else:
                layer_outputs = layer_module(hidden_states, attention_mask, sinusoidal_pos, output_attentions)
            hidden_states = layer_outputs[0]
            if output_attentions:
                all_attentions = all_attentions + (layer_outputs[1],)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in (hidden_states, all_hidden_states, all_attentions) if v is not None)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden_states,
                               attentions=all_attentions)


# transformers' loader and hub arguments that choose a source, a cache or a device map, not config values
_HUB_ARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "resume_download", "token",
             "use_auth_token", "subfolder", "code_revision", "_commit_hash", "_from_auto", "_from_pipeline",
             "trust_remote_code", "low_cpu_mem_usage", "device_map", "use_safetensors", "variant", "adapter_kwargs",
             "attn_implementation", "key_mapping", "weights_only")


class GAUAlphaPreTrainedModel(PreTrainedModel):
    base_model_prefix = "gau_alpha"
    config_class = GAUAlphaConfig
    supports_gradient_checkpointing = True
    _no_split_modules = ["GAULayer"]

    def _init_weights(self, module):
        """N(0, initializer_range) for Linear and Embedding weights, zero biases and pad row; ScaleOffset 1 / 0."""
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=self.config.initializer_range)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, ScaleOffset):
            nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def save_pretrained(self, save_directory, *args, push_to_hub: bool = False, **kwargs) -> Path:
        """transformers' files (config.json + model.safetensors, the tied decoder stored once) plus the kit's
        manifest, written atomically (nothing is left at save_directory if it fails). push_to_hub=True then uploads
        as transformers does (repo_id, commit_message, private, token)."""
        from reprokit.checkpoint import write_directory
        hub = {k: kwargs.pop(k) for k in ("repo_id", "commit_message", "private", "token", "create_pr")
               if k in kwargs}

        def write(tmp: Path):
            PreTrainedModel.save_pretrained(self, str(tmp), *args, **kwargs)

        out = write_directory(save_directory, write,
                              manifest_extra={"layout": "torch", "class": type(self).__name__})
        if push_to_hub:
            self.push_to_hub(hub.pop("repo_id", Path(save_directory).name), **hub)
        return out

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, allow_new_head: bool = False,
                        trust_pickle: bool = False, revision=None, ignore_mismatched_sizes: bool = False,
                        output_loading_info: bool = False, **kwargs):
        """Load a HF-style torch directory or a Paddle one, through the table (torch_ref/loading.py), in eval mode;
        a directory or a name (artifacts.names). The Auto classes and pipeline() call this with transformers'
        arguments: `config` (a GAUAlphaConfig) is used, torch_dtype / dtype cast the model, the hub arguments are
        left to the kit's name resolution, other keywords override config values. allow_new_head (HF's
        ignore_mismatched_sizes): head parameters absent or mis-shaped in the checkpoint (a new num_labels) keep
        their init."""
        from .loading import from_pretrained
        if model_args:
            raise TypeError(f"{cls.__name__}.from_pretrained takes the path and keyword arguments only")
        dtype = kwargs.pop("torch_dtype", None)
        dtype = kwargs.pop("dtype", None) or dtype
        for k in _HUB_ARGS:
            kwargs.pop(k, None)
        model = from_pretrained(pretrained_model_name_or_path, cls, config=config,
                                allow_new_head=allow_new_head or ignore_mismatched_sizes, trust_pickle=trust_pickle,
                                revision=revision, **kwargs)
        if dtype not in (None, "auto"):
            model = model.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype)
        if output_loading_info:
            return model, {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
        return model

    def _output_flags(self, output_attentions, output_hidden_states, return_dict):
        c = self.config
        return (c.output_attentions if output_attentions is None else output_attentions,
                c.output_hidden_states if output_hidden_states is None else output_hidden_states,
                c.return_dict if return_dict is None else return_dict)

    def _encode(self, input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states,
                return_dict, inputs_embeds=None):
        """A head's encoder call: the encoder's ModelOutput, and whether the head itself returns one."""
        outputs = self.gau_alpha(input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states,
                                 return_dict=True, inputs_embeds=inputs_embeds)
        return outputs, self._output_flags(None, None, return_dict)[2]


class GAUAlphaModel(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.embeddings = GAUAlphaEmbeddings(config)
        self.encoder = GAUAlphaEncoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value) -> None:
        self.embeddings.word_embeddings = value

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        output_attentions, output_hidden_states, return_dict = self._output_flags(
            output_attentions, output_hidden_states, return_dict)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids and inputs_embeds")
        ids = input_ids if input_ids is not None else inputs_embeds[:, :, 0]  # [B, L]: shapes and defaults
        if attention_mask is None:
            # default: every non-pad token is a key (from embeddings: every token)
            attention_mask = input_ids != self.config.pad_token_id if input_ids is not None else \
                torch.ones_like(ids, dtype=torch.float32)
        if attention_mask.shape != ids.shape:
            raise ValueError(f"attention_mask shape {list(attention_mask.shape)} differs from the input shape "
                             f"{list(ids.shape)}")
        attention_mask = attention_mask.unsqueeze(1).type_as(self.embeddings.word_embeddings.weight)  # [B, 1, L]
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(ids, dtype=torch.long)
        embedding_output = self.embeddings(input_ids, token_type_ids, inputs_embeds)
        return self.encoder(embedding_output, attention_mask, output_attentions, output_hidden_states, return_dict)


class GAUAlphaForMaskedLM(GAUAlphaPreTrainedModel):
    # the decoder IS the word embedding: transformers 5 names the pair {tied: source}, 4.x lists the tied names
    _TIED = {"cls.predictions.decoder.weight": "gau_alpha.embeddings.word_embeddings.weight"}
    _tied_weights_keys = _TIED if int(transformers_version.split(".")[0]) >= 5 else list(_TIED)

    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        self.cls.predictions.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()
        self.cls.predictions.decoder.weight = self.gau_alpha.embeddings.word_embeddings.weight  # tied

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def set_output_embeddings(self, value) -> None:
        self.cls.predictions.decoder = value

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        logits = self.cls.predictions.decoder(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.config.vocab_size), labels.reshape(-1))
        return _head_output(MaskedLMOutput, return_dict, outputs, loss, logits=logits)


class SequenceSummary(nn.Module):
    """transformers' SequenceSummary for the summary types GAU-alpha uses (first / last / mean)."""

    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.summary_type = config.summary_type
        if config.summary_use_proj:
            n = config.num_labels if config.summary_proj_to_labels and config.num_labels > 0 else config.hidden_size
            self.summary = nn.Linear(config.hidden_size, n)
        else:
            self.summary = nn.Identity()
        self.activation = _ACT[config.summary_activation]() if config.summary_activation else nn.Identity()
        self.first_dropout = nn.Dropout(config.summary_first_dropout)
        self.last_dropout = nn.Dropout(config.summary_last_dropout)

    def forward(self, hidden_states):
        if self.summary_type == "last":
            output = hidden_states[:, -1]
        elif self.summary_type == "first":
            output = hidden_states[:, 0]
        else:
            output = hidden_states.mean(dim=1)
        output = self.first_dropout(output)
        output = self.summary(output)
        output = self.activation(output)
        return self.last_dropout(output)


def _head_output(output_class, return_dict, outputs, loss, **tensors):
    """A head's result as transformers / PaddleNLP heads give it: `output_class` (None entries left out, so trainers
    gather only real values), or with return_dict=False the tuple (loss?, *tensors, hidden_states?, attentions?)."""
    extra = {"hidden_states": outputs.hidden_states, "attentions": outputs.attentions}
    if return_dict:
        return output_class(loss=loss, **tensors, **extra)
    out = tuple(tensors.values()) + tuple(v for v in extra.values() if v is not None)
    return ((loss,) + out) if loss is not None else out


class GAUAlphaForSequenceClassification(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.gau_alpha = GAUAlphaModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        logits = self.classifier(self.sequence_summary(outputs.last_hidden_state))
        loss = None
        if labels is not None:
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                loss = F.mse_loss(logits.squeeze(), labels.squeeze()) if self.num_labels == 1 else \
                    F.mse_loss(logits, labels)
            elif self.config.problem_type == "single_label_classification":
                loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels)
        return _head_output(SequenceClassifierOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForMultipleChoice(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        flat = [t.reshape(-1, t.shape[-1]) if t is not None else None for t in (input_ids, attention_mask,
                                                                                 token_type_ids)]
        embeds = inputs_embeds.reshape(-1, *inputs_embeds.shape[-2:]) if inputs_embeds is not None else None
        outputs, return_dict = self._encode(*flat, output_attentions, output_hidden_states, return_dict, embeds)
        logits = self.classifier(self.sequence_summary(outputs.last_hidden_state)).reshape(-1, num_choices)
        loss = F.cross_entropy(logits, labels) if labels is not None else None
        return _head_output(MultipleChoiceModelOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForTokenClassification(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.gau_alpha = GAUAlphaModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1)) if labels is not None \
            else None
        return _head_output(TokenClassifierOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForQuestionAnswering(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, start_positions=None,
                end_positions=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        start_logits, end_logits = self.qa_outputs(outputs.last_hidden_state).split(1, dim=-1)
        start_logits, end_logits = start_logits.squeeze(-1), end_logits.squeeze(-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored_index = start_logits.size(1)  # positions outside the input are clamped to it and ignored
            start_positions = start_positions.reshape(-1).clamp(0, ignored_index)
            end_positions = end_positions.reshape(-1).clamp(0, ignored_index)
            loss = (F.cross_entropy(start_logits, start_positions, ignore_index=ignored_index)
                    + F.cross_entropy(end_logits, end_positions, ignore_index=ignored_index)) / 2
        return _head_output(QuestionAnsweringModelOutput, return_dict, outputs, loss, start_logits=start_logits,
                            end_logits=end_logits)


def load_config(directory) -> GAUAlphaConfig:
    return GAUAlphaConfig.from_json_file(Path(directory) / "config.json")




ARCHITECTURES = ["GAUAlphaModel", "GAUAlphaForMaskedLM", "GAUAlphaForSequenceClassification",
                 "GAUAlphaForMultipleChoice", "GAUAlphaForTokenClassification", "GAUAlphaForQuestionAnswering"]
__all__ = ["GAUAlphaConfig", "SOFTMAX_PLUS_VARIANTS", "load_config", *ARCHITECTURES]
