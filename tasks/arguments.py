"""The task scripts' command lines, as the ecosystems write them: each script's model and data dataclasses, the kit's
own options, and the backend's own TrainingArguments (transformers' on torch, PaddleNLP's on Paddle), parsed by that
ecosystem's parser (transformers.HfArgumentParser / paddlenlp.trainer.PdArgumentParser). So every TrainingArguments
flag works as in the HF example scripts and PaddleNLP's, with that framework's meaning.

Besides, what users bring from elsewhere: the flags the two frameworks name differently (--eval_strategy /
--evaluation_strategy, --gradient_checkpointing / --recompute) work on both; the older reproduction repos' --batch_size
(both per-device batch sizes) and --ckpt_path (run_predict.py's model); --output_dir defaults to "trainer_output" as
in current transformers. A flag only the other backend knows is one line naming it and the backend. --fp16 / --bf16
where the hardware has no support: one warning line, and float32.
"""
import argparse
import dataclasses
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from reprokit import KitError

BACKENDS = ("paddle", "torch")
DEFAULT_OUTPUT_DIR = "trainer_output"
# flag -> the name the other framework's TrainingArguments uses for the same thing
SAME_THING = {"paddle": {"--eval_strategy": "--evaluation_strategy", "--gradient_checkpointing": "--recompute"},
              "torch": {"--recompute": "--gradient_checkpointing", "--evaluation_strategy": "--eval_strategy"}}
ECOSYSTEM = {"torch": "transformers' TrainingArguments", "paddle": "PaddleNLP's TrainingArguments"}
# values one framework spells differently: --optim adamw (PaddleNLP) is adamw_torch (transformers), and back
SAME_VALUE = {"torch": {"--optim": {"adamw": "adamw_torch"}},
              "paddle": {"--optim": {v: "adamw" for v in ("adamw_torch", "adamw_hf", "adamw_torch_fused")}}}


@dataclass
class ModelArguments:
    model_name_or_path: str = field(metadata={"help": (
        "A checkpoint directory (HF/torch or Paddle layout) or a name: a registry name (python fetch.py --list), a "
        "PaddleNLP built-in name, or a hub repo id ORG/NAME; looked up in the kit's store, the Hugging Face cache, "
        "then fetched and verified")})
    revision: Optional[str] = field(default=None, metadata={"help": "Hub revision of a named model (branch, tag, "
                                                                    "commit)"})


@dataclass
class KitArguments:
    backend: str = field(default="paddle", metadata={"choices": list(BACKENDS), "help": (
        "paddle: PaddleNLP's Trainer on the kit's Paddle ports; torch: HF's Trainer on the PyTorch references")})
    layer_lr_decay: float = field(default=1.0, metadata={"help": "Layer-wise lr decay: lr x decay^(layers above); 1 "
                                                                 "= off"})
    early_stopping_patience: int = field(default=0, metadata={"help": "Stop after N evaluations without improvement "
                                                                      "(0 = off)"})
    log_dir: Optional[str] = field(default=None, metadata={"help": "The run's log folder (default: logs/<task>/"
                                                                   "<backend>)"})
    figure_dir: str = field(default="figure", metadata={"help": "Where the loss / dev-metric plot goes"})
    offline: bool = field(default=False, metadata={"help": "Use only local directories and caches (also: "
                                                           "HF_HUB_OFFLINE=1)"})


@dataclass
class Arguments:
    """What a task script parsed: one typed dataclass per concern, and what the user typed."""
    model: object
    data: object
    kit: KitArguments
    training: object                   # transformers.TrainingArguments or paddlenlp.trainer.TrainingArguments
    extra: Tuple = ()                  # further dataclasses of a script (e.g. its head's options)
    given: frozenset = frozenset()     # the flags on the command line (after the aliases above)
    command: str = ""

    def record(self) -> dict:
        """Everything, for args.json."""
        out = {}
        for part in (self.model, self.data, self.kit, *self.extra):
            out.update(dataclasses.asdict(part))
        out.update({k: v for k, v in self.training.to_dict().items()})
        return out


def _flag_names(argv: Sequence[str]) -> List[str]:
    return [a.split("=", 1)[0] for a in argv if a.startswith("--")]


def _rename(argv: Sequence[str], mapping: Dict[str, str]) -> List[str]:
    out = []
    for a in argv:
        name, eq, value = a.partition("=")
        out.append(mapping.get(name, name) + eq + value if a.startswith("--") else a)
    return out


def _revalue(argv: Sequence[str], values: Dict[str, Dict[str, str]]) -> List[str]:
    out = list(argv)
    for i, a in enumerate(out):
        name, eq, value = a.partition("=")
        if name in values:
            if eq:
                out[i] = name + "=" + values[name].get(value, value)
            elif i + 1 < len(out):
                out[i + 1] = values[name].get(out[i + 1], out[i + 1])
    return out


def seeds_flags(argv: Sequence[str], aliases: Dict[str, str]) -> List[str]:
    """The older repos' flags: --batch_size N sets both per-device batch sizes (where they are not given), and the
    script's own aliases (run_predict.py: --ckpt_path is --model_name_or_path)."""
    argv = _rename(argv, aliases)
    out, i = [], 0
    given = set(_flag_names(argv))
    while i < len(argv):
        name, eq, value = argv[i].partition("=")
        if name == "--batch_size":
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            for target in ("--per_device_train_batch_size", "--per_device_eval_batch_size"):
                if target not in given:
                    out += [target, value]
        else:
            out.append(argv[i])
        i += 1
    return out


def backend_of(argv: Sequence[str]) -> str:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--backend", choices=BACKENDS, default="paddle")
    return pre.parse_known_args(list(argv))[0].backend


def training_arguments_class(backend: str):
    if backend == "torch":
        from transformers import TrainingArguments
        return TrainingArguments
    import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings, paddlenlp_ext/_cpu.py)
    from paddlenlp.trainer import TrainingArguments
    return TrainingArguments


def _parser(backend: str, types):
    if backend == "torch":
        from transformers import HfArgumentParser as Parser
    else:
        from paddlenlp.trainer import PdArgumentParser as Parser
    return Parser(types)


def _fields(cls) -> set:
    return {f.name for f in dataclasses.fields(cls)}


def has_gpu(backend: str) -> bool:
    if backend == "torch":
        import torch
        return torch.cuda.is_available()
    import paddle
    return bool(paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count())


def _unsupported_precision(backend: str, training) -> List[str]:
    """The mixed-precision flags this machine cannot run: fp16 needs a CUDA GPU on both backends (Paddle's CPU
    GradScaler fails at the first step); bf16 runs on torch's CPU autocast, on Paddle only on a GPU."""
    if has_gpu(backend):
        return []
    return [f for f in ("fp16", "bf16") if getattr(training, f, False) and (f == "fp16" or backend == "paddle")]


def parse(script: str, data_class, argv: Optional[Sequence[str]] = None, defaults: Optional[dict] = None,
          model_class=ModelArguments, extra: Sequence = (), aliases: Optional[Dict[str, str]] = None,
          description: str = "") -> Arguments:
    """Parse a task script's command line (see the module docstring); exits 2 on an unknown flag, as argparse does."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "python " + script + " " + " ".join(_quote(a) for a in argv)
    backend = backend_of(argv)
    argv = seeds_flags(argv, aliases or {})
    ta = training_arguments_class(backend)
    mapping = {k: v for k, v in SAME_THING[backend].items() if k[2:] not in _fields(ta) and v[2:] in _fields(ta)}
    argv = _rename(argv, mapping)
    argv = _revalue(argv, SAME_VALUE[backend])
    if "--output_dir" not in _flag_names(argv):
        argv += ["--output_dir", DEFAULT_OUTPUT_DIR]
    types = [model_class, data_class, *extra, KitArguments, ta]
    parser = _parser(backend, types)
    parser.description = description
    parser.error = lambda message: _fail(parser, message)  # argparse's own errors: one line too
    parser.set_defaults(**{_name(ta, k): v for k, v in (defaults or {}).items() if _name(ta, k)})
    if backend == "paddle" and "--device" not in _flag_names(argv) and not has_gpu("paddle"):
        parser.set_defaults(device="cpu")

    def run_parser(args):
        try:
            return parser.parse_args_into_dataclasses(args=args, return_remaining_strings=True,
                                                      look_for_args_file=False)
        except ValueError as e:  # TrainingArguments' own checks (__post_init__): the user's flags, one line
            _fail(parser, f"training arguments: {' '.join(str(e).split())}")

    *parts, rest = run_parser(argv)
    if rest:
        _unknown(parser, backend, rest, types[:-1])
    training = parts[-1]
    dropped = _unsupported_precision(backend, training)
    if dropped:
        print(f"warning: --{' and --'.join(dropped)} need{'s' if len(dropped) == 1 else ''} a CUDA GPU for the "
              f"{backend} backend and none is visible: training in float32", file=sys.stderr)
        *parts, rest = run_parser(argv + [a for f in dropped for a in (f"--{f}", "False")])
        training = parts[-1]
    if parts[-2].offline:
        os.environ["REPROKIT_OFFLINE"] = "1"
    return Arguments(model=parts[0], data=parts[1], extra=tuple(parts[2:-2]), kit=parts[-2], training=training,
                     given=frozenset(_flag_names(argv)), command=command)


def _name(ta, key: str) -> Optional[str]:
    """A default's field name in this backend's TrainingArguments (eval_strategy is evaluation_strategy in
    PaddleNLP's), or the key itself for the kit's dataclasses."""
    if key in ("eval_strategy", "evaluation_strategy"):
        return next((n for n in ("eval_strategy", "evaluation_strategy") if n in _fields(ta)), None)
    return key


def _fail(parser, message: str):
    """One line and exit status 2, as for every other bad input (the usage of a few hundred flags is --help's)."""
    print(f"error: {message} (--help lists every flag)", file=sys.stderr)
    raise SystemExit(2)


def _unknown(parser, backend: str, rest: List[str], own_types) -> None:
    flags = [a for a in rest if a.startswith("--")] or rest
    other = "torch" if backend == "paddle" else "paddle"
    try:
        theirs = _fields(training_arguments_class(other))
    except ImportError:  # the other framework is not installed: nothing to compare with
        theirs = set()
    mine = set().union(*(_fields(t) for t in own_types))
    for flag in flags:
        name = flag.split("=", 1)[0][2:]
        if name in theirs and name not in mine:
            _fail(parser, f"--{name} is a flag of the {other} backend ({ECOSYSTEM[other]}); the {backend} backend "
                          f"({ECOSYSTEM[backend]}) has no such argument")
    _fail(parser, "unrecognized arguments: " + " ".join(rest))


def _quote(a: str) -> str:
    import shlex
    return shlex.quote(str(a))


def eval_strategy(training) -> str:
    """The evaluation strategy, whichever framework's name it has ("no", "steps", "epoch")."""
    value = getattr(training, "eval_strategy", None) or getattr(training, "evaluation_strategy", "no")
    return str(getattr(value, "value", value))


def set_eval_strategy(training, value: str) -> None:
    for name in ("eval_strategy", "evaluation_strategy"):
        if hasattr(training, name):
            cls = type(getattr(training, name))
            setattr(training, name, cls(value) if cls is not str else value)
            return


def require_model_path(model) -> None:
    """Resolve model.model_name_or_path (a directory or a name, artifacts.names) to a local folder, once; the name as
    given is kept in model.model_name."""
    from artifacts.names import resolve_model
    if getattr(model, "model_name", None) is None:
        model.model_name = model.model_name_or_path
        model.model_name_or_path = str(resolve_model(model.model_name_or_path, model.revision))


def decide_steps(a: Arguments, train_possible: bool = True) -> None:
    """No --do_train / --do_eval / --do_predict given: train and evaluate (what the older repos' commands meant;
    HF's examples would silently do nothing); --num_train_epochs 0 evaluates only."""
    t = a.training
    if not ({"--do_train", "--do_eval", "--do_predict"} & a.given):
        t.do_train, t.do_eval = train_possible, True
        print(f"no --do_train / --do_eval / --do_predict given: {'training and ' if train_possible else ''}"
              "evaluating", file=sys.stderr)
    if t.do_train and t.num_train_epochs == 0 and (t.max_steps is None or t.max_steps <= 0):
        t.do_train, t.do_eval = False, True
        print("--num_train_epochs 0: evaluating only", file=sys.stderr)
