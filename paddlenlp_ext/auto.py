"""Register the kit's ports with PaddleNLP's Auto classes.

PaddleNLP 2.8.1 resolves Auto classes by importing `paddlenlp.transformers.<name>.modeling`; it has no registration
API. We wrap each Auto class's `_get_model_class_from_config` so that a config whose model_type is one of ours
resolves to our class for that task, and everything else goes to PaddleNLP as before.
"""
from __future__ import annotations

import importlib
import io
import json

from reprokit.loading import STEMS

# Auto class name -> class-name suffix of the task
_TASKS = {
    "AutoModel": "Model",
    "AutoModelForPretraining": "ForPreTraining",
    "AutoModelForMaskedLM": "ForMaskedLM",
    "AutoModelForSequenceClassification": "ForSequenceClassification",
    "AutoModelForMultipleChoice": "ForMultipleChoice",
    "AutoModelForTokenClassification": "ForTokenClassification",
    "AutoModelForQuestionAnswering": "ForQuestionAnswering",
}
# model_type -> the port's module (class names: reprokit.loading.class_name)
REGISTRY = {"funnel": "paddlenlp_ext.funnel", "gau_alpha": "paddlenlp_ext.gau_alpha"}


def resolve(model_type: str, task_suffix: str):
    name = STEMS[model_type] + task_suffix
    cls = getattr(importlib.import_module(REGISTRY[model_type]), name, None)
    if cls is None:
        raise ValueError(f"model_type {model_type!r} has no {name} class in this kit")
    return cls


def register_auto() -> None:
    auto = importlib.import_module("paddlenlp.transformers.auto.modeling")
    for auto_name, suffix in _TASKS.items():
        auto_cls = getattr(auto, auto_name)
        original = auto_cls.__dict__.get("_get_model_class_from_config") or auto._BaseAutoModelClass.__dict__[
            "_get_model_class_from_config"]
        if getattr(original, "_kit_wrapped", False):
            continue
        original_fn = original.__func__

        def wrapped(cls, pretrained_model_name_or_path, config_file_path, config=None, _orig=original_fn,
                    _suffix=suffix):
            cfg = config
            if cfg is None:
                with io.open(config_file_path, encoding="utf-8") as f:
                    cfg = json.load(f)
            model_type = cfg.get("model_type") if isinstance(cfg, dict) else getattr(cfg, "model_type", None)
            if model_type in REGISTRY:
                return resolve(model_type, _suffix)
            return _orig(cls, pretrained_model_name_or_path, config_file_path, config)

        method = classmethod(wrapped)
        method.__func__._kit_wrapped = True
        setattr(auto_cls, "_get_model_class_from_config", method)
