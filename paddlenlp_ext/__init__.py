"""Paddle ports of the kit's models. Importing this package registers them with PaddleNLP's Auto classes.
Import it before paddle to get the CPU settings of _cpu.py (MKL on AMD, OpenMP threads, no strided views)."""
from . import _cpu  # noqa: F401  (must run before paddle is imported)
from .auto import register_auto
from .funnel import *  # noqa: F401,F403
from .gau_alpha import *  # noqa: F401,F403

register_auto()
