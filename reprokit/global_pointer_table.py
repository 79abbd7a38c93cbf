"""Parameter tables of the GlobalPointer heads (names relative to the head), torch layout."""
from __future__ import annotations

from typing import List

from .tables import Param, linear


def global_pointer_table(hidden_size: int, heads: int, head_size: int, efficient: bool, prefix: str = ""
                         ) -> List[Param]:
    if efficient:
        return linear(f"{prefix}p_dense", hidden_size, 2 * head_size, head=True) + \
            linear(f"{prefix}q_dense", 2 * head_size, 2 * heads, head=True)
    return linear(f"{prefix}dense", hidden_size, heads * head_size * 2, head=True)
