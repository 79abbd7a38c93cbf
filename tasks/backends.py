"""The two training backends behind glue/run_glue.py and squad/run_squad_v1.py: HF Trainer (torch) and PaddleNLP
Trainer (Paddle), each given the same numpy batches (tasks.batches.pad_batch), the same per-epoch sample order, the
same per-parameter learning rates and weight decay (tasks.layer_decay), and a callback that writes every log line to
metrics.jsonl.

A backend exposes: load_model(args, num_labels, head), make_trainer(args, model, train, eval, compute_metrics,
log_path, pad_id), train(trainer, resume_from_checkpoint), predictions(trainer.predict(ds)) -> numpy.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import List

import numpy as np

from reprokit import KitError
from reprokit.checkpoint import find_weights, read_config
from reprokit.loading import class_name
from tasks.batches import epoch_order, pad_batch
from tasks.layer_decay import param_rates


def _pad_to(args):
    """--pad_to_max_length: every batch padded to max_seq_length. Funnel's pooling sees padded positions (an odd
    last real token is pooled with a pad), so its outputs depend on the padded length: fixed padding makes a batch's
    result independent of how it is split (across processes, or across backends' batchings)."""
    return args.max_seq_length if getattr(args, "pad_to_max_length", False) else None


def _save_kit_model(model, out: Path) -> None:
    """A kit model's directory format (config.json + weights + manifest), written next to whatever the folder holds
    (checkpoints, trainer state): saved to a temporary folder inside it, then each file moved into place."""
    import shutil
    import tempfile
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        model.save_pretrained(Path(tmp) / "model")
        for f in (Path(tmp) / "model").iterdir():
            shutil.move(str(f), str(out / f.name))


# The encoder registry, one row per head: (label names, class-name suffix). A checkpoint of the kit's model types
# (reprokit.loading.FAMILIES) gets the kit's class (stem + suffix); any other model type (bert, roberta, ernie, ...)
# the ecosystem's Auto class of that suffix: transformers' on torch, PaddleNLP's on Paddle.
HEADS = {"global_pointer": (["labels"], None),  # an encoder + GlobalPointer head (the *.global_pointer modules)
         "sequence_classification": (["labels"], "ForSequenceClassification"),
         "question_answering": (["start_positions", "end_positions"], "ForQuestionAnswering")}


def _is_kit_model(args) -> bool:
    from reprokit.loading import FAMILIES
    return _model_type(args.model_name_or_path) in FAMILIES


def _auto_head(args) -> str:
    """The Auto class of a head (AutoModelForSequenceClassification, ...)."""
    return "AutoModel" + HEADS[_head(args)][1]


def _training_kwargs(args, eval_ds):
    """The TrainingArguments both trainers name alike, and the evaluation strategy (named differently). Label names
    are given explicitly: PaddleNLP 2.8.1 guesses them from the class name and misspells "QuestionAnswering"."""
    metric = getattr(args, "metric_for_best_model", None)
    eval_steps = getattr(args, "eval_steps", 0)
    common = dict(
        output_dir=args.output_dir, per_device_train_batch_size=args.per_device_train_batch_size,
        per_device_eval_batch_size=args.per_device_eval_batch_size, learning_rate=args.learning_rate,
        num_train_epochs=args.num_train_epochs, max_steps=args.max_steps, warmup_ratio=args.warmup_ratio,
        warmup_steps=getattr(args, "warmup_steps", 0), label_names=HEADS[_head(args)][0],
        weight_decay=args.weight_decay, gradient_accumulation_steps=args.gradient_accumulation_steps,
        lr_scheduler_type=getattr(args, "lr_scheduler_type", "linear"),
        fp16=args.fp16, bf16=args.bf16, seed=args.seed, logging_steps=args.logging_steps,
        eval_steps=eval_steps or None, save_strategy="steps" if args.save_steps else "epoch",
        save_steps=args.save_steps or 500, save_total_limit=args.save_total_limit,
        load_best_model_at_end=getattr(args, "load_best_model_at_end", False), metric_for_best_model=metric,
        greater_is_better=None if not metric else not metric.endswith("loss"),
        remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
        max_grad_norm=args.max_grad_norm, adam_epsilon=args.adam_epsilon)
    return common, "steps" if eval_steps and eval_ds is not None else ("epoch" if eval_ds is not None else "no")


def flush_denormals() -> bool:
    """Set flush-to-zero / denormals-are-zero for this (the training) thread, on both backends alike. Paddle's CPU
    kernels compute denormal floats at full cost: a GAU-alpha base step at the CLUE recipe's rate took 5x longer
    (68.3 s vs 13.5 s of train_runtime for 2 steps, bench/bench_clue.py's setting). torch exposes the switch; without
    torch installed nothing changes. Values below 1.2e-38 become 0."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.set_flush_denormal(True))


def _checked(training_arguments_class, **kw):
    """The trainer's arguments; a combination it refuses is the user's flags: one line (KitError), not a traceback."""
    try:
        return training_arguments_class(**kw)
    except ValueError as e:
        raise KitError(f"training arguments: {str(e).strip().splitlines()[0]}") from None


def _predictions(output) -> np.ndarray:
    p = output.predictions
    return np.asarray(p[0] if isinstance(p, (tuple, list)) else p)


def _predictions_pair(output):
    """(start_logits, end_logits) of a QA prediction run, [N, longest] each: the trainers pad shorter batches with
    -100, beyond every feature's offsets, so post-processing never picks them."""
    p = output.predictions
    if not isinstance(p, (tuple, list)) or len(p) < 2:
        raise ValueError("a question-answering model's predictions are (start_logits, end_logits)")
    return np.asarray(p[0]), np.asarray(p[1])


def _model_type(path) -> str:
    return read_config(path).get("model_type")


def _head(args) -> str:
    return getattr(args, "head", "sequence_classification")


def _span_head(args, num_types: int) -> dict:
    """The GlobalPointer head a span task asks for (used when the checkpoint has none yet)."""
    return dict(heads=num_types, head_size=args.head_size, rope=args.rope,
                efficient=args.global_pointer_head == "EfficientGlobalPointer")


def _class_name(args) -> str:
    """The kit's class for the checkpoint's model type and the task's head (named alike on both backends)."""
    return class_name(_model_type(args.model_name_or_path), HEADS[_head(args)][1])


def _rates(model_type, config, names, args):
    return param_rates(names, model_type, config, args.layer_lr_decay, args.weight_decay)


def jsonl_writer(log_path: Path, backend: str):
    def write(step, logs):
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"backend": backend, "step": step, **{k: v for k, v in logs.items()
                                                                     if isinstance(v, (int, float, str))}}) + "\n")
    return write


class Backend:
    """What both trainers get alike, assembled once: the kit's sample order, per-parameter rates, per-step losses,
    the metrics.jsonl callback, early stopping, the numpy collator and the kit's save format. A framework supplies
    only the pieces whose API differs (the hooks below)."""
    name = ""

    def make_trainer(self, args, model, train_ds, eval_ds, compute_metrics, log_path, pad_id):
        flush_denormals()
        fw = self.framework()
        model_type = _model_type(args.model_name_or_path)
        write = jsonl_writer(log_path, self.name)
        step_losses: List[float] = []
        backend = self

        class KitTrainer(fw.Trainer):
            def create_optimizer(self, *scheduler):  # paddle passes the lr scheduler, torch nothing
                if self.optimizer is None:
                    named = backend.trainable(self.model)
                    rates = _rates(model_type, self.model.config, [n for n, _ in named], args)
                    self.optimizer = backend.optimizer(self, named, rates, args, *scheduler)
                return self.optimizer

            def _get_train_sampler(self):
                return backend.train_sampler(self, args)

            def _save(self, output_dir=None, *a, **kw):
                backend.save(self, Path(output_dir or self.args.output_dir), *a, **kw)

            def compute_loss(self, model, inputs, return_outputs=False, **kw):
                out = super().compute_loss(model, inputs, return_outputs=return_outputs, **kw)
                if model.training:
                    step_losses.append(float((out[0] if return_outputs else out).detach()))
                return out

        class Log(fw.TrainerCallback):
            def on_log(self, a, state, control, logs=None, **kw):
                if state.is_world_process_zero:
                    write(state.global_step, logs or {})

        def collate(features):
            return {k: fw.to_tensor(v) for k, v in pad_batch(features, pad_id, pad_to=_pad_to(args)).items()}

        callbacks = [Log(), *self.reporting_callbacks(args)]
        if getattr(args, "early_stopping_patience", 0):
            callbacks.append(fw.EarlyStoppingCallback(early_stopping_patience=args.early_stopping_patience))
        common, strategy = _training_kwargs(args, eval_ds)
        trainer = KitTrainer(model=model, args=self.training_arguments(common, strategy, args, log_path),
                             train_dataset=train_ds, eval_dataset=eval_ds, data_collator=collate,
                             compute_metrics=compute_metrics, callbacks=callbacks)
        trainer.step_losses = step_losses
        return trainer

    predictions = staticmethod(_predictions)
    predictions_pair = staticmethod(_predictions_pair)


# ---- torch ------------------------------------------------------------------------------------------------------------
class TorchBackend(Backend):
    name = "torch"

    def load_model(self, args, num_labels: int):
        """transformers' Funnel class / the GAU-alpha reference, through the kit's loader: a directory written by
        either backend loads; a head of another size is re-initialised (HF's ignore_mismatched_sizes)."""
        import torch_ref
        if _head(args) == "global_pointer":  # the kit's span model on the kit's encoder or transformers' (BERT...)
            from torch_ref.global_pointer import GlobalPointerForNER
            return GlobalPointerForNER.from_pretrained(args.model_name_or_path, **_span_head(args, num_labels))
        if not _is_kit_model(args):  # the ecosystem's model (BERT, ...): transformers' Auto class
            import transformers
            if find_weights(args.model_name_or_path)[0] != "torch":
                raise KitError(f"{args.model_name_or_path}: a Paddle-layout {_model_type(args.model_name_or_path)} "
                               "checkpoint without model.safetensors: transformers reads the torch layout, which "
                               "the kit's Paddle trainer writes beside PaddleNLP's files (a directory saved by "
                               "PaddleNLP alone has none)")
            return getattr(transformers, _auto_head(args)).from_pretrained(
                args.model_name_or_path, num_labels=num_labels, ignore_mismatched_sizes=True)
        return torch_ref.from_pretrained(args.model_name_or_path, _class_name(args), allow_new_head=True,
                                         num_labels=num_labels)

    @staticmethod
    def framework():
        import torch
        import transformers as T
        return SimpleNamespace(Trainer=T.Trainer, TrainerCallback=T.TrainerCallback, to_tensor=torch.from_numpy,
                               EarlyStoppingCallback=T.EarlyStoppingCallback)

    @staticmethod
    def reporting_callbacks(args):
        return []  # HF's own integrations (report_to) work as they are

    @staticmethod
    def trainable(model):
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    @staticmethod
    def optimizer(trainer, named, rates, args):
        import torch
        groups = {}
        for n, p in named:
            groups.setdefault(rates[n], []).append(p)
        groups = [{"params": ps, "lr": args.learning_rate * s, "weight_decay": wd} for (s, wd), ps in groups.items()]
        if getattr(args, "optim", "adamw") == "adafactor":  # as HF's Trainer builds it for --optim adafactor
            from transformers.optimization import Adafactor
            return Adafactor(groups, lr=args.learning_rate, scale_parameter=False, relative_step=False)
        return torch.optim.AdamW(groups, lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2),
                                 eps=args.adam_epsilon)

    @staticmethod
    def train_sampler(trainer, args):
        import torch

        class Sampler(torch.utils.data.Sampler):
            """The kit's per-epoch order (HF's trainer calls set_epoch where it can; else each pass is an epoch)."""

            def __init__(self, n):
                self.n, self.epoch, self.calls = n, None, 0

            def set_epoch(self, epoch):
                self.epoch = int(epoch)

            def __iter__(self):
                epoch = self.calls if self.epoch is None else self.epoch
                self.calls += 1
                return iter(epoch_order(self.n, args.seed, epoch).tolist())

            def __len__(self):
                return self.n
        return Sampler(len(trainer.train_dataset))

    @staticmethod
    def save(trainer, out: Path, state_dict=None):
        import torch
        from transformers import PreTrainedModel, Trainer
        if isinstance(trainer.model, PreTrainedModel):  # transformers' Funnel: HF's own files
            return Trainer._save(trainer, str(out), state_dict)
        _save_kit_model(trainer.model, out)  # the torch GAU-alpha
        torch.save(trainer.args, str(out / "training_args.bin"))

    @staticmethod
    def training_arguments(common, strategy, args, log_path):
        import torch
        from transformers import TrainingArguments
        # HF's TrainingArguments writes --bf16 / --fp16 into os.environ["ACCELERATE_MIXED_PRECISION"] and never
        # clears it: a later fp32 run in the same process would train under bf16 autocast. The flags decide.
        os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16" if args.bf16 else ("fp16" if args.fp16 else "no")
        return _checked(TrainingArguments, **common, eval_strategy=strategy, report_to=args.report_to_torch,
                        use_cpu=not torch.cuda.is_available(), torch_compile=args.torch_compile,
                        logging_dir=str(Path(log_path).parent / "tensorboard"))

    @staticmethod
    def train(trainer, resume_from_checkpoint=None):
        """HF 4.46 reloads its own rng_state.pth with torch.load's weights_only default (True since torch 2.6),
        which refuses the numpy RNG state inside: allow exactly those numpy types, only while resuming."""
        import torch
        if not resume_from_checkpoint:
            return trainer.train()
        allowed = [np.core.multiarray._reconstruct, np.ndarray, np.dtype, type(np.dtype(np.uint32))]
        with torch.serialization.safe_globals(allowed):
            return trainer.train(resume_from_checkpoint=str(resume_from_checkpoint))


# ---- paddle -----------------------------------------------------------------------------------------------------------
class PaddleBackend(Backend):
    name = "paddle"

    def load_model(self, args, num_labels: int):
        import paddlenlp_ext  # first: paddle's CPU settings (paddlenlp_ext/_cpu.py) apply only before paddle loads
        import paddle
        if _head(args) == "global_pointer":  # the kit's span model on the kit's encoder or PaddleNLP's (BERT...)
            from paddlenlp_ext.global_pointer import GlobalPointerForNER
            with paddle.utils.unique_name.guard():
                return GlobalPointerForNER.from_pretrained(args.model_name_or_path, **_span_head(args, num_labels))
        if not _is_kit_model(args):  # the ecosystem's model (BERT, ...): PaddleNLP's Auto class, from either layout
            import paddlenlp.transformers as PT
            torch_layout = find_weights(args.model_name_or_path)[0] == "torch"
            with paddle.utils.unique_name.guard():
                return getattr(PT, _auto_head(args)).from_pretrained(
                    str(args.model_name_or_path), num_labels=num_labels, ignore_mismatched_sizes=True,
                    convert_from_torch=torch_layout)
        cls = getattr(paddlenlp_ext, _class_name(args))
        # fresh internal parameter names (embedding_0.w_0, ...) for every model: the optimizer state in a checkpoint
        # is keyed by them, so a resumed run must build the same names whatever was built before in the process
        with paddle.utils.unique_name.guard():
            return cls.from_pretrained(args.model_name_or_path, allow_new_head=True, num_labels=num_labels)

    @staticmethod
    def framework():
        import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)
        import paddle
        import paddlenlp.trainer as T
        return SimpleNamespace(Trainer=T.Trainer, TrainerCallback=T.TrainerCallback, to_tensor=paddle.to_tensor,
                               EarlyStoppingCallback=T.EarlyStoppingCallback)

    @staticmethod
    def reporting_callbacks(args):
        """PaddleNLP 2.8.1's VisualDL callback stops every run at its first step here: it records the arguments as
        hparams and VisualDL's protobuf refuses Python booleans as int values (TypeError). The same callback with
        the booleans written as 0/1 replaces it (training_arguments leaves report_to at none for it)."""
        if args.report_to_paddle != "visualdl":
            return []
        from paddlenlp.trainer.integrations import VisualDLCallback

        class VisualDL(VisualDLCallback):
            def on_train_begin(self, targs, state, control, **kw):
                if not state.is_world_process_zero:
                    return
                if self.vdl_writer is None:
                    self._init_summary_writer(targs)
                if self.vdl_writer is not None:
                    self.vdl_writer.add_text("args", targs.to_json_string())
                    self.vdl_writer.add_hparams({k: int(v) if isinstance(v, bool) else v
                                                 for k, v in targs.to_sanitized_dict().items()}, metrics_list=[])
        return [VisualDL()]

    @staticmethod
    def trainable(model):
        return [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]

    @staticmethod
    def optimizer(trainer, named, rates, args, lr_scheduler=None):
        import paddle
        decay = set()
        for n, p in named:
            scale, wd = rates[n]
            p.optimize_attr["learning_rate"] = scale  # paddle multiplies the scheduler's lr by it
            if wd:
                decay.add(p.name)
        common = dict(learning_rate=trainer.lr_scheduler if lr_scheduler is None else lr_scheduler,
                      parameters=[p for _, p in named], weight_decay=args.weight_decay,
                      apply_decay_param_fun=lambda name: name in decay,
                      grad_clip=paddle.nn.ClipGradByGlobalNorm(args.max_grad_norm) if args.max_grad_norm > 0 else None)
        if getattr(args, "optim", "adamw") == "adafactor":
            from tasks.adafactor import Adafactor
            return Adafactor(**common)
        return paddle.optimizer.AdamW(**common, beta1=args.adam_beta1, beta2=args.adam_beta2, epsilon=args.adam_epsilon)

    @staticmethod
    def train_sampler(trainer, args):
        from paddle.io import DistributedBatchSampler

        class BatchSampler(DistributedBatchSampler):
            """The kit's per-epoch order, sharded over ranks like paddle's own sampler."""

            def __iter__(self):
                order = epoch_order(len(self.dataset), args.seed, self.epoch)
                order = np.resize(order, self.total_size)[self.local_rank:self.total_size:self.nranks]
                batch = []
                for i in order.tolist():
                    batch.append(i)
                    if len(batch) == self.batch_size:
                        yield batch
                        batch = []
                if batch and not self.drop_last:
                    yield batch
        a = trainer.args
        return BatchSampler(trainer.train_dataset, batch_size=a.per_device_train_batch_size,
                            num_replicas=a.dataset_world_size, rank=a.dataset_rank, shuffle=False,
                            drop_last=a.dataloader_drop_last)

    @staticmethod
    def save(trainer, out: Path, *a, **kw):
        import paddle

        from paddlenlp_ext.ecosystem import has_mapping, save_torch_layout
        _save_kit_model(trainer.model, out)
        if not hasattr(trainer.model, "param_table") and not hasattr(trainer.model, "span_config") \
                and has_mapping(trainer.model):  # PaddleNLP's BERT, RoBERTa: transformers' layout beside its own
            save_torch_layout(trainer.model, out)
        paddle.save(trainer.args, str(out / "training_args.bin"))

    @staticmethod
    def training_arguments(common, strategy, args, log_path):
        import paddle
        from paddlenlp.trainer import TrainingArguments
        gpu = paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count()
        report_to = "none" if args.report_to_paddle == "visualdl" else args.report_to_paddle  # see reporting_callbacks
        return _checked(TrainingArguments, **common, evaluation_strategy=strategy, report_to=report_to,
                        logging_dir=str(Path(log_path).parent / "visualdl"), device="gpu" if gpu else "cpu")

    @staticmethod
    def train(trainer, resume_from_checkpoint=None):
        import paddle
        with paddle.utils.unique_name.guard():  # optimizer accumulator names (moment1_0, ...) as in the checkpoint
            return trainer.train(resume_from_checkpoint=str(resume_from_checkpoint) if resume_from_checkpoint
                                 else None)


BACKENDS = {"torch": TorchBackend, "paddle": PaddleBackend}


def get_backend(name: str):
    return BACKENDS[name]()

