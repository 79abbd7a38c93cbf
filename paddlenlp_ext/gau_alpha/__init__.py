from .configuration import GAUAlphaConfig
from .modeling import (
    ALL_CLASSES,
    GAUAlphaForMaskedLM,
    GAUAlphaForMultipleChoice,
    GAUAlphaForQuestionAnswering,
    GAUAlphaForSequenceClassification,
    GAUAlphaForTokenClassification,
    GAUAlphaModel,
)
