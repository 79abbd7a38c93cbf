"""The PyTorch reference for Funnel-Transformer is transformers' modeling_funnel.py itself. Its classes load any kit
checkpoint (either layout) with torch_ref.from_pretrained(path, "FunnelFor...")."""
from transformers import FunnelConfig
from transformers.models.funnel import modeling_funnel
from transformers.models.funnel.modeling_funnel import (  # noqa: F401
    FunnelBaseModel,
    FunnelForMaskedLM,
    FunnelForMultipleChoice,
    FunnelForPreTraining,
    FunnelForQuestionAnswering,
    FunnelForSequenceClassification,
    FunnelForTokenClassification,
    FunnelModel,
)

from reprokit.funnel_table import ARCHITECTURES

CLASSES = {name: getattr(modeling_funnel, name) for name in ARCHITECTURES}


__all__ = ["FunnelConfig", "CLASSES", *ARCHITECTURES]
