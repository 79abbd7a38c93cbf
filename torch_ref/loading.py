"""Loading the kit's torch models (transformers' Funnel classes, the GAU-alpha reference) from a checkpoint
directory in either layout: the plan is reprokit.loading's, the same the Paddle side follows, so a directory written
by either backend's trainer loads here (a Paddle `model_state.pdparams` too, under the core's pickle rule).

    import torch_ref
    model = torch_ref.from_pretrained("out/qnli-paddle", "FunnelForSequenceClassification")
"""
from __future__ import annotations

import logging
import numpy as np
import torch

from artifacts.names import resolve_model
from reprokit.checkpoint import load_state
from reprokit.loading import config_dict, plan_load

logger = logging.getLogger("torch_ref")


def from_pretrained(path, cls, allow_new_head: bool = False, trust_pickle: bool = False, revision=None,
                    config=None, **config_overrides):
    """Class `cls` (its `config_class` reads config.json) with the weights of the checkpoint in `path` (HF/torch or
    Paddle layout), in eval mode as transformers' from_pretrained returns it. `path` is a directory or a name
    (artifacts.names: a registry name or alias, a hub repo id at `revision`; the kit's store, the HF cache, then a
    verified download). allow_new_head: head parameters absent or of another shape in the checkpoint (a new
    num_labels) keep their fresh initialisation, as HF's ignore_mismatched_sizes. `config`: a config object to use
    instead of the directory's config.json (as transformers' from_pretrained(config=...))."""
    path = resolve_model(path, revision)
    model_type, arch = cls.config_class.model_type, cls.__name__
    if config is None:
        config = cls.config_class.from_dict(config_dict(path, model_type, config_overrides))
    else:
        for k, v in config_overrides.items():
            setattr(config, k, v)
    model = cls(config)
    layout, state, weights = load_state(path, trust_pickle=trust_pickle)
    plan = plan_load(model_type, config, arch, state, layout, "torch", str(weights), allow_new_head)
    if plan.unused:
        logger.info("%s: not used by %s: %s", weights, arch, ", ".join(plan.unused))
    if plan.new_head:
        logger.warning("%s: newly initialised head parameters: %s", weights, ", ".join(plan.new_head))
    own = model.state_dict()
    for name, array in plan.arrays.items():
        own[name] = torch.from_numpy(np.ascontiguousarray(array)).to(own[name].dtype)
    for name, p in plan.table.items():  # a tied name gets its source's new value, not its own stale copy
        if p.tied_to:
            own[name] = own[p.tied_to]
    model.load_state_dict(own)
    return model.eval()
