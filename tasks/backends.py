"""The two training backends behind glue/run_glue.py and squad/run_squad_v1.py: HF Trainer (torch) and PaddleNLP
Trainer (Paddle), each given the same numpy batches (tasks.batches.pad_batch), the same per-epoch sample order, the
same per-parameter learning rates and weight decay (tasks.layer_decay), and a callback that writes every log line to
metrics.jsonl.

A backend exposes: load_model(path, head, num_labels, span), make_trainer(training, kit, head, model, train, eval,
compute_metrics, log_path, pad_id, pad_to), train(trainer, resume_from_checkpoint), predictions(trainer.predict(ds))
-> numpy. `training` is the parsed TrainingArguments of the backend's own framework (tasks/arguments.py), `kit` the
kit's options (KitArguments).
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import List, Optional, Tuple

import numpy as np

from reprokit import KitError
from reprokit.checkpoint import find_weights, read_config
from reprokit.loading import class_name
from tasks.batches import epoch_order, pad_batch
from tasks.layer_decay import param_rates


def pad_length(data) -> Optional[int]:
    """--pad_to_max_length: every batch padded to max_seq_length. Funnel's pooling sees padded positions (an odd
    last real token is pooled with a pad), so its outputs depend on the padded length: fixed padding makes a batch's
    result independent of how it is split (across processes, or across backends' batchings)."""
    return data.max_seq_length if getattr(data, "pad_to_max_length", False) else None


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


@dataclass(frozen=True)
class Head:
    """A task head: the label names the trainers pass (given explicitly: PaddleNLP 2.8.1 guesses them from the class
    name and misspells "QuestionAnswering"), the class-name suffix (None: the kit's span model) and the outputs its
    predictions need - all the prediction step keeps, so nothing else a model returns (PaddleNLP's key/value cache
    when config.use_cache is set, hidden states) is gathered across batches of different lengths."""
    labels: Tuple[str, ...]
    suffix: Optional[str]
    outputs: Tuple[str, ...]
    # what predict() gathers instead of the outputs, a backend method (None: the outputs themselves)
    predicted: Optional[str] = None


# The encoder registry, one row per head. A checkpoint of the kit's model types (reprokit.loading.FAMILIES) gets the
# kit's class (stem + suffix); any other model type (bert, roberta, ernie, ...) the ecosystem's Auto class of that
# suffix: transformers' on torch, PaddleNLP's on Paddle.
HEADS = {"global_pointer": Head(("labels",), None, ("logits",), "span_candidates"),  # an encoder + GlobalPointer
         "sequence_classification": Head(("labels",), "ForSequenceClassification", ("logits",)),
         "question_answering": Head(("start_positions", "end_positions"), "ForQuestionAnswering",
                                    ("start_logits", "end_logits"))}


def _is_kit_model(path) -> bool:
    from reprokit.loading import FAMILIES
    return _model_type(path) in FAMILIES


def _auto_head(head: str) -> str:
    """The Auto class of a head (AutoModelForSequenceClassification, ...)."""
    return "AutoModel" + HEADS[head].suffix


class HeadOutputs:
    """The model as the trainers' prediction step calls it: only the loss and the head's outputs come back (as a
    dict, which both trainers read by key)."""

    def __init__(self, model, keep: Tuple[str, ...], reduce=None):
        self.model, self.keep, self.reduce = model, keep, reduce
        self.wants_return_dict = "return_dict" in inspect.signature(model.forward).parameters

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, **inputs):
        out = self.model(**inputs, **({"return_dict": True} if self.wants_return_dict else {}))
        if not isinstance(out, dict):
            raise KitError(f"{type(self.model).__name__} returned a {type(out).__name__}: the kit's trainers read "
                           "its outputs by name (a ModelOutput, return_dict=True)")
        kept = {k: out[k] for k in ("loss",) + self.keep if k in out and out[k] is not None}
        if self.reduce is not None:
            kept["logits"] = self.reduce(kept["logits"], inputs["attention_mask"])
        return kept


def prepare_training_arguments(training, head: str, eval_ds, log_dir: Path, evaluate_each_epoch: bool,
                               logging_dir_given: bool) -> None:
    """What the kit sets in the parsed TrainingArguments before a trainer gets them: the head's label names, the
    numpy batches' columns kept, evaluation only where a dev set is (each epoch when training and no strategy was
    asked for, as the kit always did), TensorBoard / VisualDL events in the run's log folder."""
    from tasks.arguments import eval_strategy, set_eval_strategy
    training.label_names = list(HEADS[head].labels)
    training.remove_unused_columns = False
    if eval_ds is None:
        if training.load_best_model_at_end:
            raise KitError("--load_best_model_at_end needs a dev set to evaluate on (none was read)")
        set_eval_strategy(training, "no")
    elif evaluate_each_epoch and training.do_train and eval_strategy(training) == "no":
        set_eval_strategy(training, "epoch")
    if not logging_dir_given:
        training.logging_dir = str(log_dir / ("tensorboard" if hasattr(training, "use_cpu") else "visualdl"))


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


def _class_name(path, head: str) -> str:
    """The kit's class for the checkpoint's model type and the task's head (named alike on both backends)."""
    return class_name(_model_type(path), HEADS[head].suffix)


def optimizer_name(training) -> str:
    """--optim as the kit builds it: "adamw" (HF's adamw_torch / adamw_hf / ..., PaddleNLP's adamw) or "adafactor"."""
    name = str(getattr(training.optim, "value", training.optim))
    if name == "adafactor":
        return name
    if name.startswith("adamw"):
        return "adamw"
    raise KitError(f"--optim {name}: the kit's trainers build adamw or adafactor (with the per-parameter rates of "
                   "--layer_lr_decay and --weight_decay)")


def jsonl_writer(log_path: Path, backend: str):
    def write(step, logs):
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"backend": backend, "step": step, **{k: v for k, v in logs.items()
                                                                     if isinstance(v, (int, float, str))}}) + "\n")
    return write


class Backend:
    """What both trainers get alike, assembled once: the kit's sample order, per-parameter rates, per-step losses,
    the metrics.jsonl callback, early stopping, the numpy collator, the head's outputs only in predictions, and the
    kit's save format. A framework supplies only the pieces whose API differs (the hooks below)."""
    name = ""

    def make_trainer(self, training, kit, head: str, model, train_ds, eval_ds, compute_metrics, log_path, pad_id,
                     pad_to: Optional[int] = None, metrics_reducer=None):
        """A trainer over the parsed `training` arguments (TrainingArguments of this backend's framework, prepared
        by prepare_training_arguments) and the kit's options `kit` (KitArguments). metrics_reducer(logits, labels)
        -> (logits, labels): what evaluate() keeps per batch for compute_metrics (predict() keeps the outputs)."""
        flush_denormals()
        self.check_recompute(training, model)
        fw = self.framework()
        model_type = _model_type_of(model)
        write = jsonl_writer(log_path, self.name)
        step_losses: List[float] = []
        backend, keep, predicted = self, HEADS[head].outputs, HEADS[head].predicted

        class KitTrainer(fw.Trainer):
            for_metrics = False

            def create_optimizer(self, *scheduler):  # paddle passes the lr scheduler, torch nothing
                if self.optimizer is None:
                    named = backend.trainable(self.model)
                    rates = param_rates([n for n, _ in named], model_type, self.model.config, kit.layer_lr_decay,
                                        training.weight_decay)
                    self.optimizer = backend.optimizer(self, named, rates, training, *scheduler)
                return self.optimizer

            def _get_train_sampler(self, *a):
                return backend.train_sampler(self, training.seed)

            def _save(self, output_dir=None, *a, **kw):
                backend.save(self, Path(output_dir or self.args.output_dir), *a, **kw)

            def compute_loss(self, model, inputs, return_outputs=False, **kw):
                out = super().compute_loss(model, inputs, return_outputs=return_outputs, **kw)
                if model.training:
                    step_losses.append(float((out[0] if return_outputs else out).detach()))
                return out

            def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
                reduce = getattr(backend, predicted) if predicted and not self.for_metrics else None
                loss, logits, labels = super().prediction_step(HeadOutputs(model, keep, reduce), inputs,
                                                               prediction_loss_only, ignore_keys)
                if self.for_metrics and metrics_reducer is not None and logits is not None and labels is not None:
                    logits, labels = metrics_reducer(logits, labels)
                return loss, logits, labels

            def evaluate(self, *a, **kw):
                self.for_metrics = True
                try:
                    return super().evaluate(*a, **kw)
                finally:
                    self.for_metrics = False

        class Log(fw.TrainerCallback):
            def on_log(self, a, state, control, logs=None, **kw):
                if state.is_world_process_zero:
                    write(state.global_step, logs or {})

        def collate(features):
            return {k: fw.to_tensor(v) for k, v in pad_batch(features, pad_id, pad_to=pad_to).items()}

        callbacks = [Log(), *self.reporting_callbacks(training)]
        if kit.early_stopping_patience:
            callbacks.append(fw.EarlyStoppingCallback(early_stopping_patience=kit.early_stopping_patience))
        self.check_training_arguments(training)
        trainer = KitTrainer(model=model, args=training, train_dataset=train_ds, eval_dataset=eval_ds,
                             data_collator=collate, compute_metrics=compute_metrics, callbacks=callbacks)
        trainer.step_losses = step_losses
        return trainer

    predictions = staticmethod(_predictions)
    predictions_pair = staticmethod(_predictions_pair)


def _model_type_of(model) -> str:
    config = getattr(model, "config", None)
    return getattr(config, "model_type", None) or (config.get("model_type") if isinstance(config, dict) else "")


# ---- torch ------------------------------------------------------------------------------------------------------------
class TorchBackend(Backend):
    name = "torch"

    def load_model(self, path, head: str, num_labels: int, span: Optional[dict] = None):
        """transformers' Funnel class / the GAU-alpha reference, through the kit's loader: a directory written by
        either backend loads; a head of another size is re-initialised (HF's ignore_mismatched_sizes)."""
        import torch_ref
        if head == "global_pointer":  # the kit's span model on the kit's encoder or transformers' (BERT...)
            from torch_ref.global_pointer import GlobalPointerForNER
            return GlobalPointerForNER.from_pretrained(path, **span)
        if not _is_kit_model(path):  # the ecosystem's model (BERT, ...): transformers' Auto class
            import transformers
            if find_weights(path)[0] != "torch":
                raise KitError(f"{path}: a Paddle-layout {_model_type(path)} checkpoint without model.safetensors: "
                               "transformers reads the torch layout, which the kit's Paddle trainer writes beside "
                               "PaddleNLP's files (a directory saved by PaddleNLP alone has none)")
            return getattr(transformers, _auto_head(head)).from_pretrained(
                str(path), num_labels=num_labels, ignore_mismatched_sizes=True)
        return torch_ref.from_pretrained(path, _class_name(path, head), allow_new_head=True, num_labels=num_labels)

    @staticmethod
    def framework():
        import torch
        import transformers as T
        return SimpleNamespace(Trainer=T.Trainer, TrainerCallback=T.TrainerCallback, to_tensor=torch.from_numpy,
                               EarlyStoppingCallback=T.EarlyStoppingCallback)

    @staticmethod
    def check_training_arguments(training):
        # HF's TrainingArguments writes --bf16 / --fp16 into os.environ["ACCELERATE_MIXED_PRECISION"] and never
        # clears it: a later fp32 run in the same process would train under bf16 autocast. The flags decide.
        os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16" if training.bf16 else ("fp16" if training.fp16 else "no")

    @staticmethod
    def reporting_callbacks(training):
        return []  # HF's own integrations (report_to) work as they are

    @staticmethod
    def check_recompute(training, model):
        """--gradient_checkpointing (alias --recompute): HF's Trainer calls gradient_checkpointing_enable(); a class
        without it (transformers' Funnel, the span models) is one line here rather than a traceback mid-run."""
        if not training.gradient_checkpointing:
            return
        if not getattr(model, "supports_gradient_checkpointing", False):
            raise KitError(f"{type(model).__name__} has no gradient checkpointing on the torch backend (transformers' "
                           "Funnel does not implement it); drop --gradient_checkpointing, or use --backend paddle "
                           "--recompute")
        print(f"gradient checkpointing: on ({type(model).__name__}, transformers' gradient_checkpointing_enable)")

    @staticmethod
    def trainable(model):
        return [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    @staticmethod
    def optimizer(trainer, named, rates, training):
        import torch
        groups = {}
        for n, p in named:
            groups.setdefault(rates[n], []).append(p)
        lr = training.learning_rate
        groups = [{"params": ps, "lr": lr * s, "weight_decay": wd} for (s, wd), ps in groups.items()]
        if optimizer_name(training) == "adafactor":  # as HF's Trainer builds it for --optim adafactor
            from transformers.optimization import Adafactor
            return Adafactor(groups, lr=lr, scale_parameter=False, relative_step=False)
        return torch.optim.AdamW(groups, lr=lr, betas=(training.adam_beta1, training.adam_beta2),
                                 eps=training.adam_epsilon)

    @staticmethod
    def train_sampler(trainer, seed: int):
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
                return iter(epoch_order(self.n, seed, epoch).tolist())

            def __len__(self):
                return self.n
        return Sampler(len(trainer.train_dataset))

    @staticmethod
    def save(trainer, out: Path, state_dict=None):
        import torch
        from transformers import Trainer
        if type(trainer.model).__module__.startswith("transformers."):  # transformers' Funnel: HF's own files
            return Trainer._save(trainer, str(out), state_dict)
        _save_kit_model(trainer.model, out)  # the kit's classes (GAU-alpha, span models): their files, merged in
        torch.save(trainer.args, str(out / "training_args.bin"))

    @staticmethod
    def span_counts(logits, labels):
        """Per example (true positives, predicted, gold) spans at threshold 0: what the span F1 of evaluate() needs,
        instead of the [batch, types, L, L] logits and labels."""
        import torch
        pred = (logits > 0).to(labels.dtype)
        counts = torch.stack([(pred * labels).sum((1, 2, 3)), pred.sum((1, 2, 3)), labels.sum((1, 2, 3))], -1)
        return counts.float(), torch.zeros_like(counts[:, 0])

    @staticmethod
    def span_candidates(logits, attention_mask):
        """What predict() gathers for a span head instead of its [batch, types, L, L] logits (of a different L in
        every batch, and 10 x 256 x 256 floats a row): the decoded spans, [batch, K, 3] of (type, start, end) with
        logit > 0, end inclusive, inside the row and off CLS / SEP (tasks.spans.decode's rule), K the most spans of
        a row in the batch; -1 past a row's spans (the trainers pad K across batches with -100)."""
        import torch
        B, _, L, _ = logits.shape
        n = attention_mask.sum(-1)
        pos = torch.arange(L, device=logits.device)
        inside = (pos[None] >= 1) & (pos[None] < (n - 1)[:, None])  # [B, L]
        ok = (logits > 0) & inside[:, None, :, None] & inside[:, None, None, :] & \
            (pos[:, None] <= pos[None, :])[None, None]
        b, t, i, j = ok.nonzero(as_tuple=True)  # row-major: grouped by b
        counts = ok.sum((1, 2, 3))
        rank = torch.arange(b.numel(), device=logits.device) - (torch.cumsum(counts, 0) - counts)[b]
        out = torch.full((B, max(int(counts.max()) if B else 0, 1), 3), -1, dtype=torch.int64, device=logits.device)
        out[b, rank] = torch.stack([t, i, j], -1)
        return out

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

    def load_model(self, path, head: str, num_labels: int, span: Optional[dict] = None):
        import paddlenlp_ext  # first: paddle's CPU settings (paddlenlp_ext/_cpu.py) apply only before paddle loads
        import paddle
        if head == "global_pointer":  # the kit's span model on the kit's encoder or PaddleNLP's (BERT...)
            from paddlenlp_ext.global_pointer import GlobalPointerForNER
            with paddle.utils.unique_name.guard():
                return GlobalPointerForNER.from_pretrained(path, **span)
        if not _is_kit_model(path):  # the ecosystem's model (BERT, ...): PaddleNLP's Auto class, from either layout
            import paddlenlp.transformers as PT
            torch_layout = find_weights(path)[0] == "torch"
            with paddle.utils.unique_name.guard():
                return getattr(PT, _auto_head(head)).from_pretrained(
                    str(path), num_labels=num_labels, ignore_mismatched_sizes=True, convert_from_torch=torch_layout)
        cls = getattr(paddlenlp_ext, _class_name(path, head))
        # fresh internal parameter names (embedding_0.w_0, ...) for every model: the optimizer state in a checkpoint
        # is keyed by them, so a resumed run must build the same names whatever was built before in the process
        with paddle.utils.unique_name.guard():
            return cls.from_pretrained(path, allow_new_head=True, num_labels=num_labels)

    @staticmethod
    def framework():
        import paddlenlp_ext  # noqa: F401  (first: paddle's CPU settings)
        import paddle
        import paddlenlp.trainer as T
        return SimpleNamespace(Trainer=T.Trainer, TrainerCallback=T.TrainerCallback, to_tensor=paddle.to_tensor,
                               EarlyStoppingCallback=T.EarlyStoppingCallback)

    @staticmethod
    def check_training_arguments(training):
        pass

    @staticmethod
    def check_recompute(training, model):
        """--recompute (alias --gradient_checkpointing): PaddleNLP's Trainer switches on every layer's
        `enable_recompute`; a model without one would silently train without it."""
        if not training.recompute:
            return
        stacks = [n for n, l in model.named_sublayers() if hasattr(l, "enable_recompute")]
        if not stacks:
            raise KitError(f"{type(model).__name__} has no recompute (no layer with enable_recompute); drop "
                           "--recompute")
        print(f"recompute: on ({type(model).__name__}: {', '.join(stacks)})")

    @staticmethod
    def reporting_callbacks(training):
        """PaddleNLP 2.8.1's VisualDL callback records the arguments as hparams and VisualDL's protobuf refuses
        Python booleans as int values (TypeError at the first step here). The same callback with the booleans
        written as 0/1 replaces it (taken out of report_to, so PaddleNLP does not add its own)."""
        report = training.report_to if isinstance(training.report_to, list) else [training.report_to]
        if "visualdl" not in report:
            return []
        training.report_to = [r for r in report if r != "visualdl"]
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
    def optimizer(trainer, named, rates, training, lr_scheduler=None):
        import paddle
        decay = set()
        for n, p in named:
            scale, wd = rates[n]
            p.optimize_attr["learning_rate"] = scale  # paddle multiplies the scheduler's lr by it
            if wd:
                decay.add(p.name)
        common = dict(learning_rate=trainer.lr_scheduler if lr_scheduler is None else lr_scheduler,
                      parameters=[p for _, p in named], weight_decay=training.weight_decay,
                      apply_decay_param_fun=lambda name: name in decay,
                      grad_clip=paddle.nn.ClipGradByGlobalNorm(training.max_grad_norm)
                      if training.max_grad_norm > 0 else None)
        if optimizer_name(training) == "adafactor":
            from tasks.adafactor import Adafactor
            return Adafactor(**common)
        return paddle.optimizer.AdamW(**common, beta1=training.adam_beta1, beta2=training.adam_beta2,
                                      epsilon=training.adam_epsilon)

    @staticmethod
    def train_sampler(trainer, seed: int):
        from paddle.io import DistributedBatchSampler

        class BatchSampler(DistributedBatchSampler):
            """The kit's per-epoch order, sharded over ranks like paddle's own sampler."""

            def __iter__(self):
                order = epoch_order(len(self.dataset), seed, self.epoch)
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
    def span_counts(logits, labels):
        import paddle
        pred = (logits > 0).astype(labels.dtype)
        counts = paddle.stack([(pred * labels).sum([1, 2, 3]), pred.sum([1, 2, 3]), labels.sum([1, 2, 3])], -1)
        return counts.astype("float32"), paddle.zeros_like(counts[:, 0])

    @staticmethod
    def span_candidates(logits, attention_mask):
        """As TorchBackend.span_candidates."""
        import paddle
        B, _, L, _ = logits.shape
        n = attention_mask.astype("int64").sum(-1)
        pos = paddle.arange(L, dtype="int64")
        inside = (pos[None] >= 1) & (pos[None] < (n - 1)[:, None])
        ok = (logits > 0) & inside[:, None, :, None] & inside[:, None, None, :] & \
            (pos[:, None] <= pos[None, :])[None, None]
        found = paddle.nonzero(ok)  # [N, 4] of (b, t, i, j), row-major
        counts = ok.astype("int64").sum([1, 2, 3])
        out = paddle.full([B, max(int(counts.max()) if B else 0, 1), 3], -1, dtype="int64")
        if found.shape[0]:
            b = found[:, 0]
            rank = paddle.arange(found.shape[0], dtype="int64") - (paddle.cumsum(counts, 0) - counts)[b]
            out[b, rank] = found[:, 1:]
        return out

    @staticmethod
    def train(trainer, resume_from_checkpoint=None):
        import paddle
        with paddle.utils.unique_name.guard():  # optimizer accumulator names (moment1_0, ...) as in the checkpoint
            return trainer.train(resume_from_checkpoint=str(resume_from_checkpoint) if resume_from_checkpoint
                                 else None)


BACKENDS = {"torch": TorchBackend, "paddle": PaddleBackend}


def get_backend(name: str):
    return BACKENDS[name]()
