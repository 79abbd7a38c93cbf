"""Fine-tune, evaluate and predict CLUENER 2020 with a GlobalPointer or EfficientGlobalPointer head on GAU-alpha,
Funnel or a BERT-like encoder, on either backend.

    python cluener/run_cluener.py --backend paddle --model_name_or_path chinese_GAU-alpha-char_L-24_H-768 \\
        --data_dir cluener_data --output_dir out/cluener --do_train --do_eval --do_predict \\
        --global_pointer_head GlobalPointer --rope True --max_seq_length 256 --per_device_train_batch_size 16 \\
        --learning_rate 2e-5 --lr_scheduler_type constant --weight_decay 0.05 --num_train_epochs 10
    python cluener/run_cluener.py --model_name_or_path bert-base-chinese --dataset_name ./cluener_dataset.py \\
        --evaluation_strategy epoch --save_strategy epoch --load_best_model_at_end True \\
        --metric_for_best_model f1 ...      # the CLUENER GlobalPointer repo's command (HF Trainer flags) as it is

Arguments: the seed repo's model options (--global_pointer_head, --rope) and data options (--dataset_name: a `datasets`
name or loading script, HF-examples style), the kit's, and every flag of the backend's own TrainingArguments. Data:
train.json / dev.json / test.json of CLUENER (--data_dir, or --train_file / --validation_file / --test_file, or
--dataset_name, or the copy `python fetch.py cluener` keeps: fetched when missing, unless offline). Spans become
token spans through the tokenizer's offsets; entities cut off by --max_seq_length (or not on token bounds) are counted
and reported, never dropped silently; the evaluation scores against the full gold annotation. Threshold 0, CLS / SEP
never decoded. While training, `--evaluation_strategy epoch` evaluates `f1` (micro F1 over token spans, the seed
repo's metric; --metric_for_best_model f1). The final dev metrics, both named: `micro_f1` over (start, end, type) and
`official_macro_f1` (the CLUENER scorer: per-type F1 over entity strings, macro over the 10 types), with the per-type
table in eval_results.json. --do_predict writes <output_dir>/cluener_predict.json.
"""
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from cluener import data as N
from reprokit import KitError
from tasks.arguments import ModelArguments, decide_steps, parse, require_model_path
from tasks.batches import FeatureDataset
from tasks.cli import (check_output_dir, is_main_process, load_named_dataset, open_log_dir, plot_run,
                       run_reporting_errors, train_and_save, write_eval_results)
from tasks.tokenization import encode_with_offsets, tokenizer_for
from reprokit.files import summary

DEFAULTS = dict(learning_rate=2e-5, num_train_epochs=10.0, per_device_train_batch_size=16,
                per_device_eval_batch_size=16, logging_steps=50, save_total_limit=2)


@dataclass
class SpanModelArguments(ModelArguments):
    global_pointer_head: str = field(default="GlobalPointer", metadata={
        "choices": ["GlobalPointer", "EfficientGlobalPointer"], "help": "GlobalPointer or EfficientGlobalPointer"})
    rope: bool = field(default=True, metadata={"help": "RoPE on the head's queries and keys (True | False)"})
    head_size: int = 64


@dataclass
class DataArguments:
    data_dir: Optional[str] = field(default=None, metadata={"help": "A folder with train.json, dev.json, test.json"})
    dataset_name: Optional[str] = field(default=None, metadata={"help": (
        "A `datasets` name or loading script of CLUENER (e.g. the seed repo's ./cluener_dataset.py)")})
    dataset_config_name: Optional[str] = None
    train_file: Optional[str] = None
    validation_file: Optional[str] = None
    test_file: Optional[str] = None
    max_seq_length: int = 256
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    max_predict_samples: Optional[int] = None
    overwrite_cache: bool = field(default=False, metadata={"help": "--dataset_name: prepare it again"})
    preprocessing_num_workers: Optional[int] = field(default=None, metadata={"help": (
        "Accepted for the seed repo's command lines; the kit featurises in this process")})


def parse_args(argv=None):
    return parse("cluener/run_cluener.py", DataArguments, argv, DEFAULTS, model_class=SpanModelArguments,
                 description=summary(__doc__))


def main(argv=None) -> int:
    return run_reporting_errors(run, parse_args(argv))


def features(examples, tok, max_length: int):
    """Token ids and offsets of each text, its gold spans as token spans; returns (features, entities left out)."""
    feats, lost = [], 0
    for ex in examples:
        ids, offsets = encode_with_offsets(tok, ex.text, max_length)
        spans, n = N.token_spans(ex.spans, offsets)
        lost += n
        feats.append({"input_ids": ids, "token_type_ids": [0] * len(ids), "spans": spans,
                      "num_types": len(N.TYPES), "offsets": offsets})
    return feats, lost


def predict_spans(backend, trainer, examples, feats):
    """Character spans per example: the spans predict() decodes (backend.span_candidates: threshold 0, CLS / SEP
    never decoded), mapped back to the text."""
    found = np.asarray(backend.predictions(trainer.predict(FeatureDataset(feats))))
    if len(found) != len(feats):
        raise KitError(f"{len(found)} predictions for {len(feats)} rows")
    out = []
    for row, f, ex in zip(found, feats, examples):
        decoded = [(int(t), int(s), int(e)) for t, s, e in row if t >= 0]
        out.append(N.char_spans(ex.text, decoded, f["offsets"]))
    return out


def evaluate(examples, predicted) -> dict:
    gold = [set(ex.spans) for ex in examples]
    pred = [set(p) for p in predicted]
    micro = N.micro_f1(gold, pred)
    official = N.official([ex.text for ex in examples], gold, pred)
    return {"micro_f1": micro["f1"], "micro_precision": micro["precision"], "micro_recall": micro["recall"],
            "official_macro_f1": official["macro_f1"], "official_per_type": official["per_type"]}


def span_head(model) -> dict:
    """The GlobalPointer head the run asks for (used when the checkpoint has none yet)."""
    return dict(heads=len(N.TYPES), head_size=model.head_size, rope=model.rope,
                efficient=model.global_pointer_head == "EfficientGlobalPointer")


def load_splits(data, training) -> dict:
    """{split: examples} for the splits the run needs: files (--train_file ...), --data_dir, --dataset_name, or the
    fetched copy."""
    wanted = {"train": training.do_train, "dev": training.do_eval or training.do_train, "test": training.do_predict}
    if data.dataset_name:
        ds = load_named_dataset(data.dataset_name, data.dataset_config_name, overwrite=data.overwrite_cache)
        names = {"train": "train", "dev": "validation", "test": "test"}
        missing = [names[s] for s, w in wanted.items() if w and names[s] not in ds and s != "dev"]
        if missing:
            raise KitError(f"--dataset_name {data.dataset_name}: no {', '.join(missing)} split")
        return {s: N.examples_from_dataset(ds[names[s]], f"{data.dataset_name} {names[s]}")
                for s, w in wanted.items() if w and names[s] in ds}
    files = {"train": data.train_file, "dev": data.validation_file, "test": data.test_file}
    folder = None
    if not any(files.values()):
        if data.data_dir:
            folder = Path(data.data_dir)
        else:
            from artifacts.names import resolve_data
            folder = resolve_data("cluener")
    out = {}
    for split, w in wanted.items():
        path = Path(files[split]) if files[split] else (folder / f"{split}.json" if folder else None)
        if not w or path is None or (split == "dev" and not training.do_eval and not path.is_file()):
            continue
        out[split] = N.read_file(path, has_labels=split != "test")
    return out


def f1_from_counts(p) -> dict:
    """The seed repo's training-time metric from evaluate()'s per-example (true positives, predicted, gold) span
    counts: 2 * TP / (predicted + gold), over token spans at threshold 0."""
    counts = np.asarray(p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions)
    if counts.ndim != 2 or counts.shape[1] != 3:  # predict() hands over decoded spans: no metric
        return {}
    tp, pred, gold = counts.sum(0)
    return {"f1": float(2 * tp / (pred + gold)) if pred + gold else 0.0}


def run(a) -> int:
    from tasks.backends import get_backend, prepare_training_arguments
    data, training = a.data, a.training
    decide_steps(a)
    check_output_dir(training)
    require_model_path(a.model)
    splits = load_splits(data, training)
    tok = tokenizer_for(a.model.model_name_or_path, fast_only=False)
    feats = {}
    for split, examples in list(splits.items()):
        limit = {"train": data.max_train_samples, "dev": data.max_eval_samples, "test": data.max_predict_samples}[split]
        splits[split] = examples[:limit] if limit else examples
        feats[split], lost = features(splits[split], tok, data.max_seq_length)
        if lost:
            print(f"{split}: {lost} entities beyond --max_seq_length {data.max_seq_length} or off token bounds "
                  f"{'left out of training' if split == 'train' else 'cannot be predicted (still scored as gold)'}",
                  file=sys.stderr)
    log_path = open_log_dir(a, Path("logs") / "cluener" / a.model.global_pointer_head / a.kit.backend)
    log_dir = log_path.parent

    backend = get_backend(a.kit.backend)
    model = backend.load_model(a.model.model_name_or_path, "global_pointer", len(N.TYPES), span=span_head(a.model))
    train_ds = FeatureDataset(feats["train"]) if "train" in feats else None
    # evaluated while training only when asked for (--evaluation_strategy): span counts per batch, not the logits
    eval_ds = FeatureDataset(feats["dev"]) if "dev" in feats and training.do_train else None
    prepare_training_arguments(training, "global_pointer", eval_ds, log_dir, evaluate_each_epoch=False,
                               logging_dir_given="--logging_dir" in a.given)
    # the trainers gather span logits [b, types, L, L] across batches: every batch has the same L
    trainer = backend.make_trainer(training, a.kit, "global_pointer", model, train_ds, eval_ds, f1_from_counts,
                                   log_path, getattr(tok, "pad_token_id", 0) or 0, data.max_seq_length,
                                   metrics_reducer=backend.span_counts)
    if training.do_train:
        train_and_save(backend, trainer, a, log_dir, "CLUENER")
    if "dev" in splits:
        res = evaluate(splits["dev"], predict_spans(backend, trainer, splits["dev"], feats["dev"]))
        write_eval_results(a, log_dir, "CLUENER", {"dev": res}, trainer.model)
        print(f"CLUENER dev: micro F1 {res['micro_f1']:.4f} (over (start, end, type)), official macro F1 "
              f"{res['official_macro_f1']:.4f} (per-type entity strings)")
    if training.do_predict and is_main_process():
        spans = predict_spans(backend, trainer, splits["test"], feats["test"])
        path = N.write_submission(splits["test"], spans, Path(training.output_dir) / "cluener_predict.json")
        print(f"wrote {path} ({len(spans)} rows)")
    plot_run(a, log_path, f"cluener_{a.model.global_pointer_head}", "CLUENER")
    return 0


if __name__ == "__main__":
    sys.exit(main())
