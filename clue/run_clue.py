"""Fine-tune, evaluate and predict a CLUE classification task (afqmc, tnews, iflytek, cmnli, ocnli, cluewsc2020, csl)
with GAU-alpha (or Funnel) on either backend; the test predictions as the CLUE submission files.

    python clue/run_clue.py --backend paddle --model_name_or_path path/to/chinese_GAU-alpha-char_L-24_H-768 \\
        --task_name iflytek --data_dir clue_data/iflytek --output_dir out/iflytek --do_train --do_eval --do_predict \\
        --optim adafactor --learning_rate 5e-4 --lr_scheduler_type constant --per_device_train_batch_size 32 \\
        --max_seq_length 128 --num_train_epochs 10

Data: the task's folder of the CLUE JSON-lines files (--data_dir), or the copy `python fetch.py clue/<task>` laid
out. Inputs as the GAU-alpha recipe (clue/data.py); pairs get all-0 token types unless --pair_token_types segments.
The training machinery is GLUE's (tasks/): same batches and order on both backends, layer-wise decay, AdamW or
Adafactor (HF's on torch, the same algorithm on Paddle), resume, logs under logs/clue/<task>/<backend>/, a plot under
figure/. --do_predict writes <output_dir>/<the task's submission file> (and with --zip, <output_dir>.zip).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clue import data as C
from reprokit import KitError
from tasks.batches import FeatureDataset, text_pair_features
from tasks.cli import (add_training_args, check_output_dir, command_line, is_main_process, open_log_dir, plot_run,
                       run_reporting_errors, train_and_save,
                       write_eval_results)
from tasks.tokenization import tokenizer_for


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_args(ap, max_seq_length=128, batch_size=32, learning_rate=2e-5, epochs=3.0)
    a = ap.add_argument
    a("--task_name", required=True, help=", ".join(C.TASKS))
    a("--data_dir", help="the task's folder (train.json, dev.json, test.json; ocnli: train.50k.json)")
    a("--pair_token_types", choices=["zeros", "segments"], default="zeros",
      help="token types of sentence pairs: all 0 (the GAU-alpha recipe) or 0/1")
    a("--zip", action="store_true", help="--do_predict: also <output_dir>.zip with the submission file(s)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    args.command = command_line("clue/run_clue.py", argv)
    return run_reporting_errors(run, args)


def data_dir(args, task) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    from artifacts.fetching import data_path
    return data_path(f"clue/{task.name}")


def run(args) -> int:
    task = C.get_task(args.task_name)
    if not (args.do_train or args.do_eval or args.do_predict):
        raise KitError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    check_output_dir(args)
    folder = data_dir(args, task)
    splits = {}
    for split, wanted in (("train", args.do_train),
                          ("dev", args.do_eval or (args.do_train and (folder / task.files["dev"]).is_file())),
                          ("test", args.do_predict)):
        if wanted:
            examples, report = C.read_split(task, folder / task.files[split], split)
            if report.dropped:
                print(f"{report.path}: {report.dropped} row(s) labelled '-' left out", file=sys.stderr)
            splits[split] = examples
    tok = tokenizer_for(args.model_name_or_path, pair_token_types=args.pair_token_types)
    zeros = args.pair_token_types == "zeros"

    def feats(examples, limit=None):
        return text_pair_features(examples[:limit] if limit else examples, tok, args.max_seq_length,
                                  zero_token_types=zeros)

    train_ds = FeatureDataset(feats(splits["train"], args.max_train_samples)) if "train" in splits else None
    dev_ds = FeatureDataset(feats(splits["dev"], args.max_eval_samples)) if "dev" in splits else None
    log_path = open_log_dir(args, Path("logs") / "clue" / task.name / args.backend)
    log_dir, main_process = log_path.parent, is_main_process()

    from tasks.backends import get_backend
    backend = get_backend(args.backend)
    model = backend.load_model(args, len(task.labels))

    def compute_metrics(p):
        preds = p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions
        return C.accuracy(preds, p.label_ids)

    trainer = backend.make_trainer(args, model, train_ds, dev_ds, compute_metrics, log_path,
                                   getattr(tok, "pad_token_id", 0) or 0)
    if args.do_train:
        train_and_save(backend, trainer, args, log_dir, f"CLUE {task.name}")
    if dev_ds is not None:
        m = trainer.evaluate(eval_dataset=dev_ds)
        results = {"dev": {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}}
        write_eval_results(args, log_dir, f"CLUE {task.name}", results, trainer.model)
        print(f"CLUE {task.name} dev: accuracy={results['dev'].get('eval_accuracy', float('nan')):.4f}")
    if args.do_predict:
        logits = backend.predictions(trainer.predict(FeatureDataset(feats(splits["test"]))))
        if main_process:
            path = C.write_submission(task, splits["test"], logits, Path(args.output_dir))
            print(f"wrote {path} ({len(splits['test'])} rows)")
            if args.zip:
                print(f"wrote {C.zip_submissions(Path(args.output_dir))}")
    plot_run(args, log_path, f"clue_{task.name}", f"CLUE {task.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
