"""The parameter table is the single source of truth: it must list exactly the parameters both frameworks create."""
import pytest

import paddlenlp_ext.funnel as P
import torch_ref.funnel as T
from parity import funnel as H
from reprokit.funnel_table import ARCHITECTURES, funnel_table

CONFIGS = {
    "tiny": H.TINY,
    "one-block-no-decoder": dict(H.TINY, block_sizes=[3], block_repeats=[1], num_decoder_layers=0),
    "factorized": dict(H.TINY, attention_type="factorized", pooling_type="max"),
}


@pytest.mark.parametrize("cfg_name", sorted(CONFIGS))
@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_table_matches_both_frameworks(arch, cfg_name):
    kw = H.config_kwargs(CONFIGS[cfg_name], arch)
    table = funnel_table(T.FunnelConfig(**kw), arch)
    torch_state = T.CLASSES[arch](T.FunnelConfig(**kw)).state_dict()
    assert [p.name for p in table] == list(torch_state), "table order/names differ from torch's state dict"
    assert {p.name: p.shape for p in table} == {k: tuple(v.shape) for k, v in torch_state.items()}
    paddle_state = getattr(P, arch)(P.FunnelConfig(**kw)).state_dict()
    assert {p.name: p.paddle_shape for p in table} == {k: tuple(v.shape) for k, v in paddle_state.items()}


def test_transposes_are_exactly_the_linear_weights():
    table = funnel_table(T.FunnelConfig(**H.TINY), "FunnelForQuestionAnswering")
    layers = sum(H.TINY["block_sizes"]) + H.TINY["num_decoder_layers"]
    transposed = [p.name for p in table if p.transpose]
    # q, k, v, post_proj, linear_1, linear_2 per layer, plus qa_outputs
    assert len(transposed) == 6 * layers + 1
    assert all(p.endswith(".weight") and "layer_norm" not in p and "embeddings" not in p for p in transposed)
    square = [p for p in table if p.transpose and p.shape[0] == p.shape[1]]
    assert square, "the tiny config must contain square Linear weights (they are where shape guessing fails)"
    never = [p for p in table if any(k in p.name for k in ("r_w_bias", "r_r_bias", "r_s_bias", "r_kernel",
                                                             "seg_embed", "layer_norm", "word_embeddings"))]
    assert never and not any(p.transpose for p in never)


def test_mlm_head_is_tied_not_transposed():
    table = {p.name: p for p in funnel_table(T.FunnelConfig(**H.TINY), "FunnelForMaskedLM")}
    head = table["lm_head.weight"]
    assert head.tied_to == "funnel.embeddings.word_embeddings.weight" and not head.transpose
    model = P.FunnelForMaskedLM(P.FunnelConfig(**H.TINY))
    state = model.state_dict()
    assert state["lm_head.weight"] is state["funnel.embeddings.word_embeddings.weight"]
    assert len(model.parameters()) == len(table) - 1  # the tied weight counts once for the optimizer
