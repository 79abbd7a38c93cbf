"""One table-driven loader for the kit's models, whatever the framework: which checkpoint tensor goes into which
parameter of a class, in which layout. torch_ref/loading.py and paddlenlp_ext/modeling_utils.py only build the model
and copy the arrays this module hands them.

A checkpoint directory is either layout (HF/torch or Paddle) and any class of the model family: the body of a model
with a head loads into a bare encoder (the head is reported unused), a bare encoder into a class with a head (the head
is new: allowed only with allow_new_head), a head of another size is re-initialised with allow_new_head (HF's
ignore_mismatched_sizes). Everything else that does not fit - a key no class of the family has, a missing or
mis-shaped body tensor - is one KitError naming the file and the keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from . import funnel_table, gau_alpha_table
from .checkpoint import read_config
from .errors import KitError
from .tables import Param, as_dict, convert_array, describe_key_problems, with_aliases_resolved

# model_type -> (table builder, class names, base-model prefix)
FAMILIES = {
    "funnel": (funnel_table.funnel_table, funnel_table.ARCHITECTURES, funnel_table.BASE_PREFIX),
    "gau_alpha": (gau_alpha_table.gau_alpha_table, gau_alpha_table.ARCHITECTURES, gau_alpha_table.BASE_PREFIX),
}
# model_type -> the stem of its class names, alike in transformers, torch_ref and paddlenlp_ext (FunnelForX, ...)
STEMS = {"funnel": "Funnel", "gau_alpha": "GAUAlpha"}


def class_name(model_type: str, suffix: str) -> str:
    """"funnel", "ForQuestionAnswering" -> "FunnelForQuestionAnswering" (checked against the family's classes)."""
    family(model_type)
    name = STEMS[model_type] + suffix
    if name not in FAMILIES[model_type][1]:
        raise KitError(f"model_type {model_type!r} has no {name} class")
    return name


def family(model_type: str):
    if model_type not in FAMILIES:
        raise KitError(f"model_type {model_type!r} is not one of the kit's models ({', '.join(FAMILIES)})")
    return FAMILIES[model_type]


def table_of(model_type: str, config, arch: str) -> List[Param]:
    build, archs, _ = family(model_type)
    if arch not in archs:
        raise KitError(f"{arch!r} is not a {model_type} class ({', '.join(archs)})")
    return build(config, arch)


def _prefixed(names, prefix: str) -> bool:
    return any(n.startswith(prefix) for n in names)


def universe(model_type: str, config, prefixed: bool) -> set:
    """Every parameter name any class of the family can have, bodies named with or without the base prefix. The bare
    encoders' tables hold only body parameters; the others prefix their body and not their head."""
    build, archs, base = family(model_type)
    prefix = base + "."
    names = set()
    for arch in archs:
        table = [p.name for p in build(config, arch)]
        if _prefixed(table, prefix) and not prefixed:
            table = [n[len(prefix):] if n.startswith(prefix) else n for n in table]
        elif not _prefixed(table, prefix) and prefixed:
            table = [prefix + n for n in table]
        names.update(table)
    return names


@dataclass
class LoadPlan:
    arrays: Dict[str, np.ndarray]                           # parameter name -> array in the target layout
    table: Dict[str, Param]                                 # the class's table (tied entries included)
    new_head: List[str] = field(default_factory=list)       # head parameters that keep their fresh initialisation
    unused: List[str] = field(default_factory=list)         # the checkpoint's tensors of another class (a decoder...)


def plan_load(model_type: str, config, arch: str, state: Mapping[str, np.ndarray], layout: str, target: str,
              origin: str = "checkpoint", allow_new_head: bool = False) -> LoadPlan:
    """Check `state` (in `layout`) against class `arch`'s table and return its arrays in `target` layout."""
    table = as_dict(table_of(model_type, config, arch))
    state = with_aliases_resolved(table.values(), state, origin)
    prefix = family(model_type)[2] + "."
    mine, theirs = _prefixed(table, prefix), _prefixed(state, prefix)
    if theirs and not mine:        # the encoder of a model with a head, into a bare encoder
        state = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}
    elif mine and not theirs:      # a bare encoder into a class with a head
        state = {prefix + k: v for k, v in state.items()}
    known = universe(model_type, config, prefixed=mine)

    unexpected = sorted(k for k in state if k not in known)
    unused = sorted(k for k in state if k in known and k not in table)
    missing = [k for k, p in table.items() if k not in state and not (p.tied_to and p.tied_to in state)]
    mismatched = [k for k, p in table.items() if k in state and tuple(state[k].shape) != p.shape_in(layout)]
    fatal_missing = [k for k in missing if not (allow_new_head and table[k].head)]
    fatal_mismatched = [f"{k} {tuple(state[k].shape)} vs {table[k].shape_in(layout)}" for k in mismatched
                        if not (allow_new_head and table[k].head)]
    if unexpected or fatal_missing or fatal_mismatched:
        hint = "" if allow_new_head or not any(table[k].head for k in missing + mismatched) else \
            " (pass allow_new_head=True to start a new head)"
        raise KitError(describe_key_problems(origin, fatal_missing, unexpected, fatal_mismatched) + hint)
    new_head = sorted(set(missing) | set(mismatched))
    arrays = {name: convert_array(p, state[name], layout, target, origin) for name, p in table.items()
              if not p.tied_to and name not in new_head}
    return LoadPlan(arrays, table, new_head, unused)


def config_dict(path, model_type: str, overrides: Optional[dict] = None) -> dict:
    """config.json of a checkpoint directory with `overrides` applied; an explicit num_labels wins over the
    checkpoint's label map (PaddleNLP would do the reverse)."""
    cfg = read_config(Path(path), model_type=model_type)
    overrides = dict(overrides or {})
    if "num_labels" in overrides and len(cfg.get("id2label") or {}) != overrides["num_labels"]:
        cfg.pop("id2label", None)
        cfg.pop("label2id", None)
    cfg.update(overrides)
    return cfg


# ---- an encoder with a GlobalPointer head (CLUENER) -------------------------------------------------------------------
ENCODER_ARCH = {"funnel": "FunnelModel", "gau_alpha": "GAUAlphaModel"}  # token-level hidden states at full length


def plan_span_model(model_type: str, config, head_table: List[Param], state: Mapping[str, np.ndarray], layout: str,
                    target: str, origin: str = "checkpoint") -> Tuple[Dict[str, np.ndarray], bool]:
    """Arrays for an encoder + GlobalPointer model (names `backbone.*`, `global_pointer.*`) in `target` layout, from a
    checkpoint of such a model or - the start of a fine-tuning - of any class of the encoder's family (the head is then
    new). Returns (arrays, head_is_new)."""
    enc = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    head = {k[len("global_pointer."):]: v for k, v in state.items() if k.startswith("global_pointer.")}
    if not enc:  # a pretrained checkpoint of the encoder's family
        enc, head = dict(state), {}
    elif len(enc) + len(head) != len(state):
        other = sorted(k for k in state if not k.startswith(("backbone.", "global_pointer.")))
        raise KitError(describe_key_problems(origin, unexpected=other))
    plan = plan_load(model_type, config, ENCODER_ARCH[model_type], enc, layout, target, origin)
    arrays = {"backbone." + k: v for k, v in plan.arrays.items()}
    if head:
        arrays.update(span_head_arrays(head_table, head, layout, target, origin))
    return arrays, not head


def span_head_arrays(head_table: List[Param], head: Mapping[str, np.ndarray], layout: str, target: str,
                     origin: str = "checkpoint") -> Dict[str, np.ndarray]:
    """A span model's head (`global_pointer.*`, names relative to the head in `head`), every table key exactly,
    in `target` layout."""
    table = as_dict(head_table)
    missing, unexpected = sorted(set(table) - set(head)), sorted(set(head) - set(table))
    if missing or unexpected:
        raise KitError(describe_key_problems(origin, ["global_pointer." + k for k in missing],
                                             ["global_pointer." + k for k in unexpected]))
    return {"global_pointer." + k: convert_array(p, head[k], layout, target, origin) for k, p in table.items()}
