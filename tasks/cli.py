"""What the task scripts (glue/run_glue.py, squad/run_squad_v1.py) share around the two backends: the HF-style
training arguments, the reporting integrations, the tokenizer of a checkpoint, the log folder (args.json, metrics.jsonl
written by the main process only), the side files a fine-tuned model carries, and the loss / dev-metric plot."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from reprokit import KitError


def add_training_args(ap, max_seq_length: int = 128, batch_size: int = 8, learning_rate: float = 2e-5,
                      epochs: float = 3.0) -> None:
    a = ap.add_argument
    a("--backend", choices=["paddle", "torch"], default="paddle")
    a("--model_name_or_path", required=True, help="a local checkpoint directory (HF/torch or Paddle)")
    a("--output_dir", required=True)
    a("--overwrite_output_dir", action="store_true")
    a("--do_train", action="store_true")
    a("--do_eval", action="store_true")
    a("--do_predict", action="store_true")
    a("--max_seq_length", type=int, default=max_seq_length)
    a("--pad_to_max_length", action="store_true", help="pad every batch to max_seq_length (default: dynamic)")
    a("--per_device_train_batch_size", type=int, default=batch_size)
    a("--per_device_eval_batch_size", type=int, default=32)
    a("--learning_rate", type=float, default=learning_rate)
    a("--num_train_epochs", type=float, default=epochs)
    a("--max_steps", type=int, default=-1)
    a("--warmup_ratio", type=float, default=0.0)
    a("--warmup_steps", type=int, default=0, help="wins over --warmup_ratio when > 0")
    a("--weight_decay", type=float, default=0.0)
    a("--layer_lr_decay", type=float, default=1.0, help="lr x decay^(layers above); 1 = off")
    a("--optim", choices=["adamw", "adafactor"], default="adamw",
      help="adafactor: HF's Adafactor on torch, the same algorithm on Paddle (tasks/adafactor.py)")
    a("--lr_scheduler_type", choices=["linear", "constant", "cosine"], default="linear")
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
    a("--save_steps", type=int, default=0, help="checkpoint every N steps (0: every epoch)")
    a("--save_total_limit", type=int, default=2)
    a("--resume_from_checkpoint", default=None)
    a("--max_train_samples", type=int, default=None)
    a("--max_eval_samples", type=int, default=None)
    a("--log_dir", default=None)
    a("--figure_dir", default="figure", help="where the loss / dev-metric plot goes")
    a("--report_to", default=None, help="tensorboard (torch) / visualdl (paddle) / none; default: what is installed")


def run_reporting_errors(run, args) -> int:
    """run(args), with a KitError (bad input: file, row, key named) printed as one line and exit status 2."""
    import sys
    try:
        return run(args)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def check_best_model_args(args) -> None:
    """--load_best_model_at_end reloads one of the saved checkpoints, so they are saved whenever the run evaluates
    (HF's and PaddleNLP's rule, checked here before anything is written): --eval_steps alone saves at the same steps;
    --save_steps must be a multiple of --eval_steps."""
    if not getattr(args, "load_best_model_at_end", False):
        return
    if args.eval_steps and not args.save_steps:
        args.save_steps = args.eval_steps
    elif args.eval_steps and args.save_steps % args.eval_steps:
        raise KitError(f"--load_best_model_at_end: --save_steps {args.save_steps} must be a multiple of --eval_steps "
                       f"{args.eval_steps}")
    elif args.save_steps and not args.eval_steps:
        raise KitError("--load_best_model_at_end: with --save_steps, pass --eval_steps too (a divisor of it), or "
                       "neither (both per epoch)")


def set_report_to(args) -> None:
    """args.report_to_torch (a list for HF) and args.report_to_paddle (a string for PaddleNLP)."""
    if args.report_to:
        args.report_to_torch, args.report_to_paddle = ([] if args.report_to == "none" else [args.report_to]), \
            args.report_to
        return
    args.report_to_torch = ["tensorboard"] if importlib.util.find_spec("tensorboard") else []
    args.report_to_paddle = "visualdl" if importlib.util.find_spec("visualdl") else "none"


def rank_and_world() -> tuple:
    """This process's rank and the number of processes, under torchrun or paddle.distributed.launch."""
    rank = int(os.environ.get("RANK", os.environ.get("PADDLE_TRAINER_ID", "0")))
    world = int(os.environ.get("WORLD_SIZE", os.environ.get("PADDLE_TRAINERS_NUM", "1")))
    return rank, world


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def check_output_dir(args) -> None:
    out = Path(args.output_dir)
    if args.do_train and out.exists() and any(out.iterdir()) and not (args.overwrite_output_dir or
                                                                       args.resume_from_checkpoint):
        raise KitError(f"{out}: not empty (pass --overwrite_output_dir or --resume_from_checkpoint)")


def open_log_dir(args, default: Path) -> Path:
    """The run's log folder with args.json; a fresh training run starts a fresh metrics.jsonl (a resumed one appends).
    Returns the metrics.jsonl path."""
    log_dir = Path(args.log_dir or default)
    log_dir.mkdir(parents=True, exist_ok=True)
    set_report_to(args)
    log_path = log_dir / "metrics.jsonl"
    if is_main_process():  # shared files are written by one process of a distributed run
        (log_dir / "args.json").write_text(json.dumps(vars(args), indent=2, default=str) + "\n")
        if args.do_train and log_path.exists() and not args.resume_from_checkpoint:
            log_path.unlink()
    return log_path


def command_line(script: str, argv=None) -> str:
    """The command as a user would type it again: `python glue/run_glue.py --flag value ...`."""
    import shlex
    import sys
    return "python " + script + " " + " ".join(shlex.quote(str(a)) for a in (sys.argv[1:] if argv is None else argv))


MODEL_FACTS = ("model_type", "d_model", "hidden_size", "num_hidden_layers", "block_sizes", "block_repeats",
               "num_attention_heads", "n_head", "vocab_size")


def model_facts(model) -> dict:
    """What a paper table needs to know about the model a run used (type and shape), from its config."""
    config = getattr(model, "config", None)
    if config is None:
        return {}
    d = config.to_dict() if hasattr(config, "to_dict") else dict(vars(config))
    out = {k: d[k] for k in MODEL_FACTS if d.get(k) is not None}
    out = {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
    if "model_type" not in out and getattr(config, "model_type", None):
        out["model_type"] = config.model_type
    return out


def write_run_info(args, dest: Path, task: str, log_dir: Path, model=None) -> None:
    """kit_run.json in `dest` (beside a fine-tuned model, and in the run's log folder): what produced it (command,
    git commit, date, machine, seed, the model's type and shape) and where its logs are; what fetch.py --publish
    and the paper tables (tables.py) read."""
    import datetime
    import platform
    import subprocess
    here = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    info = {"task": task, "backend": args.backend, "command": getattr(args, "command", None),
            "log_dir": str(Path(log_dir).resolve()), "git_commit": commit, "seed": args.seed,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
            "model_name_or_path": str(args.model_name_or_path), "trained": bool(getattr(args, "do_train", False)),
            "config": model_facts(model)}
    Path(dest).mkdir(parents=True, exist_ok=True)
    (Path(dest) / "kit_run.json").write_text(json.dumps(info, indent=2) + "\n")


def write_eval_results(args, log_dir: Path, task: str, results: dict, model) -> None:
    """eval_results.json and kit_run.json in the run's log folder (main process): a run the paper tables can read."""
    if not is_main_process():
        return
    (Path(log_dir) / "eval_results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_run_info(args, log_dir, task, log_dir, model)


def train_and_save(backend, trainer, args, log_dir: Path, task: str) -> None:
    """What every task script does with --do_train: train (or resume), save the model with its tokenizer files,
    the per-step losses, and (main process) kit_run.json."""
    backend.train(trainer, args.resume_from_checkpoint)
    trainer.save_model(args.output_dir)
    save_side_files(args.model_name_or_path, args.output_dir)
    write_step_losses(log_dir, trainer.step_losses)
    if is_main_process():
        write_run_info(args, args.output_dir, task, log_dir, trainer.model)


def plot_run(args, log_path: Path, stem: str, title: str) -> None:
    """The run's loss / dev-metric plot as figure/<stem>_<backend>.png (main process, training runs only)."""
    if args.do_train and is_main_process():
        plot_log(log_path, Path(args.figure_dir) / f"{stem}_{args.backend}.png", f"{title}: {log_path.parent.name}")


def write_step_losses(log_dir: Path, losses) -> None:
    """Each process of a distributed run logs its own shard's losses."""
    rank, world = rank_and_world()
    name = "step_losses.json" if world == 1 else f"step_losses.rank{rank}.json"
    (log_dir / name).write_text(json.dumps(losses) + "\n")


def save_side_files(src, dst) -> None:
    """Tokenizer and vocab files travel with the fine-tuned model (prediction scripts and users need them)."""
    src, dst = Path(src), Path(dst)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


def plot_log(log_path: Path, figure: Path, title: str) -> None:
    """Train loss and every logged dev metric against the step, from metrics.jsonl."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    loss = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    skip = ("eval_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "eval_steps")
    evals = [(r["step"], k, r[k]) for r in rows for k in r if k.startswith("eval_") and k not in skip
             and isinstance(r[k], (int, float))]
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
    ax.set_title(title)
    figure.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    tmp = figure.with_name(f".{figure.name}.{os.getpid()}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, figure)
