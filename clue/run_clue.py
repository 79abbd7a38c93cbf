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
figure/. --do_predict writes <output_dir>/<the task's submission file> (and with --zip, <output_dir>.zip). Arguments:
the data options below, the kit's, and every flag of the backend's own TrainingArguments.
"""
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from clue import data as C
from tasks.arguments import decide_steps, parse, require_model_path
from tasks.batches import FeatureDataset, text_pair_features
from tasks.cli import (check_output_dir, is_main_process, open_log_dir, plot_run, run_reporting_errors,
                       train_and_save, write_eval_results)
from tasks.tokenization import tokenizer_for
from reprokit.files import summary

DEFAULTS = dict(learning_rate=2e-5, num_train_epochs=3.0, per_device_train_batch_size=32, per_device_eval_batch_size=32,
                logging_steps=50, save_total_limit=2)


@dataclass
class DataArguments:
    task_name: str = field(metadata={"help": ", ".join(C.TASKS)})
    data_dir: Optional[str] = field(default=None, metadata={"help": (
        "The task's folder (train.json, dev.json, test.json; ocnli: train.50k.json); default: the fetched copy")})
    max_seq_length: int = 128
    pad_to_max_length: bool = False
    pair_token_types: str = field(default="zeros", metadata={"choices": ["zeros", "segments"], "help": (
        "Token types of sentence pairs: all 0 (the GAU-alpha recipe) or 0/1")})
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    max_predict_samples: Optional[int] = None
    zip: bool = field(default=False, metadata={"help": "--do_predict: also <output_dir>.zip with the submission"})


def parse_args(argv=None):
    return parse("clue/run_clue.py", DataArguments, argv, DEFAULTS, description=summary(__doc__))


def main(argv=None) -> int:
    return run_reporting_errors(run, parse_args(argv))


def data_dir(data, task) -> Path:
    if data.data_dir:
        return Path(data.data_dir)
    from artifacts.names import resolve_data
    return resolve_data(f"clue/{task.name}")


def run(a) -> int:
    from tasks.backends import get_backend, pad_length, prepare_training_arguments
    data, training = a.data, a.training
    task = C.get_task(data.task_name)
    decide_steps(a)
    check_output_dir(training)
    require_model_path(a.model)
    folder = data_dir(data, task)
    splits = {}
    for split, wanted in (("train", training.do_train),
                          ("dev", training.do_eval or (training.do_train and (folder / task.files["dev"]).is_file())),
                          ("test", training.do_predict)):
        if wanted:
            examples, report = C.read_split(task, folder / task.files[split], split)
            if report.dropped:
                print(f"{report.path}: {report.dropped} row(s) labelled '-' left out", file=sys.stderr)
            splits[split] = examples
    tok = tokenizer_for(a.model.model_name_or_path, pair_token_types=data.pair_token_types)
    zeros = data.pair_token_types == "zeros"

    def feats(examples, limit=None):
        return text_pair_features(examples[:limit] if limit else examples, tok, data.max_seq_length,
                                  zero_token_types=zeros)

    train_ds = FeatureDataset(feats(splits["train"], data.max_train_samples)) if "train" in splits else None
    dev_ds = FeatureDataset(feats(splits["dev"], data.max_eval_samples)) if "dev" in splits else None
    log_path = open_log_dir(a, Path("logs") / "clue" / task.name / a.kit.backend)
    log_dir, main_process = log_path.parent, is_main_process()

    backend = get_backend(a.kit.backend)
    model = backend.load_model(a.model.model_name_or_path, "sequence_classification", len(task.labels))

    def compute_metrics(p):
        preds = p.predictions[0] if isinstance(p.predictions, (tuple, list)) else p.predictions
        return C.accuracy(preds, p.label_ids)

    prepare_training_arguments(training, "sequence_classification", dev_ds, log_dir,
                               evaluate_each_epoch=not a.given & {"--eval_strategy", "--evaluation_strategy"},
                               logging_dir_given="--logging_dir" in a.given)
    trainer = backend.make_trainer(training, a.kit, "sequence_classification", model, train_ds, dev_ds,
                                   compute_metrics, log_path, getattr(tok, "pad_token_id", 0) or 0, pad_length(data))
    if training.do_train:
        train_and_save(backend, trainer, a, log_dir, f"CLUE {task.name}")
    if dev_ds is not None:
        m = trainer.evaluate(eval_dataset=dev_ds)
        results = {"dev": {k: float(v) for k, v in m.items() if isinstance(v, (int, float))}}
        write_eval_results(a, log_dir, f"CLUE {task.name}", results, trainer.model)
        print(f"CLUE {task.name} dev: accuracy={results['dev'].get('eval_accuracy', float('nan')):.4f}")
    if training.do_predict:
        test = splits["test"][:data.max_predict_samples] if data.max_predict_samples else splits["test"]
        logits = backend.predictions(trainer.predict(FeatureDataset(feats(test))))
        if main_process:
            path = C.write_submission(task, test, logits, Path(training.output_dir))
            print(f"wrote {path} ({len(test)} rows)")
            if data.zip:
                print(f"wrote {C.zip_submissions(Path(training.output_dir))}")
    plot_run(a, log_path, f"clue_{task.name}", f"CLUE {task.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
