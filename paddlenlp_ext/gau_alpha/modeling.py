"""GAU-α in Paddle, mirroring torch_ref/gau_alpha.py class by class: a diff between the two shows API changes only
(plus torch's Embedding(padding_idx) gradient rule, written out, and input checks).

Unlike PaddleNLP 2.8.1's GAULayer, which indexes `gau_output[0]` on a tensor (batch item 0 for the whole batch),
the layer output here is per batch item.
"""
from __future__ import annotations

import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddlenlp.transformers.model_outputs import (BaseModelOutput, MaskedLMOutput, MultipleChoiceModelOutput,
                                                  QuestionAnsweringModelOutput, SequenceClassifierOutput,
                                                  TokenClassifierOutput)

from reprokit.gau_alpha_table import ARCHITECTURES
from reprokit.rope import rope_tables

from ..layers import Linear
from ..modeling_utils import ACT2FN, TablePretrainedModel, cross_entropy, recompute_layer
from .configuration import GAUAlphaConfig

INF = 1e4


def attention_normalize(a, l, method, variant, mask):
    """a: [B, L, L] scores, l: [B, 1, 1] valid tokens per sequence, mask: [B, 1, L] (1 = real token)."""
    if method == "softmax":
        return F.softmax(a, axis=-1)
    if method == "squared_relu":
        return F.relu(a) ** 2 / l
    if variant == "bert4keras-0.11.5":
        l = paddle.clip(l, min=16)
    scale = paddle.log(l) / math.log(512)
    if variant != "gau-alpha-0.0.3":
        scale = paddle.where(mask > 0, scale, paddle.ones_like(scale))  # padded key columns keep scale 1
    return F.softmax(a * scale, axis=-1)


class ScaleOffset(nn.Layer):
    """x * weight (+ bias) on the last axis."""

    def __init__(self, hidden_size: int, offset: bool) -> None:
        super().__init__()
        self.weight = self.create_parameter([hidden_size], default_initializer=nn.initializer.Constant(1.0))
        self.bias = self.create_parameter([hidden_size], is_bias=True) if offset else None

    def forward(self, x):
        x = x * self.weight
        return x + self.bias if self.bias is not None else x


class Norm(nn.Layer):
    """RMS normalisation without weight or bias: x / sqrt(mean(x^2) + eps)."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x):
        variance = paddle.mean(paddle.square(x), axis=-1, keepdim=True)
        return x / paddle.sqrt(variance + self.eps)


class GatedAttentionUnit(nn.Layer):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.config = config
        self.activation = ACT2FN(config.hidden_act)
        self.intermediate_size = config.intermediate_size
        self.attention_key_size = config.attention_key_size
        self.i_dense = Linear(config.hidden_size, 2 * config.intermediate_size + config.attention_key_size,
                              bias_attr=None if config.use_bias else False)
        self.o_dense = Linear(config.intermediate_size, config.hidden_size,
                              bias_attr=None if config.use_bias else False)
        self.q_scaleoffset = ScaleOffset(config.attention_key_size, offset=config.use_bias)
        self.k_scaleoffset = ScaleOffset(config.attention_key_size, offset=config.use_bias)

    @staticmethod
    def apply_rotary(x, sinusoidal_pos):
        """RoPE on pairs (x[2i], x[2i+1]); the rotated halves are concatenated (the torch package's order)."""
        sin, cos = sinusoidal_pos
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return paddle.concat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)

    def forward(self, hidden_states, attention_mask, sinusoidal_pos, output_attentions=False):
        x = self.i_dense(hidden_states)  # [B, L, 2*I + K]
        u, v, qk = paddle.split(self.activation(x), [self.intermediate_size, self.intermediate_size,
                                                     self.attention_key_size], axis=-1)
        q, k = self.q_scaleoffset(qk), self.k_scaleoffset(qk)
        q, k = self.apply_rotary(q, sinusoidal_pos), self.apply_rotary(k, sinusoidal_pos)

        a = paddle.matmul(q, k, transpose_y=True)  # "bmd,bnd->bmn"
        if self.config.attention_scale:
            a = a / self.attention_key_size**0.5
        a = paddle.where(attention_mask == 0, paddle.full_like(a, -INF), a)  # masked_fill
        l = attention_mask.sum(-1, keepdim=True)  # [B, 1, 1]
        A = attention_normalize(a, l, self.config.normalization, self.config.softmax_plus_variant, attention_mask)
        A = F.dropout(A, p=self.config.attention_probs_dropout_prob, training=self.training)

        o = self.o_dense(u * paddle.matmul(A, v))  # "bmn,bnd->bmd"
        return (o, A) if output_attentions else (o,)


class GAULayer(nn.Layer):
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


class GAUAlphaEmbeddings(nn.Layer):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.pad_token_id = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = Norm(eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, inputs_embeds=None):
        if inputs_embeds is None:
            words = self.word_embeddings(input_ids)
            if self.pad_token_id is not None:
                # torch's Embedding(padding_idx) returns the pad row but sends it no gradient (paddle's: zeros)
                words = paddle.where((input_ids == self.pad_token_id).unsqueeze(-1), words.detach(), words)
        else:
            words = inputs_embeds
        embeddings = words + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.norm(embeddings))


class GAUAlphaEncoder(nn.Layer):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.config = config
        self.layer = nn.LayerList([GAULayer(config) for _ in range(config.num_hidden_layers)])
        sin, cos = rope_tables(config.max_position_embeddings, config.attention_key_size)
        self.register_buffer("sin_pos", paddle.to_tensor(sin), persistable=False)
        self.register_buffer("cos_pos", paddle.to_tensor(cos), persistable=False)
        self.enable_recompute = False  # PaddleNLP's switch (Trainer --recompute, model.recompute_enable())

    def forward(self, hidden_states, attention_mask, output_attentions=False, output_hidden_states=False,
                return_dict=True):
        seq_len = hidden_states.shape[1]
        if seq_len > self.config.max_position_embeddings:
            raise ValueError(f"sequence length {seq_len} exceeds max_position_embeddings "
                             f"{self.config.max_position_embeddings}")
        dtype = hidden_states.dtype
        sinusoidal_pos = (self.sin_pos[:, :seq_len, :].astype(dtype), self.cos_pos[:, :seq_len, :].astype(dtype))
        all_hidden_states = () if output_hidden_states else None
        all_attentions = () if output_attentions else None
        for layer_module in self.layer:
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden_states,)
            layer_outputs = recompute_layer(self, layer_module, hidden_states, attention_mask, sinusoidal_pos,
                                            output_attentions)
            hidden_states = layer_outputs[0]
            if output_attentions:
                all_attentions = all_attentions + (layer_outputs[1],)
        if output_hidden_states:
            all_hidden_states = all_hidden_states + (hidden_states,)
        if not return_dict:
            return tuple(v for v in (hidden_states, all_hidden_states, all_attentions) if v is not None)
        return BaseModelOutput(last_hidden_state=hidden_states, hidden_states=all_hidden_states,
                               attentions=all_attentions)


class GAUAlphaPreTrainedModel(TablePretrainedModel):
    config_class = GAUAlphaConfig
    base_model_prefix = "gau_alpha"
    model_type = "gau_alpha"
    def _init_weights(self, layer):
        """N(0, initializer_range) for Linear and Embedding weights, zero biases (the pad row: GAUAlphaModel)."""
        if isinstance(layer, (nn.Linear, nn.Embedding)):
            std = self.config.initializer_range
            layer.weight.set_value(paddle.normal(0.0, std, layer.weight.shape).astype(layer.weight.dtype))
            if isinstance(layer, nn.Linear) and layer.bias is not None:
                layer.bias.set_value(paddle.zeros_like(layer.bias))


    def _encode(self, input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states,
                return_dict, inputs_embeds=None):
        """A head's encoder call: the encoder's ModelOutput, and whether the head itself returns one."""
        outputs = self.gau_alpha(input_ids, attention_mask, token_type_ids, output_attentions, output_hidden_states,
                                 return_dict=True, inputs_embeds=inputs_embeds)
        return outputs, self._output_flags(None, None, return_dict)[2]

    def post_init_heads(self):
        """Initialise the head's layers; the body was initialised (pad row included) by GAUAlphaModel."""
        for name, layer in self.named_sublayers():
            if not name.startswith(self.base_model_prefix):
                self._init_weights(layer)


class GAUAlphaModel(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.embeddings = GAUAlphaEmbeddings(config)
        self.encoder = GAUAlphaEncoder(config)
        self.post_init()
        if config.pad_token_id is not None:
            w = self.embeddings.word_embeddings.weight
            w_np = w.numpy()
            w_np[config.pad_token_id] = 0
            w.set_value(w_np)

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
                paddle.ones_like(ids, dtype="float32")
        if list(attention_mask.shape) != list(ids.shape):
            raise ValueError(f"attention_mask shape {list(attention_mask.shape)} differs from the input shape "
                             f"{list(ids.shape)}")
        if ids.shape[0] == 0 or ids.shape[1] == 0:
            raise ValueError(f"empty batch: input shape {list(ids.shape)}")
        attention_mask = attention_mask.unsqueeze(1).astype(self.embeddings.word_embeddings.weight.dtype)
        if token_type_ids is None:
            token_type_ids = paddle.zeros_like(ids, dtype="int64")
        else:
            lo, hi = int(token_type_ids.min()), int(token_type_ids.max())
            if lo < 0 or hi >= self.config.type_vocab_size:
                raise ValueError(f"token_type_ids value {lo if lo < 0 else hi} is outside "
                                 f"0..{self.config.type_vocab_size - 1}")
        embedding_output = self.embeddings(input_ids, token_type_ids, inputs_embeds)
        return self.encoder(embedding_output, attention_mask, output_attentions, output_hidden_states, return_dict)


class GAUAlphaTiedDecoder(nn.Layer):
    """The MLM decoder: Linear(hidden, vocab, bias=False) whose weight IS the word embedding [vocab, hidden]."""

    def __init__(self, embedding: nn.Embedding) -> None:
        super().__init__()
        self.weight = embedding.weight

    def forward(self, hidden):
        return paddle.matmul(hidden, self.weight, transpose_y=True)


class GAUAlphaForMaskedLM(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.cls = nn.Layer()
        self.cls.predictions = nn.Layer()
        self.cls.predictions.decoder = GAUAlphaTiedDecoder(self.gau_alpha.embeddings.word_embeddings)

    def get_output_embeddings(self):
        return self.cls.predictions.decoder

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        logits = self.cls.predictions.decoder(outputs.last_hidden_state)
        loss = None
        if labels is not None:
            loss = cross_entropy(logits.reshape([-1, self.config.vocab_size]), labels.reshape([-1]))
        return _head_output(MaskedLMOutput, return_dict, outputs, loss, logits=logits)


class SequenceSummary(nn.Layer):
    """transformers' SequenceSummary for the summary types GAU-alpha uses (first / last / mean)."""

    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__()
        self.summary_type = config.summary_type
        if config.summary_use_proj:
            n = config.num_labels if config.summary_proj_to_labels and config.num_labels > 0 else config.hidden_size
            self.summary = Linear(config.hidden_size, n)
        else:
            self.summary = nn.Identity()
        self.activation = ACT2FN(config.summary_activation) if config.summary_activation else nn.Identity()
        self.first_dropout = nn.Dropout(config.summary_first_dropout)
        self.last_dropout = nn.Dropout(config.summary_last_dropout)

    def forward(self, hidden_states):
        if self.summary_type == "last":
            output = hidden_states[:, -1]
        elif self.summary_type == "first":
            output = hidden_states[:, 0]
        else:
            output = hidden_states.mean(axis=1)
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
        self.classifier = Linear(config.hidden_size, config.num_labels)
        self.post_init_heads()

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
                elif labels.dtype in (paddle.int64, paddle.int32):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"
            if self.config.problem_type == "regression":
                loss = F.mse_loss(logits.squeeze(), labels.squeeze()) if self.num_labels == 1 else \
                    F.mse_loss(logits, labels)
            elif self.config.problem_type == "single_label_classification":
                loss = cross_entropy(logits.reshape([-1, self.num_labels]), labels.reshape([-1]))
            else:
                loss = F.binary_cross_entropy_with_logits(logits, labels)
        return _head_output(SequenceClassifierOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForMultipleChoice(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.sequence_summary = SequenceSummary(config)
        self.classifier = Linear(config.hidden_size, 1)
        self.post_init_heads()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        num_choices = (input_ids if input_ids is not None else inputs_embeds).shape[1]
        flat = [t.reshape([-1, t.shape[-1]]) if t is not None else None for t in (input_ids, attention_mask,
                                                                                   token_type_ids)]
        embeds = inputs_embeds.reshape([-1] + inputs_embeds.shape[-2:]) if inputs_embeds is not None else None
        outputs, return_dict = self._encode(*flat, output_attentions, output_hidden_states, return_dict, embeds)
        logits = self.classifier(self.sequence_summary(outputs.last_hidden_state)).reshape([-1, num_choices])
        loss = cross_entropy(logits, labels) if labels is not None else None
        return _head_output(MultipleChoiceModelOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForTokenClassification(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.gau_alpha = GAUAlphaModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = Linear(config.hidden_size, config.num_labels)
        self.post_init_heads()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        logits = self.classifier(self.dropout(outputs.last_hidden_state))
        loss = cross_entropy(logits.reshape([-1, self.num_labels]), labels.reshape([-1])) if labels is not None \
            else None
        return _head_output(TokenClassifierOutput, return_dict, outputs, loss, logits=logits)


class GAUAlphaForQuestionAnswering(GAUAlphaPreTrainedModel):
    def __init__(self, config: GAUAlphaConfig) -> None:
        super().__init__(config)
        self.gau_alpha = GAUAlphaModel(config)
        self.qa_outputs = Linear(config.hidden_size, 2)
        self.post_init_heads()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, start_positions=None,
                end_positions=None, output_attentions=None, output_hidden_states=None, return_dict=None,
                inputs_embeds=None):
        outputs, return_dict = self._encode(input_ids, attention_mask, token_type_ids, output_attentions,
                                            output_hidden_states, return_dict, inputs_embeds)
        start_logits, end_logits = paddle.split(self.qa_outputs(outputs.last_hidden_state), 2, axis=-1)
        start_logits, end_logits = start_logits.squeeze(-1), end_logits.squeeze(-1)
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored_index = start_logits.shape[1]  # positions outside the input are clamped to it and ignored
            start_positions = start_positions.reshape([-1]).clip(0, ignored_index)
            end_positions = end_positions.reshape([-1]).clip(0, ignored_index)
            loss = (cross_entropy(start_logits, start_positions, ignore_index=ignored_index)
                    + cross_entropy(end_logits, end_positions, ignore_index=ignored_index)) / 2
        return _head_output(QuestionAnsweringModelOutput, return_dict, outputs, loss, start_logits=start_logits,
                            end_logits=end_logits)


GAUAlphaPretrainedModel = GAUAlphaPreTrainedModel  # PaddleNLP's spelling of the base class

ALL_CLASSES = [GAUAlphaModel, GAUAlphaForMaskedLM, GAUAlphaForSequenceClassification, GAUAlphaForMultipleChoice,
               GAUAlphaForTokenClassification, GAUAlphaForQuestionAnswering]
assert [c.__name__ for c in ALL_CLASSES] == list(ARCHITECTURES)
