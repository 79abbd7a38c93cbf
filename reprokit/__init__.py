"""The model-neutral core of the kit, numpy only (no torch, paddle, plotting or data libraries): what both backends
share: parameter tables, checkpoint I/O (safetensors, .pdparams, manifests), conversion, diff numerics, RoPE tables."""
from .errors import KitError

__version__ = "0.1.0"
__all__ = ["KitError", "__version__"]
