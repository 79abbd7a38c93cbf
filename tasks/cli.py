"""What the task scripts share around the two backends (their arguments: tasks/arguments.py): the log folder
(args.json, metrics.jsonl written by the main process only), the run record (kit_run.json), the side files a
fine-tuned model carries, and the loss / dev-metric plot."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from reprokit import KitError


def load_named_dataset(name: str, config=None, split=None, overwrite: bool = False, origin: str = ""):
    """--dataset_name as the HF examples take it: a hub dataset name or a local loading script / folder, through
    `datasets` (a script is the user's own code, named on the command line: trusted). The library's many errors (not
    found, offline, a broken script) become one line with their root cause."""
    import datasets
    try:
        return datasets.load_dataset(name, config, split=split, trust_remote_code=True,
                                     download_mode="force_redownload" if overwrite else None)
    except Exception as e:
        cause = e
        while cause.__cause__ is not None:
            cause = cause.__cause__
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        if cause is not e:
            why += f" ({type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''})"
        raise KitError(f"--dataset_name {name}{origin}: {why}") from None


def run_reporting_errors(run, args) -> int:
    """run(args), with a KitError (bad input: file, row, key named) printed as one line and exit status 2."""
    import sys
    try:
        return run(args)
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def rank_and_world() -> tuple:
    """This process's rank and the number of processes, under torchrun or paddle.distributed.launch."""
    rank = int(os.environ.get("RANK", os.environ.get("PADDLE_TRAINER_ID", "0")))
    world = int(os.environ.get("WORLD_SIZE", os.environ.get("PADDLE_TRAINERS_NUM", "1")))
    return rank, world


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def check_output_dir(training) -> None:
    out = Path(training.output_dir)
    if training.do_train and out.exists() and any(out.iterdir()) and not (training.overwrite_output_dir or
                                                                           training.resume_from_checkpoint):
        raise KitError(f"{out}: not empty (pass --overwrite_output_dir or --resume_from_checkpoint)")


def open_log_dir(a, default: Path) -> Path:
    """The run's log folder with args.json (every parsed argument); a fresh training run starts a fresh
    metrics.jsonl (a resumed one appends). Returns the metrics.jsonl path."""
    log_dir = Path(a.kit.log_dir or default)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "metrics.jsonl"
    if is_main_process():  # shared files are written by one process of a distributed run
        (log_dir / "args.json").write_text(json.dumps(a.record(), indent=2, default=str) + "\n")
        if a.training.do_train and log_path.exists() and not a.training.resume_from_checkpoint:
            log_path.unlink()
    return log_path


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


def write_run_info(a, dest: Path, task: str, log_dir: Path, model=None) -> None:
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
    info = {"task": task, "backend": a.kit.backend, "command": a.command,
            "log_dir": str(Path(log_dir).resolve()), "git_commit": commit, "seed": a.training.seed,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}",
            "model_name_or_path": str(getattr(a.model, "model_name", None) or a.model.model_name_or_path),
            "model_path": str(a.model.model_name_or_path), "trained": bool(a.training.do_train),
            "config": model_facts(model)}
    Path(dest).mkdir(parents=True, exist_ok=True)
    (Path(dest) / "kit_run.json").write_text(json.dumps(info, indent=2) + "\n")


def write_eval_results(a, log_dir: Path, task: str, results: dict, model) -> None:
    """eval_results.json and kit_run.json in the run's log folder (main process): a run the paper tables can read."""
    if not is_main_process():
        return
    (Path(log_dir) / "eval_results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_run_info(a, log_dir, task, log_dir, model)


def train_and_save(backend, trainer, a, log_dir: Path, task: str) -> None:
    """What every task script does with --do_train: train (or resume), save the model with its tokenizer files,
    the per-step losses, and (main process) kit_run.json."""
    backend.train(trainer, a.training.resume_from_checkpoint)
    trainer.save_model(a.training.output_dir)
    save_side_files(a.model.model_name_or_path, a.training.output_dir)
    write_step_losses(log_dir, trainer.step_losses)
    if is_main_process():
        write_run_info(a, a.training.output_dir, task, log_dir, trainer.model)


def plot_run(a, log_path: Path, stem: str, title: str) -> None:
    """The run's loss / dev-metric plot as figure/<stem>_<backend>.png (main process, training runs only)."""
    if a.training.do_train and is_main_process():
        plot_log(log_path, Path(a.kit.figure_dir) / f"{stem}_{a.kit.backend}.png", f"{title}: {log_path.parent.name}")


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
