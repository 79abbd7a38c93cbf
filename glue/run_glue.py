"""Fine-tune and evaluate a Funnel, GAU-alpha or BERT-like checkpoint on a GLUE task, on either backend.

    python glue/run_glue.py --backend paddle --model_name_or_path funnel-transformer/xlarge --task_name qnli \\
        --output_dir out/qnli --do_train --do_eval --per_device_train_batch_size 24 --learning_rate 1e-5 \\
        --num_train_epochs 4 --max_seq_length 128 --layer_lr_decay 0.8 --weight_decay 0.01 --warmup_ratio 0.1

Arguments: the model and data options below, the kit's (--backend, --layer_lr_decay, --log_dir, ...), and every flag of
the backend's own TrainingArguments (transformers' on torch, PaddleNLP's on Paddle), as in the HF example scripts.
Data: the task's raw GLUE folder (--data_dir, TSV as downloaded), local HF-datasets files (--train_file,
--validation_file, --test_file), a `datasets` name or script (--dataset_name, --dataset_config_name), or, with none of
these, the copy fetch.py keeps (`python fetch.py glue/<task>`; fetched now when missing, unless offline). Without
--do_train / --do_eval / --do_predict the script trains and evaluates; --num_train_epochs 0 evaluates only. The same
featurised numpy batches and per-epoch order feed both backends; per-parameter rates (layer-wise decay, weight decay)
come from one table (tasks/layer_decay.py). Logs: <log_dir>/args.json, metrics.jsonl, step_losses.json,
eval_results.json, TensorBoard / VisualDL events, and a loss / dev-metric plot under figure/.
"""
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from reprokit import KitError
from glue import data as G
from tasks.arguments import decide_steps, parse, require_model_path
from tasks.batches import FeatureDataset
from tasks.cli import (check_output_dir, is_main_process, load_named_dataset, open_log_dir, plot_run,
                       run_reporting_errors, train_and_save, write_eval_results)
from tasks.tokenization import tokenizer_for
from reprokit.files import summary

# the kit's defaults where they differ from the trainers' (every one can be given on the command line)
DEFAULTS = dict(learning_rate=2e-5, num_train_epochs=3.0, per_device_eval_batch_size=32, logging_steps=50,
                save_total_limit=2)


@dataclass
class DataArguments:
    task_name: str = field(metadata={"help": "CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI or AX (any case)"})
    data_dir: Optional[str] = field(default=None, metadata={"help": (
        "The task's raw GLUE folder (train.tsv, dev.tsv, test.tsv; MNLI: dev_matched, ...)")})
    dataset_name: Optional[str] = field(default=None, metadata={"help": (
        "A `datasets` name, folder or loading script with the `glue` columns (e.g. nyu-mll/glue)")})
    dataset_config_name: Optional[str] = field(default=None, metadata={"help": "Its configuration (e.g. qnli)"})
    train_file: Optional[str] = field(default=None, metadata={"help": "A json / jsonl / csv / parquet file"})
    validation_file: Optional[str] = field(default=None, metadata={"help": "A json / jsonl / csv / parquet file"})
    test_file: Optional[str] = field(default=None, metadata={"help": "A json / jsonl / csv / parquet file"})
    max_seq_length: int = field(default=128, metadata={"help": "Longer inputs are truncated"})
    pad_to_max_length: bool = field(default=False, metadata={"help": (
        "Pad every batch to max_seq_length (default: to the batch's longest row)")})
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    max_predict_samples: Optional[int] = None
    overwrite_cache: bool = field(default=False, metadata={"help": "--dataset_name: download it again"})
    preprocessing_num_workers: Optional[int] = field(default=None, metadata={"help": (
        "Accepted for the HF examples' command lines; the kit featurises in this process (see README, CLUE "
        "throughput)")})
    skip_bad_rows: bool = field(default=False, metadata={"help": (
        "Skip malformed TSV rows (counted) instead of failing")})


def parse_args(argv=None, script="glue/run_glue.py", aliases=None):
    return parse(script, DataArguments, argv, DEFAULTS, aliases=aliases, description=summary(__doc__))


def use_fetched_data(data, task) -> None:
    """No data given: the copy fetch.py keeps (`python fetch.py glue/<task>`: raw TSV folder or HF parquet files per
    split), fetched now when missing; offline and missing: a one-line error naming the fetch command."""
    from artifacts.names import resolve_data
    folder = resolve_data("glue/" + task.name.lower().replace("-", ""))
    parquet = sorted(folder.glob("*.parquet"))
    if not parquet:
        data.data_dir = str(folder)
        return
    for split, attr in (("train", "train_file"), ("validation", "validation_file"), ("test", "test_file")):
        found = [p for p in parquet if p.name.startswith(split + "-")]
        if found:
            setattr(data, attr, str(found[0]))


def load_dataset_name(data, task) -> dict:
    ds = load_named_dataset(data.dataset_name, data.dataset_config_name, overwrite=data.overwrite_cache)
    return G.dataset_splits(task, ds)


def load_examples(data, task, training):
    """{"train": [...], "dev": {name: [...]}, "test": {name: [...]}} for the splits the run needs."""
    out = {"dev": {}, "test": {}}
    reports = []
    if not (data.data_dir or data.train_file or data.validation_file or data.test_file or data.dataset_name):
        use_fetched_data(data, task)
    named = load_dataset_name(data, task) if data.dataset_name else None

    def from_dir(split):
        if named is not None:
            if not named[split]:
                raise KitError(f"--dataset_name {data.dataset_name}: no {split} split")
            return named[split]
        if not data.data_dir:
            raise KitError(f"--data_dir (or --{ {'train': 'train', 'dev': 'validation', 'test': 'test'}[split]}_file) "
                           "is needed")
        got, rep = G.load_split(task, data.data_dir, split, data.skip_bad_rows)
        reports.extend(rep)
        return got

    if training.do_train:
        out["train"] = G.read_hf_file(task, data.train_file, "train") if data.train_file else from_dir("train")["train"]
    if training.do_eval or training.do_train:
        if data.validation_file:
            out["dev"] = {"dev": G.read_hf_file(task, data.validation_file, "dev")}
        elif task.dev and (training.do_eval or named is None or named["dev"]):
            out["dev"] = from_dir("dev")
    if training.do_predict:
        out["test"] = {"test": G.read_hf_file(task, data.test_file, "test")} if data.test_file else from_dir("test")
    for r in reports:
        if r.skipped:
            print(f"{r.path}: skipped {len(r.skipped)} malformed row(s), first at line {r.skipped[0][0]}: "
                  f"{r.skipped[0][1]}", file=sys.stderr)
    return out, reports


def write_predictions(task, trainer, backend, test_splits: dict, tok, max_seq_length: int, out_dir: Path,
                      write: bool = True, limit: Optional[int] = None) -> list:
    """Predict every test split of `task` and write its leaderboard file(s) (every process of a distributed run
    predicts; only the one with write=True writes); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (split, examples), stem in zip(test_splits.items(), task.leaderboard):
        examples = examples[:limit] if limit else examples
        ds = FeatureDataset(G.featurize(examples, tok, max_seq_length, task.labels is None))
        logits = backend.predictions(trainer.predict(ds))
        if len(logits) != len(examples):
            raise KitError(f"{split}: {len(logits)} predictions for {len(examples)} rows")
        path = out_dir / f"{stem}.tsv"
        if write:
            G.write_leaderboard(path, [e.index for e in examples], G.leaderboard_values(task, logits))
            written.append(path)
            print(f"wrote {path} ({len(examples)} rows)")
    return written


def main(argv=None) -> int:
    return run_reporting_errors(run, parse_args(argv))


def run(a) -> int:
    from tasks.backends import get_backend, pad_length, prepare_training_arguments
    data, training = a.data, a.training
    task = G.get_task(data.task_name)
    decide_steps(a)
    check_output_dir(training)
    require_model_path(a.model)
    model_path = a.model.model_name_or_path
    examples, reports = load_examples(data, task, training)
    tok = tokenizer_for(model_path)
    pad_id = getattr(tok, "pad_token_id", 0) or 0
    regression = task.labels is None
    num_labels = 1 if regression else len(task.labels)

    def feats(exs, limit=None):
        return G.featurize(exs[:limit] if limit else exs, tok, data.max_seq_length, regression)

    train_ds = FeatureDataset(feats(examples["train"], data.max_train_samples)) if training.do_train else None
    dev = {k: FeatureDataset(feats(v, data.max_eval_samples)) for k, v in examples["dev"].items()}
    first_dev = next(iter(dev.values()), None)

    log_path = open_log_dir(a, Path("logs") / "glue" / task.name / a.kit.backend)
    log_dir, main_process = log_path.parent, is_main_process()

    backend = get_backend(a.kit.backend)
    model = backend.load_model(model_path, "sequence_classification", num_labels)

    def compute_metrics(p):
        preds = p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions
        return G.compute_metrics(task, preds, p.label_ids)

    prepare_training_arguments(training, "sequence_classification", first_dev, log_dir,
                               evaluate_each_epoch=not a.given & {"--eval_strategy", "--evaluation_strategy"},
                               logging_dir_given="--logging_dir" in a.given)
    trainer = backend.make_trainer(training, a.kit, "sequence_classification", model, train_ds, first_dev,
                                   compute_metrics, log_path, pad_id, pad_length(data))
    results = {}
    if training.do_train:
        train_and_save(backend, trainer, a, log_dir, task.name)
    if training.do_eval or training.do_train:
        for name, ds in dev.items():
            prefix = "eval" if name in ("dev", "dev_matched") else "eval_mm"
            m = trainer.evaluate(eval_dataset=ds, metric_key_prefix=prefix)
            results[name] = {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}
        write_eval_results(a, log_dir, task.name, results, trainer.model)
        for name, m in results.items():
            print(f"{task.name} {name}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items() if k.startswith("eval")))
            print(summary_line(m))
    if training.do_predict:
        write_predictions(task, trainer, backend, examples["test"], tok, data.max_seq_length,
                          Path(training.output_dir), write=main_process, limit=data.max_predict_samples)
    plot_run(a, log_path, f"glue_{task.name}", f"GLUE {task.name}")
    return 0


def summary_line(metrics: dict) -> str:
    """`eval loss: 0.013401, acc: 0.951492` (the line the Funnel-paddle repo printed), plus the task's other metrics."""
    def value(name):
        return next((v for k, v in metrics.items() if k.endswith("_" + name)), None)
    parts = [f"eval loss: {value('loss') if value('loss') is not None else float('nan'):.6f}"]
    for name, short in (("accuracy", "acc"), ("f1", "f1"), ("matthews_correlation", "mcc"), ("pearson", "pearson"),
                        ("spearmanr", "spearmanr")):
        if value(name) is not None:
            parts.append(f"{short}: {value(name):.6f}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
