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
from typing import List

import numpy as np

from reprokit.checkpoint import read_config
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


# head -> (label names, class-name suffix); reprokit.loading.class_name joins the suffix to the model's stem
HEADS = {"sequence_classification": (["labels"], "ForSequenceClassification"),
         "question_answering": (["start_positions", "end_positions"], "ForQuestionAnswering")}


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
        fp16=args.fp16, bf16=args.bf16, seed=args.seed, logging_steps=args.logging_steps,
        eval_steps=eval_steps or None, save_strategy="steps" if args.save_steps else "epoch",
        save_steps=args.save_steps or 500, save_total_limit=args.save_total_limit,
        load_best_model_at_end=getattr(args, "load_best_model_at_end", False), metric_for_best_model=metric,
        greater_is_better=None if not metric else not metric.endswith("loss"),
        remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
        max_grad_norm=args.max_grad_norm, adam_epsilon=args.adam_epsilon)
    return common, "steps" if eval_steps and eval_ds is not None else ("epoch" if eval_ds is not None else "no")


def _assemble(trainer_cls, callback_base, early_stopping_cls, targs, args, model, train_ds, eval_ds,
              compute_metrics, to_tensor, pad_id, write, step_losses):
    """What both backends share around their trainer: the metrics.jsonl callback (main process only), early
    stopping, the numpy collator (`to_tensor` makes the framework's tensors), and the per-step losses attached."""
    class Log(callback_base):
        def on_log(self, a, state, control, logs=None, **kw):
            if state.is_world_process_zero:
                write(state.global_step, logs or {})

    def collate(features):
        return {k: to_tensor(v) for k, v in pad_batch(features, pad_id, pad_to=_pad_to(args)).items()}

    callbacks = [Log()]
    if getattr(args, "early_stopping_patience", 0):
        callbacks.append(early_stopping_cls(early_stopping_patience=args.early_stopping_patience))
    trainer = trainer_cls(model=model, args=targs, train_dataset=train_ds, eval_dataset=eval_ds,
                          data_collator=collate, compute_metrics=compute_metrics, callbacks=callbacks)
    trainer.step_losses = step_losses
    return trainer


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


# ---- torch ------------------------------------------------------------------------------------------------------------
class TorchBackend:
    name = "torch"

    def load_model(self, args, num_labels: int):
        """transformers' Funnel class / the GAU-alpha reference, through the kit's loader: a directory written by
        either backend loads; a head of another size is re-initialised (HF's ignore_mismatched_sizes)."""
        from torch_ref.loading import from_pretrained
        return from_pretrained(args.model_name_or_path, _class_name(args), allow_new_head=True, num_labels=num_labels)

    def make_trainer(self, args, model, train_ds, eval_ds, compute_metrics, log_path, pad_id):
        import torch
        from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

        model_type = _model_type(args.model_name_or_path)
        write = jsonl_writer(log_path, self.name)
        step_losses: List[float] = []

        class Sampler(torch.utils.data.Sampler):
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

        class KitTrainer(Trainer):
            def create_optimizer(self):
                if self.optimizer is None:
                    named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
                    rates = _rates(model_type, self.model.config, [n for n, _ in named], args)
                    groups = {}
                    for n, p in named:
                        groups.setdefault(rates[n], []).append(p)
                    self.optimizer = torch.optim.AdamW(
                        [{"params": ps, "lr": args.learning_rate * s, "weight_decay": wd}
                         for (s, wd), ps in groups.items()],
                        lr=args.learning_rate, betas=(args.adam_beta1, args.adam_beta2), eps=args.adam_epsilon)
                return self.optimizer

            def _get_train_sampler(self):
                return Sampler(len(self.train_dataset))

            def _save(self, output_dir=None, state_dict=None):
                from transformers import PreTrainedModel
                if isinstance(self.model, PreTrainedModel):
                    return super()._save(output_dir, state_dict)
                _save_kit_model(self.model, Path(output_dir or self.args.output_dir))  # the torch GAU-alpha
                torch.save(self.args, str(Path(output_dir or self.args.output_dir) / "training_args.bin"))

            def compute_loss(self, model, inputs, return_outputs=False, **kw):
                out = super().compute_loss(model, inputs, return_outputs=return_outputs, **kw)
                if model.training:
                    step_losses.append(float((out[0] if return_outputs else out).detach()))
                return out

        common, strategy = _training_kwargs(args, eval_ds)
        # HF's TrainingArguments writes --bf16 / --fp16 into os.environ["ACCELERATE_MIXED_PRECISION"] and never
        # clears it: a later fp32 run in the same process would train under bf16 autocast. The flags decide.
        os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16" if args.bf16 else ("fp16" if args.fp16 else "no")
        targs = TrainingArguments(**common, eval_strategy=strategy, report_to=args.report_to_torch,
                                  use_cpu=not torch.cuda.is_available(), torch_compile=args.torch_compile,
                                  logging_dir=str(Path(log_path).parent / "tensorboard"))
        return _assemble(KitTrainer, TrainerCallback, EarlyStoppingCallback, targs, args, model, train_ds, eval_ds,
                         compute_metrics, torch.from_numpy, pad_id, write, step_losses)

    predictions = staticmethod(_predictions)
    predictions_pair = staticmethod(_predictions_pair)

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
class PaddleBackend:
    name = "paddle"

    def load_model(self, args, num_labels: int):
        import paddle

        import paddlenlp_ext
        cls = getattr(paddlenlp_ext, _class_name(args))
        # fresh internal parameter names (embedding_0.w_0, ...) for every model: the optimizer state in a checkpoint
        # is keyed by them, so a resumed run must build the same names whatever was built before in the process
        with paddle.utils.unique_name.guard():
            return cls.from_pretrained(args.model_name_or_path, allow_new_head=True, num_labels=num_labels)

    def make_trainer(self, args, model, train_ds, eval_ds, compute_metrics, log_path, pad_id):
        import paddle
        from paddle.io import DistributedBatchSampler
        from paddlenlp.trainer import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

        model_type = _model_type(args.model_name_or_path)
        write = jsonl_writer(log_path, self.name)
        step_losses: List[float] = []

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

        class KitTrainer(Trainer):
            def create_optimizer(self, lr_scheduler=None):
                if self.optimizer is None:
                    named = [(n, p) for n, p in self.model.named_parameters() if not p.stop_gradient]
                    rates = _rates(model_type, self.model.config, [n for n, _ in named], args)
                    decay = set()
                    for n, p in named:
                        scale, wd = rates[n]
                        p.optimize_attr["learning_rate"] = scale  # paddle multiplies the scheduler's lr by it
                        if wd:
                            decay.add(p.name)
                    self.optimizer = paddle.optimizer.AdamW(
                        learning_rate=self.lr_scheduler if lr_scheduler is None else lr_scheduler,
                        parameters=[p for _, p in named], weight_decay=args.weight_decay,
                        apply_decay_param_fun=lambda name: name in decay, beta1=args.adam_beta1,
                        beta2=args.adam_beta2, epsilon=args.adam_epsilon,
                        grad_clip=paddle.nn.ClipGradByGlobalNorm(args.max_grad_norm) if args.max_grad_norm > 0
                        else None)
                return self.optimizer

            def _get_train_sampler(self):
                return BatchSampler(self.train_dataset, batch_size=self.args.per_device_train_batch_size,
                                    num_replicas=self.args.dataset_world_size, rank=self.args.dataset_rank,
                                    shuffle=False, drop_last=self.args.dataloader_drop_last)

            def _save(self, output_dir=None, *a, **kw):
                out = Path(output_dir or self.args.output_dir)
                _save_kit_model(self.model, out)
                paddle.save(self.args, str(out / "training_args.bin"))

            def compute_loss(self, model, inputs, return_outputs=False):
                out = super().compute_loss(model, inputs, return_outputs=return_outputs)
                if model.training:
                    step_losses.append(float((out[0] if return_outputs else out).detach()))
                return out

        common, strategy = _training_kwargs(args, eval_ds)
        gpu = paddle.device.is_compiled_with_cuda() and paddle.device.cuda.device_count()
        targs = TrainingArguments(**common, evaluation_strategy=strategy, report_to=args.report_to_paddle,
                                  logging_dir=str(Path(log_path).parent / "visualdl"), device="gpu" if gpu else "cpu")
        return _assemble(KitTrainer, TrainerCallback, EarlyStoppingCallback, targs, args, model, train_ds, eval_ds,
                         compute_metrics, paddle.to_tensor, pad_id, write, step_losses)

    predictions = staticmethod(_predictions)
    predictions_pair = staticmethod(_predictions_pair)

    @staticmethod
    def train(trainer, resume_from_checkpoint=None):
        import paddle
        with paddle.utils.unique_name.guard():  # optimizer accumulator names (moment1_0, ...) as in the checkpoint
            return trainer.train(resume_from_checkpoint=str(resume_from_checkpoint) if resume_from_checkpoint
                                 else None)


BACKENDS = {"torch": TorchBackend, "paddle": PaddleBackend}


def get_backend(name: str):
    return BACKENDS[name]()

