from .configuration import GAUAlphaConfig
from .modeling import (
    ALL_CLASSES,
    GAUAlphaPreTrainedModel,
    GAUAlphaPretrainedModel,
    GAUAlphaForMaskedLM,
    GAUAlphaForMultipleChoice,
    GAUAlphaForQuestionAnswering,
    GAUAlphaForSequenceClassification,
    GAUAlphaForTokenClassification,
    GAUAlphaModel,
)
