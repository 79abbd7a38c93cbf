"""The PyTorch references: transformers' own Funnel classes (funnel.py) and GAU-alpha as a transformers model
(gau_alpha.py), mirrored by paddlenlp_ext file by file. Any kit checkpoint directory (either layout) loads into them:

    import torch_ref
    model = torch_ref.from_pretrained("out/qnli-paddle", "FunnelForSequenceClassification")

Importing this package registers GAU-alpha with transformers' AutoConfig, AutoModel* and AutoTokenizer (BERT's
WordPiece tokenizer over the checkpoint's vocab.txt), so AutoModelForMaskedLM.from_pretrained(DIR) and
pipeline("fill-mask", model=DIR) work on a kit GAU-alpha directory of either layout.
"""
import importlib

from reprokit import KitError

MODULES = {"funnel": "torch_ref.funnel", "gau_alpha": "torch_ref.gau_alpha"}


def model_class(arch: str):
    """The torch class named `arch` (FunnelFor..., GAUAlphaFor...)."""
    for module in MODULES.values():
        m = importlib.import_module(module)
        if arch in m.ARCHITECTURES:
            return getattr(m, arch)
    raise KitError(f"{arch!r} is not a class of the kit's models")


def register_auto() -> None:
    """GAU-alpha in transformers' Auto classes (exist_ok: importing twice, or a second registration, is harmless)."""
    from transformers import (AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForMultipleChoice,
                              AutoModelForQuestionAnswering, AutoModelForSequenceClassification,
                              AutoModelForTokenClassification, AutoTokenizer, BertTokenizer, BertTokenizerFast)

    from . import gau_alpha as G
    AutoConfig.register(G.GAUAlphaConfig.model_type, G.GAUAlphaConfig, exist_ok=True)
    for auto, cls in ((AutoModel, G.GAUAlphaModel), (AutoModelForMaskedLM, G.GAUAlphaForMaskedLM),
                      (AutoModelForSequenceClassification, G.GAUAlphaForSequenceClassification),
                      (AutoModelForMultipleChoice, G.GAUAlphaForMultipleChoice),
                      (AutoModelForTokenClassification, G.GAUAlphaForTokenClassification),
                      (AutoModelForQuestionAnswering, G.GAUAlphaForQuestionAnswering)):
        auto.register(G.GAUAlphaConfig, cls, exist_ok=True)
    AutoTokenizer.register(G.GAUAlphaConfig, slow_tokenizer_class=BertTokenizer,
                           fast_tokenizer_class=BertTokenizerFast, exist_ok=True)


def from_pretrained(path, arch: str, **kwargs):
    """Class `arch` loaded from the checkpoint directory `path` (torch_ref.loading.from_pretrained)."""
    from .loading import from_pretrained as load
    return load(path, model_class(arch), **kwargs)


register_auto()
