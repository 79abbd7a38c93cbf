"""Encoders the kit does not port (BERT, RoBERTa) on Paddle: PaddleNLP's classes, with the parameter table taken from
PaddleNLP's own torch -> Paddle name mappings (`<Class>._get_name_mappings(config)`: torch name, Paddle name,
transpose or not), completed as PaddleNLP's converter completes it (a Paddle parameter no mapping targets is read under
its own name). Checkpoints of such encoders are kept in the torch layout under the torch names (what transformers
reads), so a span model trained on either backend loads on both.
"""
from __future__ import annotations

import logging
from typing import Dict, List, Mapping, Tuple

import numpy as np

from reprokit import KitError
from reprokit.tables import Param, convert_array

logger = logging.getLogger("paddlenlp_ext")

# model_type -> PaddleNLP's encoder class (the ones PaddleNLP 2.8.1 has torch name mappings for)
ENCODERS = {"bert": "BertModel", "roberta": "RobertaModel"}


def encoder_class(model_type: str, origin: str = ""):
    import paddlenlp.transformers as PT
    if model_type not in ENCODERS:
        raise KitError(f"{origin}: model_type {model_type!r}: span models take the kit's encoders or "
                       f"{sorted(ENCODERS)} (PaddleNLP has torch name mappings for those)")
    return getattr(PT, ENCODERS[model_type])


def encoder_config(model_type: str, config: Mapping):
    import paddlenlp.transformers as PT
    cls = encoder_class(model_type)
    config_cls = getattr(PT, cls.__name__.replace("Model", "Config"))
    kw = {k: v for k, v in config.items() if k not in ("global_pointer", "architectures", "model_type")}
    return config_cls(**kw, architectures=[cls.__name__])


def mapped_table(pcls, config, paddle_shapes: Mapping[str, tuple], torch_shapes: Mapping[str, tuple] = None
                 ) -> Tuple[List[Param], List[str]]:
    """(table, Paddle parameters left at their init) exactly as PaddleNLP's converter (conversion_utils.convert) loads
    a torch state into `pcls`: each mapping whose source is in the torch state writes its target (transposed if
    asked); sources are not removed, so every torch tensor also stays under its own name, and Paddle's set_state_dict
    then loads whatever name and shape match. Without `torch_shapes` (no torch model at hand) every mapping source and
    every untargeted Paddle name are taken to be in the torch state."""
    try:
        mappings = pcls._get_name_mappings(config)
    except NotImplementedError:  # ERNIE in PaddleNLP 2.8.1: no torch checkpoint conversion at all
        raise KitError(f"PaddleNLP has no torch name mapping for {pcls.__name__}: it cannot convert a transformers "
                       "checkpoint of it") from None
    table, targeted = [], set()
    for m in mappings:
        if m.target_name not in paddle_shapes or m.target_name in targeted or (
                torch_shapes is not None and m.source_name not in torch_shapes):
            continue  # a target the Paddle class has not, or a source the torch class has not: nothing loads
        if m.action not in (None, "transpose"):
            raise KitError(f"PaddleNLP's mapping for {pcls.__name__}: {m.source_name} -> {m.target_name} uses "
                           f"action {m.action!r}, which the kit does not apply")
        transpose = m.action == "transpose"
        shape = paddle_shapes[m.target_name]
        torch_shape = torch_shapes[m.source_name] if torch_shapes is not None else \
            (tuple(reversed(shape)) if transpose else shape)
        table.append(Param(m.source_name, tuple(torch_shape), transpose=transpose,
                           paddle_name=None if m.source_name == m.target_name else m.target_name))
        targeted.add(m.target_name)
    for name, shape in paddle_shapes.items():  # a tensor under its own torch name, loaded as it is
        if name not in targeted and (torch_shapes is None or torch_shapes.get(name) == shape):
            table.append(Param(name, tuple(shape)))
            targeted.add(name)
    return table, sorted(set(paddle_shapes) - targeted)


def encoder_table(encoder) -> List[Param]:
    """Every parameter of a PaddleNLP model (an encoder, or a class with a head): its torch name, torch shape,
    transpose flag and Paddle name."""
    shapes = {n: tuple(p.shape) for n, p in encoder.named_parameters()}
    return mapped_table(type(encoder), encoder.config, shapes)[0]


def load_encoder(encoder, state: Mapping[str, np.ndarray], origin: str) -> None:
    """Load a torch-layout encoder state (torch names) into the PaddleNLP encoder; every parameter must be there."""
    params = dict(encoder.named_parameters())
    table = encoder_table(encoder)
    pooler = [p.name for p in table if p.name.startswith("pooler.") and p.name not in state]
    if pooler:  # a span model needs no pooler (transformers builds its encoder without one): keep the init
        logger.info("%s: no pooler weights; %s keeps its initial pooler (unused by span heads)", origin,
                    type(encoder).__name__)
        table = [p for p in table if p.name not in pooler]
    missing = [p.name for p in table if p.name not in state]
    if missing:
        raise KitError(f"{origin}: no {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''} for "
                       f"{type(encoder).__name__}")
    for p in table:
        array = convert_array(p, np.asarray(state[p.name]), "torch", "paddle", origin)
        target = params[p.name_in("paddle")]
        target.set_value(np.ascontiguousarray(array).astype(str(target.dtype).replace("paddle.", "")))


def encoder_state(encoder) -> Dict[str, np.ndarray]:
    """The encoder's weights in the torch layout under the torch names."""
    params = dict(encoder.named_parameters())
    return {p.name: convert_array(p, params[p.name_in("paddle")].numpy(), "paddle", "torch")
            for p in encoder_table(encoder)}


def split_span_state(state: Mapping[str, np.ndarray], model_type: str, origin: str) -> Tuple[dict, dict, bool]:
    """(encoder state, head state, head_is_new) from a span checkpoint (`backbone.*`, `global_pointer.*`) or from a
    pretrained checkpoint of the family (`bert.*` and its pre-training heads, which are left out)."""
    enc = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    head = {k[len("global_pointer."):]: v for k, v in state.items() if k.startswith("global_pointer.")}
    if enc:
        return enc, head, not head
    prefix = model_type + "."
    enc = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}
    left = sorted(k for k in enc if k.startswith(("cls.", "lm_head.", "qa_outputs.", "classifier.")))
    if left:
        logger.info("%s: not used by the encoder: %s", origin, ", ".join(left))
    return {k: v for k, v in enc.items() if k not in left}, {}, True


def has_mapping(model) -> bool:
    try:
        type(model)._get_name_mappings(model.config)
        return True
    except (NotImplementedError, AttributeError, TypeError):
        return False


def save_torch_layout(model, directory) -> None:
    """model.safetensors in the torch layout under transformers' names, beside PaddleNLP's own files: what
    transformers' from_pretrained reads (and PaddleNLP's, with convert_from_torch), so a model fine-tuned on Paddle
    loads on torch. Written to a temporary name, then renamed."""
    import os
    from pathlib import Path

    from safetensors.numpy import save_file
    params = dict(model.named_parameters())
    state = {p.name: np.ascontiguousarray(convert_array(p, params[p.name_in("paddle")].numpy(), "paddle", "torch"))
             for p in encoder_table(model)}
    path = Path(directory) / "model.safetensors"
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp), metadata={"format": "pt"})
    os.replace(tmp, path)
