"""Predict a GLUE test split with a fine-tuned checkpoint and write the leaderboard files.

    python glue/run_predict.py --backend paddle --model_name_or_path out/mnli --task_name MNLI \\
        --data_dir glue_data/MNLI --output_dir submission        # -> MNLI-m.tsv, MNLI-mm.tsv
    python glue/run_predict.py --model_name_or_path out/mnli --task_name AX --data_dir glue_data/diagnostic \\
        --output_dir submission                                   # AX.tsv from the MNLI model
    python glue/run_predict.py --ckpt_path out/qnli --task_name qnli --batch_size 24   # the Funnel-paddle repo's line
    ... --zip                                                     # also submission.zip with every .tsv in the folder

Arguments as glue/run_glue.py (the backend's TrainingArguments included; --ckpt_path is --model_name_or_path and
--batch_size the per-device batch size, as in the Funnel-paddle repo); with no data path the fetched copy of the task
is read. Files: `index<TAB>prediction` with a header; 0/1 for CoLA, SST-2, MRPC, QQP, WNLI; a score with 3 decimals
for STS-B; entailment/neutral/contradiction for MNLI-m, MNLI-mm, AX; entailment/not_entailment for QNLI and RTE.
"""
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from glue import data as G
from glue.run_glue import DataArguments, load_examples, write_predictions
from tasks.arguments import parse, require_model_path
from tasks.cli import run_reporting_errors
from reprokit.files import summary


@dataclass
class PredictArguments(DataArguments):
    zip: bool = field(default=False, metadata={"help": "Also write <output_dir>.zip with every .tsv in output_dir"})


def main(argv=None) -> int:
    a = parse("glue/run_predict.py", PredictArguments, argv, dict(per_device_eval_batch_size=32, report_to="none"),
              aliases={"--ckpt_path": "--model_name_or_path"}, description=summary(__doc__))
    return run_reporting_errors(run, a)


def run(a) -> int:
    from tasks.backends import get_backend, pad_length, prepare_training_arguments
    from tasks.tokenization import tokenizer_for
    data, training = a.data, a.training
    task = G.get_task(data.task_name)
    training.do_train, training.do_eval, training.do_predict = False, False, True
    require_model_path(a.model)
    examples, _ = load_examples(data, task, training)
    tok = tokenizer_for(a.model.model_name_or_path)
    backend = get_backend(a.kit.backend)
    num_labels = 1 if task.labels is None else len(task.labels)
    model = backend.load_model(a.model.model_name_or_path, "sequence_classification", num_labels)
    out = Path(training.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    log = out / ".predict_log.jsonl"
    prepare_training_arguments(training, "sequence_classification", None, out, evaluate_each_epoch=False,
                               logging_dir_given="--logging_dir" in a.given)
    # a compute_metrics is needed: without one PaddleNLP's predict() returns no predictions
    trainer = backend.make_trainer(training, a.kit, "sequence_classification", model, None, None, lambda p: {}, log,
                                   getattr(tok, "pad_token_id", 0) or 0, pad_length(data))
    write_predictions(task, trainer, backend, examples["test"], tok, data.max_seq_length, out,
                      limit=data.max_predict_samples)
    log.unlink(missing_ok=True)
    if data.zip:
        with zipfile.ZipFile(out.with_suffix(".zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(out.glob("*.tsv")):
                z.write(f, f.name)
        print(f"wrote {out.with_suffix('.zip')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
