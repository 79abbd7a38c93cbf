"""Predict a GLUE test split with a fine-tuned checkpoint and write the leaderboard files.

    python glue/run_predict.py --backend paddle --model_name_or_path out/mnli --task_name MNLI \\
        --data_dir glue_data/MNLI --output_dir submission        # -> MNLI-m.tsv, MNLI-mm.tsv
    python glue/run_predict.py --model_name_or_path out/mnli --task_name AX --data_dir glue_data/diagnostic \\
        --output_dir submission                                   # AX.tsv from the MNLI model
    ... --zip                                                     # also submission.zip with every .tsv in the folder

Files: `index<TAB>prediction` with a header; 0/1 for CoLA, SST-2, MRPC, QQP, WNLI; a score with 3 decimals for STS-B;
entailment/neutral/contradiction for MNLI-m, MNLI-mm, AX; entailment/not_entailment for QNLI and RTE.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path


from glue import data as G
from glue.run_glue import load_examples, parse_args, write_predictions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=["paddle", "torch"], default="paddle")
    ap.add_argument("--model_name_or_path", required=True, help="a fine-tuned checkpoint directory")
    ap.add_argument("--task_name", required=True)
    ap.add_argument("--data_dir", help="the task's raw GLUE folder (test.tsv; MNLI test_matched/mismatched; AX.tsv)")
    ap.add_argument("--test_file", help="or a local HF-datasets file of the test split")
    ap.add_argument("--output_dir", required=True)
    ap.add_argument("--max_seq_length", type=int, default=128)
    ap.add_argument("--per_device_eval_batch_size", type=int, default=32)
    ap.add_argument("--zip", action="store_true", help="also write <output_dir>.zip with every .tsv in output_dir")
    from tasks.cli import run_reporting_errors
    return run_reporting_errors(run, ap.parse_args(argv))


def run(args) -> int:
    from tasks.backends import get_backend
    from tasks.tokenization import tokenizer_for
    task = G.get_task(args.task_name)
    targs = parse_args(["--backend", args.backend, "--model_name_or_path", args.model_name_or_path, "--task_name",
                        args.task_name, "--output_dir", args.output_dir, "--do_predict",
                        "--per_device_eval_batch_size", str(args.per_device_eval_batch_size), "--report_to", "none",
                        *(["--data_dir", args.data_dir] if args.data_dir else []),
                        *(["--test_file", args.test_file] if args.test_file else [])])
    targs.report_to_torch, targs.report_to_paddle = [], "none"
    data, _ = load_examples(targs, task)
    tok = tokenizer_for(args.model_name_or_path)
    backend = get_backend(args.backend)
    num_labels = 1 if task.labels is None else len(task.labels)
    model = backend.load_model(targs, num_labels)
    log = Path(args.output_dir) / ".predict_log.jsonl"
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    # a compute_metrics is needed: without one PaddleNLP's predict() returns no predictions
    trainer = backend.make_trainer(targs, model, None, None, lambda p: {}, log, getattr(tok, "pad_token_id", 0) or 0)
    write_predictions(task, trainer, backend, data["test"], tok, args.max_seq_length, Path(args.output_dir))
    log.unlink(missing_ok=True)
    if args.zip:
        out = Path(args.output_dir)
        with zipfile.ZipFile(out.with_suffix(".zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(out.glob("*.tsv")):
                z.write(f, f.name)
        print(f"wrote {out.with_suffix('.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
