from .configuration import FunnelConfig
from .modeling import (
    ALL_CLASSES,
    FunnelPreTrainedModel,
    FunnelPretrainedModel,
    FunnelBaseModel,
    FunnelForMaskedLM,
    FunnelForMultipleChoice,
    FunnelForPreTraining,
    FunnelForQuestionAnswering,
    FunnelForSequenceClassification,
    FunnelForTokenClassification,
    FunnelModel,
)
