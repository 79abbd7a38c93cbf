from .configuration import GAUAlphaConfig
from .modeling import GAUAlphaForMaskedLM, GAUAlphaModel
