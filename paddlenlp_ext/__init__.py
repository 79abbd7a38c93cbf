"""Paddle ports of the kit's models. Importing this package registers them with PaddleNLP's Auto classes."""
from .auto import register_auto
from .funnel import *  # noqa: F401,F403

register_auto()
