"""The PyTorch references: transformers' own Funnel classes (funnel.py) and a plain-torch GAU-alpha (gau_alpha.py),
mirrored by paddlenlp_ext file by file. Any kit checkpoint directory (either layout) loads into them:

    import torch_ref
    model = torch_ref.from_pretrained("out/qnli-paddle", "FunnelForSequenceClassification")
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


def from_pretrained(path, arch: str, **kwargs):
    """Class `arch` loaded from the checkpoint directory `path` (torch_ref.loading.from_pretrained)."""
    from .loading import from_pretrained as load
    return load(path, model_class(arch), **kwargs)
