"""Bad configs and bad inputs get a clear error naming the value, never a silent wrong answer."""
import numpy as np
import paddle
import pytest

import paddlenlp_ext.funnel as P
from parity import funnel as H


@pytest.mark.parametrize("key,value", [("attention_type", "relative"), ("pooling_type", "min")])
def test_unknown_types(key, value):
    with pytest.raises(ValueError, match=f"{key} '{value}' is not supported"):
        P.FunnelConfig(**{**H.TINY, key: value})


def test_block_repeats_length():
    with pytest.raises(ValueError, match="differ in length"):
        P.FunnelConfig(**{**H.TINY, "block_repeats": [1, 1]})


def test_unknown_activation():
    with pytest.raises(ValueError, match="hidden_act 'gelu_fast2' is not supported"):
        P.FunnelModel(P.FunnelConfig(**{**H.TINY, "hidden_act": "gelu_fast2"}))


@pytest.fixture(scope="module")
def model():
    m = P.FunnelModel(P.FunnelConfig(**H.TINY))
    m.eval()
    return m


IDS = np.full((3, 9), 7, dtype="int64")


def t(a):
    return paddle.to_tensor(a)


def test_mask_shape(model):
    with pytest.raises(ValueError, match=r"attention_mask shape \[3, 8\] differs from the input shape \[3, 9\]"):
        model(t(IDS), attention_mask=t(np.ones((3, 8), "int64")))


def test_token_type_shape(model):
    with pytest.raises(ValueError, match=r"token_type_ids shape \[9\] differs"):
        model(t(IDS), token_type_ids=t(np.zeros(9, "int64")))


@pytest.mark.parametrize("bad", [3, -1])
def test_token_type_values(model, bad):
    tt = np.zeros((3, 9), "int64")
    tt[1, 4] = bad
    with pytest.raises(ValueError, match=f"token_type_ids value {bad} is outside 0..2"):
        model(t(IDS), token_type_ids=t(tt))


@pytest.mark.parametrize("shape", [(0, 9), (3, 0)])
def test_empty_batch(model, shape):
    with pytest.raises(ValueError, match="empty batch"):
        model(t(np.zeros(shape, "int64")))


def test_ids_and_embeds(model):
    with pytest.raises(ValueError, match="both input_ids and inputs_embeds"):
        model(t(IDS), inputs_embeds=t(np.zeros((3, 9, 32), "float32")))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model()
