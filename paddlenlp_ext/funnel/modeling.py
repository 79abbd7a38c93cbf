"""Funnel-Transformer in Paddle, mirroring transformers' modeling_funnel.py class by class, in the order data flows.

Differences from the torch file are API differences (Linear weights [in, out], paddle ops) plus:
- position indices (relative_pos, stride_pool_pos) are computed in numpy: they depend only on the sequence length;
- attention scores use matmul where HF uses einsum (same contraction, faster on paddle's CPU kernels);
- the [B, Lq, Lk] token-type matrix is kept factored (`TokenTypeMat`), so the token-type score is one small matmul
  instead of HF's expand + where + multiply over [B, N, Lq, Lk] (same values, see TokenTypeMat);
- input validation that HF leaves to index errors (token types outside {0, 1, 2}, mask shapes, empty batches).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddlenlp.transformers.model_outputs import (
    BaseModelOutput,
    MaskedLMOutput,
    ModelOutput,
    MultipleChoiceModelOutput,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
    TokenClassifierOutput,
)

from reprokit.funnel_table import ARCHITECTURES

from ..layers import Linear
from ..modeling_utils import ACT2FN, TablePretrainedModel, check_inputs, cross_entropy, recompute_layer
from .configuration import FunnelConfig

INF = 1e6


class FunnelEmbeddings(nn.Layer):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.pad_token_id = config.pad_token_id
        self.word_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.layer_norm = nn.LayerNorm(config.d_model, epsilon=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(self, input_ids=None, inputs_embeds=None):
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
            if self.pad_token_id is not None:
                # torch's Embedding(padding_idx) returns the pad row as it is but never sends it a gradient;
                # paddle's would return zeros instead, so the pad row is detached here.
                is_pad = (input_ids == self.pad_token_id).unsqueeze(-1)
                inputs_embeds = paddle.where(is_pad, inputs_embeds.detach(), inputs_embeds)
        embeddings = self.layer_norm(inputs_embeds)
        embeddings = self.dropout(embeddings)
        return embeddings


# token_type_mat[i, j] = (t_i == t_j) or t_i == 2 or t_j == 2 is SAME_TYPE[t_i, t_j] for types t in {0, 1, 2}
SAME_TYPE = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=np.float32)


@dataclass
class TokenTypeMat:
    """HF's token_type_mat [B, Lq, Lk] (bool) and the cls_mask applied to it, kept as three [B, L, 3] factors.

    HF's token-type score is where(mat, same, diff) * cls_mask over [B, N, Lq, Lk]. With `key` the one-hot of the key
    token types, and `same_sel` / `diff_sel` saying for each query which key types count as the same / a different
    segment, the score is matmul(same * same_sel + diff * diff_sel, key^T): a sum of three products of which at most
    one is non-zero, so the values are HF's exactly. The cls row (query 0) and column (key 0) are zero rows of the
    factors when config.separate_cls, which stride pooling keeps at position 0 as it keeps cls_mask's.
    """

    same_sel: paddle.Tensor  # [B, Lq, 3]
    diff_sel: paddle.Tensor  # [B, Lq, 3]
    key: paddle.Tensor  # [B, Lk, 3]


class FunnelAttentionStructure(nn.Layer):
    """Contains helpers for `FunnelRelMultiheadAttention`."""

    cls_token_type_id: int = 2

    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.config = config
        self.sin_dropout = nn.Dropout(config.hidden_dropout)
        self.cos_dropout = nn.Dropout(config.hidden_dropout)
        self.pooling_mult = None

    def init_attention_inputs(self, inputs_embeds, attention_mask=None, token_type_ids=None):
        """Returns the attention inputs associated to the inputs of the model."""
        self.pooling_mult = 1
        self.seq_len = seq_len = inputs_embeds.shape[1]
        position_embeds = self.get_position_embeds(seq_len, inputs_embeds.dtype)
        token_type_mat = (
            self.token_type_ids_to_mat(token_type_ids, inputs_embeds.dtype) if token_type_ids is not None else None
        )
        if self.config.separate_cls:
            # ones everywhere but the CLS row and column: F.pad(ones([L-1, L-1]), (1, 0, 1, 0)) in HF
            not_cls = paddle.concat([paddle.zeros([1], inputs_embeds.dtype), paddle.ones([seq_len - 1], inputs_embeds.dtype)])
            cls_mask = not_cls[:, None] * not_cls[None, :]
        else:
            cls_mask = None
        return (position_embeds, token_type_mat, attention_mask, cls_mask)

    def token_type_ids_to_mat(self, token_type_ids, dtype="float32"):
        """Convert `token_type_ids` to `token_type_mat` [B, L, L] (HF's bool matrix times cls_mask), factored."""
        assert self.cls_token_type_id == 2  # SAME_TYPE's last row and column
        same_sel = F.embedding(token_type_ids, paddle.to_tensor(SAME_TYPE, dtype=dtype))  # row t_i of SAME_TYPE
        diff_sel = 1 - same_sel
        key = F.one_hot(token_type_ids, 3).astype(dtype)
        if self.config.separate_cls:
            seq_len = token_type_ids.shape[1]
            not_cls = paddle.concat([paddle.zeros([1], dtype), paddle.ones([seq_len - 1], dtype)])[None, :, None]
            same_sel, diff_sel, key = same_sel * not_cls, diff_sel * not_cls, key * not_cls
        return TokenTypeMat(same_sel, diff_sel, key)

    def get_position_embeds(self, seq_len: int, dtype):
        """Relative-shift: for each block [R no pooling, R pooling]; factorized: (phi, pi, psi, omega)."""
        d_model = self.config.d_model
        freq_seq = paddle.arange(0, d_model // 2, dtype="int64").astype(dtype)
        inv_freq = 1 / (10000 ** (freq_seq / (d_model // 2)))
        if self.config.attention_type == "factorized":
            pos_seq = paddle.arange(0, seq_len, dtype="int64").astype(dtype)
            sinusoid = pos_seq[:, None] * inv_freq[None]  # [L, D/2]
            sin_embed = paddle.sin(sinusoid)
            sin_embed_d = self.sin_dropout(sin_embed)
            cos_embed = paddle.cos(sinusoid)
            cos_embed_d = self.cos_dropout(cos_embed)
            phi = paddle.concat([sin_embed_d, sin_embed_d], axis=-1)
            psi = paddle.concat([cos_embed, sin_embed], axis=-1)
            pi = paddle.concat([cos_embed_d, cos_embed_d], axis=-1)
            omega = paddle.concat([-sin_embed, cos_embed], axis=-1)
            return (phi, pi, psi, omega)
        rel_pos_id = paddle.arange(-seq_len * 2, seq_len * 2, dtype="int64").astype(dtype)
        zero_offset = seq_len * 2
        sinusoid = rel_pos_id[:, None] * inv_freq[None]  # [4L, D/2]
        sin_embed = self.sin_dropout(paddle.sin(sinusoid))
        cos_embed = self.cos_dropout(paddle.cos(sinusoid))
        pos_embed = paddle.concat([sin_embed, cos_embed], axis=-1)  # [4L, D]

        pos = np.arange(0, seq_len, dtype=np.int64)
        n_table = 4 * seq_len
        pooled_pos = pos
        position_embeds_list = []
        for block_index in range(0, self.config.num_blocks):
            if block_index == 0:
                position_embeds_pooling = None
            else:
                pooled_pos = self.stride_pool_pos(pos, block_index)
                stride = 2 ** (block_index - 1)
                rel_pos = self._checked(self.relative_pos(pos, stride, pooled_pos, shift=2) + zero_offset, n_table)
                position_embeds_pooling = paddle.index_select(pos_embed, paddle.to_tensor(rel_pos), axis=0)
            pos = pooled_pos
            stride = 2**block_index
            rel_pos = self._checked(self.relative_pos(pos, stride) + zero_offset, n_table)
            position_embeds_no_pooling = paddle.index_select(pos_embed, paddle.to_tensor(rel_pos), axis=0)
            position_embeds_list.append([position_embeds_no_pooling, position_embeds_pooling])
        return position_embeds_list

    def _checked(self, rel_pos: np.ndarray, n_table: int) -> np.ndarray:
        """HF's torch.gather fails with an index error here; paddle's index_select would read out of bounds."""
        if rel_pos.min() < 0 or rel_pos.max() >= n_table:
            raise ValueError(f"sequence length {self.seq_len} is too short for {self.config.num_blocks} blocks "
                             f"with relative_shift attention (relative positions fall outside the table)")
        return rel_pos

    def stride_pool_pos(self, pos_id: np.ndarray, block_index: int) -> np.ndarray:
        """Pool `pos_id` while keeping the cls token separate (if `config.separate_cls=True`)."""
        if self.config.separate_cls:
            cls_pos = np.array([-(2**block_index) + 1], dtype=pos_id.dtype)
            pooled_pos_id = pos_id[1:-1] if self.config.truncate_seq else pos_id[1:]
            return np.concatenate([cls_pos, pooled_pos_id[::2]], 0)
        return pos_id[::2]

    def relative_pos(self, pos: np.ndarray, stride: int, pooled_pos=None, shift: int = 1) -> np.ndarray:
        """Build the relative positional vector between `pos` and `pooled_pos`."""
        if pooled_pos is None:
            pooled_pos = pos
        ref_point = pooled_pos[0] - pos[0]
        num_remove = shift * len(pooled_pos)
        max_dist = ref_point + num_remove * stride
        min_dist = pooled_pos[0] - pos[-1]
        return np.arange(max_dist, min_dist - 1, -stride, dtype=np.int64)

    def stride_pool(self, tensor, axis):
        """Perform pooling by stride slicing the tensor along the given axis."""
        if tensor is None:
            return None
        if isinstance(axis, (list, tuple)):
            for ax in axis:
                tensor = self.stride_pool(tensor, ax)
            return tensor
        if isinstance(tensor, TokenTypeMat):  # axis 1 of the matrix is the queries', axis 2 the keys'
            if axis % 3 == 1:
                return TokenTypeMat(self.stride_pool(tensor.same_sel, 1), self.stride_pool(tensor.diff_sel, 1),
                                    tensor.key)
            return TokenTypeMat(tensor.same_sel, tensor.diff_sel, self.stride_pool(tensor.key, 1))
        if isinstance(tensor, (tuple, list)):
            return type(tensor)(self.stride_pool(x, axis) for x in tensor)
        axis %= tensor.ndim
        axis_slice = (
            slice(None, -1, 2) if self.config.separate_cls and self.config.truncate_seq else slice(None, None, 2)
        )
        enc_slice = tuple([slice(None)] * axis + [axis_slice])
        if self.config.separate_cls:
            cls_slice = tuple([slice(None)] * axis + [slice(None, 1)])
            tensor = paddle.concat([tensor[cls_slice], tensor], axis=axis)
        return tensor[enc_slice]

    def pool_tensor(self, tensor, mode: str = "mean", stride: int = 2):
        """Apply 1D pooling to a tensor of size [B x T (x H)]."""
        if tensor is None:
            return None
        if isinstance(tensor, (tuple, list)):
            return type(tensor)(self.pool_tensor(x, mode=mode, stride=stride) for x in tensor)
        if self.config.separate_cls:
            suffix = tensor[:, :-1] if self.config.truncate_seq else tensor
            tensor = paddle.concat([tensor[:, :1], suffix], axis=1)
        ndim = tensor.ndim
        if ndim == 2:
            tensor = tensor[:, None, :, None]
        elif ndim == 3:
            tensor = tensor[:, None, :, :]
        kernel = (stride, 1)
        # ceil_mode: an odd last row is pooled alone (divided by 1), as in torch with padding 0.
        if mode == "mean":
            tensor = F.avg_pool2d(tensor, kernel, stride=kernel, ceil_mode=True, exclusive=True)
        elif mode == "max":
            tensor = F.max_pool2d(tensor, kernel, stride=kernel, ceil_mode=True)
        elif mode == "min":
            tensor = -F.max_pool2d(-tensor, kernel, stride=kernel, ceil_mode=True)
        else:
            raise NotImplementedError("The supported modes are 'mean', 'max' and 'min'.")
        if ndim == 2:
            return tensor[:, 0, :, 0]
        elif ndim == 3:
            return tensor[:, 0]
        return tensor

    def pre_attention_pooling(self, output, attention_inputs):
        """Pool `output` and the proper parts of `attention_inputs` before the attention layer."""
        position_embeds, token_type_mat, attention_mask, cls_mask = attention_inputs
        if self.config.pool_q_only:
            if self.config.attention_type == "factorized":
                position_embeds = self.stride_pool(position_embeds[:2], 0) + position_embeds[2:]
            token_type_mat = self.stride_pool(token_type_mat, 1)
            cls_mask = self.stride_pool(cls_mask, 0)
            output = self.pool_tensor(output, mode=self.config.pooling_type)
        else:
            self.pooling_mult *= 2
            if self.config.attention_type == "factorized":
                position_embeds = self.stride_pool(position_embeds, 0)
            token_type_mat = self.stride_pool(token_type_mat, [1, 2])
            cls_mask = self.stride_pool(cls_mask, [1, 2])
            attention_mask = self.pool_tensor(attention_mask, mode="min")
            output = self.pool_tensor(output, mode=self.config.pooling_type)
        attention_inputs = (position_embeds, token_type_mat, attention_mask, cls_mask)
        return output, attention_inputs

    def post_attention_pooling(self, attention_inputs):
        """Pool the proper parts of `attention_inputs` after the attention layer."""
        position_embeds, token_type_mat, attention_mask, cls_mask = attention_inputs
        if self.config.pool_q_only:
            self.pooling_mult *= 2
            if self.config.attention_type == "factorized":
                position_embeds = position_embeds[:2] + self.stride_pool(position_embeds[2:], 0)
            token_type_mat = self.stride_pool(token_type_mat, 2)
            cls_mask = self.stride_pool(cls_mask, 1)
            attention_mask = self.pool_tensor(attention_mask, mode="min")
        attention_inputs = (position_embeds, token_type_mat, attention_mask, cls_mask)
        return attention_inputs


def _relative_shift_gather(positional_attn, context_len: int, shift: int):
    # works per [seq_len, max_rel_len] slice, so the two leading dims may be [B, N] (HF) or [N, B] (our matmul order)
    batch_size, n_head, seq_len, max_rel_len = positional_attn.shape
    # max_rel_len = 2 * context_len + shift -1 is the numbers of possible relative positions i-j
    # The slices [:, :, shift:, :] and [..., :context_len] of HF are written as splits: same values, and paddle's
    # split backward is ~100x cheaper than its slice backward on these [B, N, L, 4L] tensors.
    positional_attn = paddle.reshape(positional_attn, [batch_size, n_head, max_rel_len, seq_len])
    positional_attn = paddle.split(positional_attn, [shift, max_rel_len - shift], axis=2)[1]
    positional_attn = paddle.reshape(positional_attn, [batch_size, n_head, seq_len, max_rel_len - shift])
    positional_attn = paddle.split(positional_attn, [context_len, max_rel_len - shift - context_len], axis=3)[0]
    return positional_attn


def _full(mask, shape):
    """`mask` expanded to `shape`: the same values, but paddle's same-shape elementwise kernels (and their backward)
    run 2-3x faster on CPU than its broadcasting ones."""
    return mask.expand(shape)


class FunnelRelMultiheadAttention(nn.Layer):
    def __init__(self, config: FunnelConfig, block_index: int) -> None:
        super().__init__()
        self.config = config
        self.block_index = block_index
        d_model, n_head, d_head = config.d_model, config.n_head, config.d_head

        self.hidden_dropout = nn.Dropout(config.hidden_dropout)
        self.attention_dropout = nn.Dropout(config.attention_dropout)

        self.q_head = Linear(d_model, n_head * d_head, bias_attr=False)
        self.k_head = Linear(d_model, n_head * d_head)
        self.v_head = Linear(d_model, n_head * d_head)

        zeros = nn.initializer.Constant(0.0)
        self.r_w_bias = self.create_parameter([n_head, d_head], default_initializer=zeros)
        self.r_r_bias = self.create_parameter([n_head, d_head], default_initializer=zeros)
        self.r_kernel = self.create_parameter([d_model, n_head, d_head], default_initializer=zeros)
        self.r_s_bias = self.create_parameter([n_head, d_head], default_initializer=zeros)
        self.seg_embed = self.create_parameter([2, n_head, d_head], default_initializer=zeros)

        self.post_proj = Linear(n_head * d_head, d_model)
        self.layer_norm = nn.LayerNorm(d_model, epsilon=config.layer_norm_eps)
        self.scale = 1.0 / (d_head**0.5)

    def relative_positional_attention(self, position_embeds, q_head, context_len, cls_mask=None):
        """Relative attention score for the positional encodings. q_head: [B, Lq, N, H] -> [B, N, Lq, Lk]"""
        if self.config.attention_type == "factorized":
            phi, pi, psi, omega = position_embeds
            u = self.r_r_bias * self.scale
            w_r = self.r_kernel
            q_r_attention = paddle.einsum("binh,dnh->bind", q_head + u, w_r)  # [B, Lq, N, D]
            q_r_attention_1 = q_r_attention * phi[:, None]
            q_r_attention_2 = q_r_attention * pi[:, None]
            positional_attn = paddle.einsum("bind,jd->bnij", q_r_attention_1, psi) + paddle.einsum(
                "bind,jd->bnij", q_r_attention_2, omega
            )
        else:
            shift = 2 if q_head.shape[1] != context_len else 1
            r = position_embeds[self.block_index][shift - 1]  # [R, D]
            v = self.r_r_bias * self.scale
            w_r = self.r_kernel
            n_head, d_head = self.config.n_head, self.config.d_head
            r_head = paddle.matmul(r, w_r.reshape([self.config.d_model, n_head * d_head]))  # "td,dnh->tnh"
            r_head = r_head.reshape([-1, n_head, d_head]).transpose([1, 2, 0])  # [N, H, R]
            # "binh,tnh->bnit" as one matmul per head over all B*L queries (no broadcast over the batch)
            batch_size, seq_len = q_head.shape[0], q_head.shape[1]
            qv = (q_head + v).transpose([2, 0, 1, 3]).reshape([n_head, batch_size * seq_len, d_head])
            positional_attn = paddle.matmul(qv, r_head).reshape([n_head, batch_size, seq_len, -1])  # [N, B, L, R]
            # shift in [N, B] order and transpose the 4x smaller result: one copy of [B, N, L, R] fewer
            positional_attn = _relative_shift_gather(positional_attn, context_len, shift)
            positional_attn = positional_attn.transpose([1, 0, 2, 3])  # [B, N, L, C]
        if cls_mask is not None:
            positional_attn = positional_attn * _full(cls_mask, positional_attn.shape)
        return positional_attn

    def relative_token_type_attention(self, token_type_mat, q_head, cls_mask=None):
        """Relative attention score for the token_type_ids (cls_mask is already in the factors of token_type_mat)"""
        if token_type_mat is None:
            return 0
        r_s_bias = self.r_s_bias * self.scale
        # [B, N, Lq, 2] = "bind,snd->bnis"
        seg = self.seg_embed.transpose([1, 2, 0])[None]  # [1, N, H, 2]
        token_type_bias = paddle.matmul((q_head + r_s_bias).transpose([0, 2, 1, 3]), seg)
        diff_token_type, same_token_type = paddle.split(token_type_bias, 2, axis=-1)
        # where(token_type_mat, same, diff) * cls_mask, see TokenTypeMat
        by_key_type = (same_token_type * token_type_mat.same_sel[:, None]
                       + diff_token_type * token_type_mat.diff_sel[:, None])  # [B, N, Lq, 3]
        return paddle.matmul(by_key_type, token_type_mat.key[:, None], transpose_y=True)

    def forward(self, query, key, value, attention_inputs, output_attentions: bool = False):
        # query has shape batch_size x seq_len x d_model; key and value have shapes batch_size x context_len x d_model
        position_embeds, token_type_mat, attention_mask, cls_mask = attention_inputs

        batch_size, seq_len, _ = query.shape
        context_len = key.shape[1]
        n_head, d_head = self.config.n_head, self.config.d_head

        q_head = self.q_head(query).reshape([batch_size, seq_len, n_head, d_head])
        k_head = self.k_head(key).reshape([batch_size, context_len, n_head, d_head])
        v_head = self.v_head(value).reshape([batch_size, context_len, n_head, d_head])

        q_head = q_head * self.scale
        r_w_bias = self.r_w_bias * self.scale
        # "bind,bjnd->bnij"
        content_score = paddle.matmul((q_head + r_w_bias).transpose([0, 2, 1, 3]), k_head.transpose([0, 2, 3, 1]))
        positional_attn = self.relative_positional_attention(position_embeds, q_head, context_len, cls_mask)
        token_type_attn = self.relative_token_type_attention(token_type_mat, q_head, cls_mask)

        attn_score = content_score + positional_attn + token_type_attn

        # precision safe in case of mixed precision training; HF casts to float32 even in float64 models, so do we
        dtype = attn_score.dtype
        if dtype != paddle.float32:
            attn_score = attn_score.astype("float32")
        if attention_mask is not None:
            attn_score = attn_score - _full(INF * (1 - attention_mask[:, None, None].astype("float32")),
                                            attn_score.shape)
        attn_prob = F.softmax(attn_score, axis=-1, dtype=dtype)  # casts to dtype before the softmax, as torch
        attn_prob = self.attention_dropout(attn_prob)

        # "bnij,bjnd->bind"
        attn_vec = paddle.matmul(attn_prob, v_head.transpose([0, 2, 1, 3])).transpose([0, 2, 1, 3])
        attn_out = self.post_proj(attn_vec.reshape([batch_size, seq_len, n_head * d_head]))
        attn_out = self.hidden_dropout(attn_out)

        output = self.layer_norm(query + attn_out)
        return (output, attn_prob) if output_attentions else (output,)


class FunnelPositionwiseFFN(nn.Layer):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.linear_1 = Linear(config.d_model, config.d_inner)
        self.activation_function = ACT2FN(config.hidden_act)
        self.activation_dropout = nn.Dropout(config.activation_dropout)
        self.linear_2 = Linear(config.d_inner, config.d_model)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.layer_norm = nn.LayerNorm(config.d_model, epsilon=config.layer_norm_eps)

    def forward(self, hidden):
        h = self.linear_1(hidden)
        h = self.activation_function(h)
        h = self.activation_dropout(h)
        h = self.linear_2(h)
        h = self.dropout(h)
        return self.layer_norm(hidden + h)


class FunnelLayer(nn.Layer):
    def __init__(self, config: FunnelConfig, block_index: int) -> None:
        super().__init__()
        self.attention = FunnelRelMultiheadAttention(config, block_index)
        self.ffn = FunnelPositionwiseFFN(config)

    def forward(self, query, key, value, attention_inputs, output_attentions: bool = False):
        attn = self.attention(query, key, value, attention_inputs, output_attentions=output_attentions)
        output = self.ffn(attn[0])
        return (output, attn[1]) if output_attentions else (output,)


class FunnelEncoder(nn.Layer):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.config = config
        self.attention_structure = FunnelAttentionStructure(config)
        self.blocks = nn.LayerList(
            [
                nn.LayerList([FunnelLayer(config, block_index) for _ in range(block_size)])
                for block_index, block_size in enumerate(config.block_sizes)
            ]
        )
        self.enable_recompute = False  # PaddleNLP's switch (Trainer --recompute, model.recompute_enable())

    def forward(self, inputs_embeds, attention_mask=None, token_type_ids=None, output_attentions=False,
                output_hidden_states=False, return_dict=True):
        # The pooling is not implemented on long tensors, so we convert this mask.
        attention_mask = attention_mask.astype(inputs_embeds.dtype)
        attention_inputs = self.attention_structure.init_attention_inputs(
            inputs_embeds,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
        )
        hidden = inputs_embeds

        all_hidden_states = (inputs_embeds,) if output_hidden_states else None
        all_attentions = () if output_attentions else None

        for block_index, block in enumerate(self.blocks):
            pooling_flag = hidden.shape[1] > (2 if self.config.separate_cls else 1)
            pooling_flag = pooling_flag and block_index > 0
            if pooling_flag:
                pooled_hidden, attention_inputs = self.attention_structure.pre_attention_pooling(
                    hidden, attention_inputs
                )
            for layer_index, layer in enumerate(block):
                for repeat_index in range(self.config.block_repeats[block_index]):
                    do_pooling = (repeat_index == 0) and (layer_index == 0) and pooling_flag
                    if do_pooling:
                        query = pooled_hidden
                        key = value = hidden if self.config.pool_q_only else pooled_hidden
                    else:
                        query = key = value = hidden
                    layer_output = recompute_layer(self, layer, query, key, value, attention_inputs,
                                                   output_attentions)
                    hidden = layer_output[0]
                    if do_pooling:
                        attention_inputs = self.attention_structure.post_attention_pooling(attention_inputs)

                    if output_attentions:
                        all_attentions = all_attentions + layer_output[1:]
                    if output_hidden_states:
                        all_hidden_states = all_hidden_states + (hidden,)

        if not return_dict:
            return tuple(v for v in [hidden, all_hidden_states, all_attentions] if v is not None)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=all_hidden_states, attentions=all_attentions)


def upsample(x, stride: int, target_len: int, separate_cls: bool = True, truncate_seq: bool = False):
    """Upsample tensor `x` to match `target_len` by repeating the tokens `stride` time on the sequence length dimension."""
    if stride == 1:
        return x
    if separate_cls:
        cls = x[:, :1]
        x = x[:, 1:]
    output = paddle.repeat_interleave(x, repeats=stride, axis=1)
    if separate_cls:
        if truncate_seq:
            pad = paddle.zeros([output.shape[0], stride - 1, output.shape[2]], dtype=output.dtype)
            output = paddle.concat([output, pad], axis=1)
        output = output[:, : target_len - 1]
        output = paddle.concat([cls, output], axis=1)
    else:
        output = output[:, :target_len]
    return output


class FunnelDecoder(nn.Layer):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.config = config
        self.attention_structure = FunnelAttentionStructure(config)
        self.layers = nn.LayerList([FunnelLayer(config, 0) for _ in range(config.num_decoder_layers)])
        self.enable_recompute = False

    def forward(self, final_hidden, first_block_hidden, attention_mask=None, token_type_ids=None,
                output_attentions=False, output_hidden_states=False, return_dict=True):
        upsampled_hidden = upsample(
            final_hidden,
            stride=2 ** (len(self.config.block_sizes) - 1),
            target_len=first_block_hidden.shape[1],
            separate_cls=self.config.separate_cls,
            truncate_seq=self.config.truncate_seq,
        )

        hidden = upsampled_hidden + first_block_hidden
        all_hidden_states = (hidden,) if output_hidden_states else None
        all_attentions = () if output_attentions else None

        attention_inputs = self.attention_structure.init_attention_inputs(
            hidden,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
        )

        for layer in self.layers:
            layer_output = recompute_layer(self, layer, hidden, hidden, hidden, attention_inputs, output_attentions)
            hidden = layer_output[0]

            if output_attentions:
                all_attentions = all_attentions + layer_output[1:]
            if output_hidden_states:
                all_hidden_states = all_hidden_states + (hidden,)

        if not return_dict:
            return tuple(v for v in [hidden, all_hidden_states, all_attentions] if v is not None)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=all_hidden_states, attentions=all_attentions)


class FunnelDiscriminatorPredictions(nn.Layer):
    """Prediction module for the discriminator, made up of two dense layers."""

    def __init__(self, config: FunnelConfig) -> None:
        super().__init__()
        self.config = config
        self.dense = Linear(config.d_model, config.d_model)
        self.dense_prediction = Linear(config.d_model, 1)

    def forward(self, discriminator_hidden_states):
        hidden_states = self.dense(discriminator_hidden_states)
        hidden_states = ACT2FN(self.config.hidden_act)(hidden_states)  # as HF: made at call time, not a sub-layer
        logits = self.dense_prediction(hidden_states).squeeze(-1)
        return logits


class FunnelPreTrainedModel(TablePretrainedModel):
    config_class = FunnelConfig
    base_model_prefix = "funnel"
    model_type = "funnel"
    def _init_weights(self, layer):
        """HF's init: Linear N(0, sqrt(1/(fan_in+fan_out))) or initializer_std; relative biases U(0, range)."""
        cfg = self.config
        if isinstance(layer, nn.Linear):
            fan_in, fan_out = layer.weight.shape
            std = np.sqrt(1.0 / float(fan_in + fan_out)) if cfg.initializer_std is None else cfg.initializer_std
            layer.weight.set_value(paddle.normal(0.0, std, layer.weight.shape).astype(layer.weight.dtype))
            if layer.bias is not None:
                layer.bias.set_value(paddle.zeros_like(layer.bias))
        elif isinstance(layer, FunnelRelMultiheadAttention):
            for p in (layer.r_w_bias, layer.r_r_bias, layer.r_kernel, layer.r_s_bias, layer.seg_embed):
                p.set_value(paddle.uniform(p.shape, min=0.0, max=cfg.initializer_range).astype(p.dtype))
        elif isinstance(layer, FunnelEmbeddings):
            std = 1.0 if cfg.initializer_std is None else cfg.initializer_std
            w = paddle.normal(0.0, std, layer.word_embeddings.weight.shape)
            if cfg.pad_token_id is not None:
                w[cfg.pad_token_id] = 0.0
            layer.word_embeddings.weight.set_value(w.astype(layer.word_embeddings.weight.dtype))


class FunnelClassificationHead(nn.Layer):
    def __init__(self, config: FunnelConfig, n_labels: int) -> None:
        super().__init__()
        self.linear_hidden = Linear(config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.linear_out = Linear(config.d_model, n_labels)

    def forward(self, hidden):
        hidden = self.linear_hidden(hidden)
        hidden = paddle.tanh(hidden)
        hidden = self.dropout(hidden)
        return self.linear_out(hidden)


@dataclass
class FunnelForPreTrainingOutput(ModelOutput):
    loss: Optional[paddle.Tensor] = None
    logits: paddle.Tensor = None
    hidden_states: Optional[Tuple[paddle.Tensor]] = None
    attentions: Optional[Tuple[paddle.Tensor]] = None


class FunnelBaseModel(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.embeddings = FunnelEmbeddings(config)
        self.encoder = FunnelEncoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, new_embeddings) -> None:
        self.embeddings.word_embeddings = new_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
                inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None):
        # position_ids and head_mask are accepted (and ignored) for compatibility, as in HF
        output_attentions, output_hidden_states, return_dict = self._output_flags(
            output_attentions, output_hidden_states, return_dict)
        attention_mask, token_type_ids = check_inputs(input_ids, inputs_embeds, attention_mask, token_type_ids,
                                                      max_token_type=2)
        inputs_embeds = self.embeddings(input_ids, inputs_embeds=inputs_embeds)
        return self.encoder(
            inputs_embeds,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )


class FunnelModel(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.config = config
        self.embeddings = FunnelEmbeddings(config)
        self.encoder = FunnelEncoder(config)
        self.decoder = FunnelDecoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, new_embeddings) -> None:
        self.embeddings.word_embeddings = new_embeddings

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        output_attentions, output_hidden_states, return_dict = self._output_flags(
            output_attentions, output_hidden_states, return_dict)
        attention_mask, token_type_ids = check_inputs(input_ids, inputs_embeds, attention_mask, token_type_ids,
                                                      max_token_type=2)
        inputs_embeds = self.embeddings(input_ids, inputs_embeds=inputs_embeds)

        encoder_outputs = self.encoder(
            inputs_embeds,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            output_hidden_states=True,
            return_dict=return_dict,
        )

        decoder_outputs = self.decoder(
            final_hidden=encoder_outputs[0],
            first_block_hidden=encoder_outputs[1][self.config.block_sizes[0]],
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        if not return_dict:
            idx = 0
            outputs = (decoder_outputs[0],)
            if output_hidden_states:
                idx += 1
                outputs = outputs + (encoder_outputs[1] + decoder_outputs[idx],)
            if output_attentions:
                idx += 1
                outputs = outputs + (encoder_outputs[2] + decoder_outputs[idx],)
            return outputs

        return BaseModelOutput(
            last_hidden_state=decoder_outputs[0],
            hidden_states=(encoder_outputs.hidden_states + decoder_outputs.hidden_states)
            if output_hidden_states
            else None,
            attentions=(encoder_outputs.attentions + decoder_outputs.attentions) if output_attentions else None,
        )


class FunnelForPreTraining(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.funnel = FunnelModel(config)
        self.discriminator_predictions = FunnelDiscriminatorPredictions(config)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        discriminator_hidden_states = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )
        discriminator_sequence_output = discriminator_hidden_states[0]
        logits = self.discriminator_predictions(discriminator_sequence_output)

        loss = None
        if labels is not None:
            # HF passes labels.float(), which makes torch compute this loss in float32 even in a float64 model
            seq_len = discriminator_sequence_output.shape[1]
            if attention_mask is not None:
                active_loss = attention_mask.reshape([-1, seq_len]) == 1
                active_logits = logits.reshape([-1, seq_len])[active_loss]
                active_labels = labels[active_loss]
                loss = F.binary_cross_entropy_with_logits(active_logits.astype("float32"),
                                                          active_labels.astype("float32"))
            else:
                loss = F.binary_cross_entropy_with_logits(logits.reshape([-1, seq_len]).astype("float32"),
                                                          labels.astype("float32"))

        if not return_dict:
            output = (logits,) + tuple(discriminator_hidden_states[1:])
            return ((loss,) + output) if loss is not None else output

        return FunnelForPreTrainingOutput(
            loss=loss,
            logits=logits,
            hidden_states=discriminator_hidden_states.hidden_states,
            attentions=discriminator_hidden_states.attentions,
        )


class FunnelTiedLMHead(nn.Layer):
    """HF's lm_head: nn.Linear(d_model, vocab) whose weight IS the word embedding [vocab, d_model] (torch layout)."""

    def __init__(self, embedding: nn.Embedding, vocab_size: int) -> None:
        super().__init__()
        self.weight = embedding.weight  # shared parameter, not transposed
        self.bias = self.create_parameter([vocab_size], is_bias=True)

    def forward(self, hidden):
        return paddle.matmul(hidden, self.weight, transpose_y=True) + self.bias


class FunnelForMaskedLM(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.funnel = FunnelModel(config)
        self.lm_head = FunnelTiedLMHead(self.funnel.embeddings.word_embeddings, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self):
        return self.lm_head

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        outputs = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        last_hidden_state = outputs[0]
        prediction_logits = self.lm_head(last_hidden_state)

        masked_lm_loss = None
        if labels is not None:
            masked_lm_loss = cross_entropy(prediction_logits.reshape([-1, self.config.vocab_size]), labels.reshape([-1]))

        if not return_dict:
            output = (prediction_logits,) + tuple(outputs[1:])
            return ((masked_lm_loss,) + output) if masked_lm_loss is not None else output

        return MaskedLMOutput(
            loss=masked_lm_loss,
            logits=prediction_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class FunnelForSequenceClassification(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.config = config
        self.funnel = FunnelBaseModel(config)
        self.classifier = FunnelClassificationHead(config, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        outputs = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        last_hidden_state = outputs[0]
        pooled_output = last_hidden_state[:, 0]
        logits = self.classifier(pooled_output)

        loss = None
        if labels is not None:
            if self.config.problem_type is None:
                if self.num_labels == 1:
                    self.config.problem_type = "regression"
                elif self.num_labels > 1 and labels.dtype in (paddle.int64, paddle.int32):
                    self.config.problem_type = "single_label_classification"
                else:
                    self.config.problem_type = "multi_label_classification"

            if self.config.problem_type == "regression":
                if self.num_labels == 1:
                    loss = F.mse_loss(logits.squeeze(), labels.squeeze().astype(logits.dtype))
                else:
                    loss = F.mse_loss(logits, labels.astype(logits.dtype))
            elif self.config.problem_type == "single_label_classification":
                loss = cross_entropy(logits.reshape([-1, self.num_labels]), labels.reshape([-1]))
            elif self.config.problem_type == "multi_label_classification":
                loss = F.binary_cross_entropy_with_logits(logits, labels.astype(logits.dtype))

        if not return_dict:
            output = (logits,) + tuple(outputs[1:])
            return ((loss,) + output) if loss is not None else output

        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class FunnelForMultipleChoice(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.funnel = FunnelBaseModel(config)
        self.classifier = FunnelClassificationHead(config, 1)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        num_choices = input_ids.shape[1] if input_ids is not None else inputs_embeds.shape[1]

        input_ids = input_ids.reshape([-1, input_ids.shape[-1]]) if input_ids is not None else None
        attention_mask = attention_mask.reshape([-1, attention_mask.shape[-1]]) if attention_mask is not None else None
        token_type_ids = token_type_ids.reshape([-1, token_type_ids.shape[-1]]) if token_type_ids is not None else None
        inputs_embeds = (
            inputs_embeds.reshape([-1, inputs_embeds.shape[-2], inputs_embeds.shape[-1]])
            if inputs_embeds is not None
            else None
        )

        outputs = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        last_hidden_state = outputs[0]
        pooled_output = last_hidden_state[:, 0]
        logits = self.classifier(pooled_output)
        reshaped_logits = logits.reshape([-1, num_choices])

        loss = None
        if labels is not None:
            loss = cross_entropy(reshaped_logits, labels)

        if not return_dict:
            output = (reshaped_logits,) + tuple(outputs[1:])
            return ((loss,) + output) if loss is not None else output

        return MultipleChoiceModelOutput(
            loss=loss,
            logits=reshaped_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class FunnelForTokenClassification(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels

        self.funnel = FunnelModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout)
        self.classifier = Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None, labels=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        outputs = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        last_hidden_state = outputs[0]
        last_hidden_state = self.dropout(last_hidden_state)
        logits = self.classifier(last_hidden_state)

        loss = None
        if labels is not None:
            loss = cross_entropy(logits.reshape([-1, self.num_labels]), labels.reshape([-1]))

        if not return_dict:
            output = (logits,) + tuple(outputs[1:])
            return ((loss,) + output) if loss is not None else output

        return TokenClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


class FunnelForQuestionAnswering(FunnelPreTrainedModel):
    def __init__(self, config: FunnelConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels

        self.funnel = FunnelModel(config)
        self.qa_outputs = Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, inputs_embeds=None,
                start_positions=None, end_positions=None, output_attentions=None, output_hidden_states=None,
                return_dict=None):
        return_dict = self._output_flags(None, None, return_dict)[2]
        outputs = self.funnel(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=return_dict,
        )

        last_hidden_state = outputs[0]

        logits = self.qa_outputs(last_hidden_state)
        start_logits, end_logits = paddle.split(logits, 2, axis=-1)
        start_logits = start_logits.squeeze(-1)
        end_logits = end_logits.squeeze(-1)

        total_loss = None
        if start_positions is not None and end_positions is not None:
            if start_positions.ndim > 1:
                start_positions = start_positions.squeeze(-1)
            if end_positions.ndim > 1:
                end_positions = end_positions.squeeze(-1)
            # sometimes the start/end positions are outside our model inputs, we ignore these terms
            ignored_index = start_logits.shape[1]
            start_positions = start_positions.clip(0, ignored_index)
            end_positions = end_positions.clip(0, ignored_index)

            start_loss = cross_entropy(start_logits, start_positions, ignore_index=ignored_index)
            end_loss = cross_entropy(end_logits, end_positions, ignore_index=ignored_index)
            total_loss = (start_loss + end_loss) / 2

        if not return_dict:
            output = (start_logits, end_logits) + tuple(outputs[1:])
            return ((total_loss,) + output) if total_loss is not None else output

        return QuestionAnsweringModelOutput(
            loss=total_loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )


FunnelPretrainedModel = FunnelPreTrainedModel  # PaddleNLP's spelling of the base class

ALL_CLASSES: List[type] = [FunnelModel, FunnelBaseModel, FunnelForPreTraining, FunnelForMaskedLM,
                           FunnelForSequenceClassification, FunnelForMultipleChoice, FunnelForTokenClassification,
                           FunnelForQuestionAnswering]
assert [c.__name__ for c in ALL_CLASSES] == list(ARCHITECTURES)
