"""Fine-tune and evaluate a Funnel or GAU-alpha checkpoint on a GLUE task, on either backend.

    python glue/run_glue.py --backend paddle --model_name_or_path path/to/funnel-xlarge --task_name QNLI \\
        --data_dir glue_data/QNLI --output_dir out/qnli --do_train --do_eval --per_device_train_batch_size 24 \\
        --learning_rate 1e-5 --num_train_epochs 4 --max_seq_length 128 --layer_lr_decay 0.8 --weight_decay 0.01 \\
        --warmup_ratio 0.1

Data: the raw GLUE folder of the task (--data_dir, TSV as downloaded) or local HF-datasets files (--train_file,
--validation_file, --test_file: json/jsonl/csv/parquet). The same featurised numpy batches and the same per-epoch
order feed both backends (HF Trainer for torch, PaddleNLP Trainer for Paddle); per-parameter learning rates (layer-wise
decay) and weight decay come from one table (tasks/layer_decay.py). Logs: <log_dir>/args.json, metrics.jsonl,
step_losses.json, TensorBoard / VisualDL events, and a loss / dev-metric plot under figure/.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from reprokit import KitError
from glue import data as G
from tasks.batches import FeatureDataset
from tasks.tokenization import tokenizer_for
from tasks.cli import (add_training_args, check_best_model_args, check_output_dir, is_main_process, open_log_dir,
                          command_line, plot_run, run_reporting_errors, train_and_save,
                          write_eval_results)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_args(ap)
    a = ap.add_argument
    a("--task_name", required=True)
    a("--data_dir", help="the task's raw GLUE folder (train.tsv, dev.tsv, test.tsv; MNLI: dev_matched, ...)")
    a("--train_file")
    a("--validation_file")
    a("--test_file")
    a("--eval_steps", type=int, default=0, help="evaluate every N steps (0: every epoch)")
    a("--load_best_model_at_end", action="store_true")
    a("--metric_for_best_model", default=None, help="e.g. accuracy, matthews_correlation, combined_score")
    a("--early_stopping_patience", type=int, default=0)
    a("--skip_bad_rows", action="store_true", help="skip malformed TSV rows (counted) instead of failing")
    args = ap.parse_args(argv)
    if args.load_best_model_at_end and not args.metric_for_best_model:
        args.metric_for_best_model = "loss"
    return args


def use_fetched_data(args, task) -> None:
    """No data path given: the copy fetch.py laid out (`python fetch.py glue/<task>`), raw TSV folder or HF parquet
    files per split; a missing one is a one-line error naming the fetch command."""
    from artifacts.fetching import data_path
    folder = data_path("glue/" + task.name.lower().replace("-", ""))
    parquet = sorted(folder.glob("*.parquet"))
    if not parquet:
        args.data_dir = str(folder)
        return
    for split, attr in (("train", "train_file"), ("validation", "validation_file"), ("test", "test_file")):
        found = [p for p in parquet if p.name.startswith(split + "-")]
        if found:
            setattr(args, attr, str(found[0]))


def load_examples(args, task):
    """{"train": [...], "dev": {name: [...]}, "test": {name: [...]}} for the splits the run needs."""
    data = {"dev": {}, "test": {}}
    reports = []

    if not (args.data_dir or args.train_file or args.validation_file or args.test_file):
        use_fetched_data(args, task)

    def from_dir(split):
        if not args.data_dir:
            raise KitError(f"--data_dir (or --{ {'train': 'train', 'dev': 'validation', 'test': 'test'}[split]}_file) "
                           "is needed")
        out, rep = G.load_split(task, args.data_dir, split, args.skip_bad_rows)
        reports.extend(rep)
        return out

    if args.do_train:
        data["train"] = G.read_hf_file(task, args.train_file, "train") if args.train_file else from_dir("train")["train"]
    if args.do_eval or args.do_train:
        if args.validation_file:
            data["dev"] = {"dev": G.read_hf_file(task, args.validation_file, "dev")}
        elif task.dev:
            data["dev"] = from_dir("dev")
    if args.do_predict:
        data["test"] = {"test": G.read_hf_file(task, args.test_file, "test")} if args.test_file else from_dir("test")
    for r in reports:
        if r.skipped:
            print(f"{r.path}: skipped {len(r.skipped)} malformed row(s), first at line {r.skipped[0][0]}: "
                  f"{r.skipped[0][1]}", file=sys.stderr)
    return data, reports


def write_predictions(task, trainer, backend, test_splits: dict, tok, max_seq_length: int, out_dir: Path,
                      write: bool = True) -> list:
    """Predict every test split of `task` and write its leaderboard file(s) (every process of a distributed run
    predicts; only the one with write=True writes); returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (split, examples), stem in zip(test_splits.items(), task.leaderboard):
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
    args = parse_args(argv)
    args.command = command_line("glue/run_glue.py", argv)
    return run_reporting_errors(run, args)


def run(args) -> int:
    from tasks.backends import get_backend
    task = G.get_task(args.task_name)
    check_best_model_args(args)
    check_output_dir(args)
    data, reports = load_examples(args, task)
    tok = tokenizer_for(args.model_name_or_path)
    pad_id = getattr(tok, "pad_token_id", 0) or 0
    regression = task.labels is None
    num_labels = 1 if regression else len(task.labels)

    def feats(examples, limit=None):
        return G.featurize(examples[:limit] if limit else examples, tok, args.max_seq_length, regression)

    train_ds = FeatureDataset(feats(data["train"], args.max_train_samples)) if args.do_train else None
    dev = {k: FeatureDataset(feats(v, args.max_eval_samples)) for k, v in data["dev"].items()}
    first_dev = next(iter(dev.values()), None)

    log_path = open_log_dir(args, Path("logs") / "glue" / task.name / args.backend)
    log_dir, main_process = log_path.parent, is_main_process()

    backend = get_backend(args.backend)
    model = backend.load_model(args, num_labels)

    def compute_metrics(p):
        preds = p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions
        return G.compute_metrics(task, preds, p.label_ids)

    trainer = backend.make_trainer(args, model, train_ds, first_dev, compute_metrics, log_path, pad_id)
    results = {}
    if args.do_train:
        train_and_save(backend, trainer, args, log_dir, task.name)
    if args.do_eval or args.do_train:
        for name, ds in dev.items():
            prefix = "eval" if name in ("dev", "dev_matched") else "eval_mm"
            m = trainer.evaluate(eval_dataset=ds, metric_key_prefix=prefix)
            results[name] = {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}
        write_eval_results(args, log_dir, task.name, results, trainer.model)
        for name, m in results.items():
            print(f"{task.name} {name}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items() if k.startswith("eval")))
    if args.do_predict:
        write_predictions(task, trainer, backend, data["test"], tok, args.max_seq_length, Path(args.output_dir),
                          write=main_process)
    plot_run(args, log_path, f"glue_{task.name}", f"GLUE {task.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
