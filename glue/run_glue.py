"""Fine-tune and evaluate a Funnel or GAU-alpha checkpoint on a GLUE task, on either backend.

    python glue/run_glue.py --backend paddle --model_name_or_path path/to/funnel-xlarge --task_name QNLI \\
        --data_dir glue_data/QNLI --output_dir out/qnli --do_train --do_eval --per_device_train_batch_size 24 \\
        --learning_rate 1e-5 --num_train_epochs 4 --max_seq_length 128 --layer_lr_decay 0.8 --weight_decay 0.01 \\
        --warmup_ratio 0.1

Data: the raw GLUE folder of the task (--data_dir, TSV as downloaded) or local HF-datasets files (--train_file,
--validation_file, --test_file: json/jsonl/csv/parquet). The same featurised numpy batches and the same per-epoch
order feed both backends (HF Trainer for torch, PaddleNLP Trainer for Paddle); per-parameter learning rates (layer-wise
decay) and weight decay come from one table (reprokit/layer_decay.py). Logs: <log_dir>/args.json, metrics.jsonl,
step_losses.json, TensorBoard / VisualDL events, and a loss / dev-metric plot under figure/.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reprokit import KitError  # noqa: E402
from reprokit import glue as G  # noqa: E402


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a = ap.add_argument
    a("--backend", choices=["paddle", "torch"], default="paddle")
    a("--model_name_or_path", required=True, help="a local checkpoint directory (HF/torch or Paddle)")
    a("--task_name", required=True)
    a("--data_dir", help="the task's raw GLUE folder (train.tsv, dev.tsv, test.tsv; MNLI: dev_matched, ...)")
    a("--train_file")
    a("--validation_file")
    a("--test_file")
    a("--output_dir", required=True)
    a("--overwrite_output_dir", action="store_true")
    a("--do_train", action="store_true")
    a("--do_eval", action="store_true")
    a("--do_predict", action="store_true", help="also write the leaderboard files (see run_predict.py)")
    a("--max_seq_length", type=int, default=128)
    a("--pad_to_max_length", action="store_true", help="pad every batch to max_seq_length (default: dynamic)")
    a("--per_device_train_batch_size", type=int, default=8)
    a("--per_device_eval_batch_size", type=int, default=32)
    a("--learning_rate", type=float, default=2e-5)
    a("--num_train_epochs", type=float, default=3.0)
    a("--max_steps", type=int, default=-1)
    a("--warmup_ratio", type=float, default=0.0)
    a("--weight_decay", type=float, default=0.0)
    a("--layer_lr_decay", type=float, default=1.0, help="lr x decay^(layers above); 1 = off")
    a("--adam_beta1", type=float, default=0.9)
    a("--adam_beta2", type=float, default=0.999)
    a("--adam_epsilon", type=float, default=1e-8)
    a("--max_grad_norm", type=float, default=1.0)
    a("--gradient_accumulation_steps", type=int, default=1)
    a("--fp16", action="store_true")
    a("--bf16", action="store_true")
    a("--torch_compile", action="store_true", help="torch backend: torch.compile the model")
    a("--seed", type=int, default=42)
    a("--logging_steps", type=int, default=50)
    a("--eval_steps", type=int, default=0, help="evaluate every N steps (0: every epoch)")
    a("--save_steps", type=int, default=0, help="checkpoint every N steps (0: every epoch)")
    a("--save_total_limit", type=int, default=2)
    a("--load_best_model_at_end", action="store_true")
    a("--metric_for_best_model", default=None, help="e.g. accuracy, matthews_correlation, combined_score")
    a("--early_stopping_patience", type=int, default=0)
    a("--resume_from_checkpoint", default=None)
    a("--max_train_samples", type=int, default=None)
    a("--max_eval_samples", type=int, default=None)
    a("--skip_bad_rows", action="store_true", help="skip malformed TSV rows (counted) instead of failing")
    a("--log_dir", default=None, help="default: logs/glue/<task>/<backend>")
    a("--figure_dir", default="figure", help="where the loss / dev-metric plot goes")
    a("--report_to", default=None, help="tensorboard (torch) / visualdl (paddle) / none; default: what is installed")
    args = ap.parse_args(argv)
    if args.load_best_model_at_end and not args.metric_for_best_model:
        args.metric_for_best_model = "loss"
    return args


def _report_to(args):
    import importlib.util
    if args.report_to:
        return ([] if args.report_to == "none" else [args.report_to]), args.report_to
    torch_rt = ["tensorboard"] if importlib.util.find_spec("tensorboard") else []
    paddle_rt = "visualdl" if importlib.util.find_spec("visualdl") else "none"
    return torch_rt, paddle_rt


def load_examples(args, task):
    """{"train": [...], "dev": {name: [...]}, "test": {name: [...]}} for the splits the run needs."""
    data = {"dev": {}, "test": {}}
    reports = []

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


def tokenizer_for(path):
    from reprokit.checkpoint import read_config
    if read_config(path).get("model_type") == "gau_alpha":
        from reprokit.tokenization import GAUAlphaTokenizer
        return GAUAlphaTokenizer.from_pretrained(path, pair_token_types="zeros")  # the GAU-alpha recipe
    from transformers import AutoTokenizer
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as e:
        raise KitError(f"{path}: no tokenizer files ({e})") from None


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    from glue.backends import FeatureDataset, get_backend
    task = G.get_task(args.task_name)
    out = Path(args.output_dir)
    if args.do_train and out.exists() and any(out.iterdir()) and not (args.overwrite_output_dir or
                                                                       args.resume_from_checkpoint):
        raise KitError(f"{out}: not empty (pass --overwrite_output_dir or --resume_from_checkpoint)")
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

    log_dir = Path(args.log_dir or Path("logs") / "glue" / task.name / args.backend)
    log_dir.mkdir(parents=True, exist_ok=True)
    args.report_to_torch, args.report_to_paddle = _report_to(args)
    main_process = int(os.environ.get("RANK", os.environ.get("PADDLE_TRAINER_ID", "0"))) == 0
    log_path = log_dir / "metrics.jsonl"
    if main_process:  # shared files are written by one process of a distributed run
        (log_dir / "args.json").write_text(json.dumps(vars(args), indent=2) + "\n")
        if args.do_train and log_path.exists() and not args.resume_from_checkpoint:
            log_path.unlink()

    backend = get_backend(args.backend)
    model = backend.load_model(args, num_labels)

    def compute_metrics(p):
        preds = p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions
        return G.compute_metrics(task, preds, p.label_ids)

    trainer = backend.make_trainer(args, model, train_ds, first_dev, compute_metrics, log_path, pad_id)
    results = {}
    if args.do_train:
        backend.train(trainer, args.resume_from_checkpoint)
        trainer.save_model(args.output_dir)
        _save_side_files(args.model_name_or_path, args.output_dir)
        rank = int(os.environ.get("RANK", "0"))  # each process of a distributed run logs its own shard's losses
        name = "step_losses.json" if int(os.environ.get("WORLD_SIZE", "1")) == 1 else f"step_losses.rank{rank}.json"
        (log_dir / name).write_text(json.dumps(trainer.step_losses) + "\n")
    if args.do_eval or args.do_train:
        for name, ds in dev.items():
            prefix = "eval" if name in ("dev", "dev_matched") else "eval_mm"
            m = trainer.evaluate(eval_dataset=ds, metric_key_prefix=prefix)
            results[name] = {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}
        if main_process:
            (log_dir / "eval_results.json").write_text(json.dumps(results, indent=2) + "\n")
        for name, m in results.items():
            print(f"{task.name} {name}: " + ", ".join(f"{k}={v:.4f}" for k, v in m.items() if k.startswith("eval")))
    if args.do_predict:
        from glue.run_predict import write_predictions
        write_predictions(task, trainer, backend, data["test"], tok, args.max_seq_length, Path(args.output_dir),
                          write=main_process)
    if args.do_train and main_process:
        _plot(log_path, Path(args.figure_dir) / f"glue_{task.name}_{args.backend}.png", task)
    return 0


def _save_side_files(src, dst):
    """Tokenizer and vocab files travel with the fine-tuned model (run_predict.py and users need them)."""
    import shutil
    src, dst = Path(src), Path(dst)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


def _plot(log_path: Path, figure: Path, task) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    loss = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["step"], k, r[k]) for r in rows for k in r if k.startswith("eval_") and k not in
             ("eval_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "eval_steps")]
    fig, ax = plt.subplots(figsize=(7, 4))
    if loss:
        ax.plot(*zip(*loss), label="train loss", color="tab:blue")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if evals:
        ax2 = ax.twinx()
        for key in sorted({k for _, k, _ in evals}):
            pts = [(s, v) for s, k, v in evals if k == key]
            ax2.plot(*zip(*pts), marker="o", label=key)
        ax2.set_ylabel("dev metric")
        ax2.legend(loc="lower right", fontsize=8)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(f"GLUE {task.name}: {log_path.parent.name}")
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = figure.with_name(f".{figure.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, figure)


if __name__ == "__main__":
    sys.exit(main())
