"""Fine-tune, predict and evaluate extractive QA (SQuAD v1.1 / v2.0) with a Funnel checkpoint, on either backend.

    python squad/run_squad_v1.py --backend paddle --model_name_or_path funnel-transformer/xlarge \\
        --train_file train-v1.1.json --validation_file dev-v1.1.json --output_dir out/squad1 --do_train --do_eval
    ... --version_2_with_negative --train_file train-v2.0.json --validation_file dev-v2.0.json      # v2.0
    ... --paper_protocol --train_file train-v2.0.json --validation_file dev-v2.0.json \\
        --validation_file_v1 dev-v1.1.json          # the Funnel paper: one v2.0 model, v2.0 best_* and v1.1 scores
    python squad/run_squad_v1.py --do_train --do_predict --learning_rate 1e-5 --batch_size 4 \\
        --model_name_or_path ~/xlarge --version_2_with_negative       # the Funnel-paddle repo's line: fetched data

Arguments: HF run_qa's data options, the kit's, and every flag of the backend's own TrainingArguments. Data: SQuAD
JSON files, local HF-datasets files (`squad` / `squad_v2` columns), a `datasets` name (--dataset_name squad_v2), or,
with none of these, the official files fetch.py keeps (squad/v1.1, squad/v2.0; fetched when missing, unless offline);
--do_predict without --test_file predicts (and scores) the dev set of the version asked for. A bad record
(answer_start not pointing at the answer, missing fields, a duplicate id) is reported with its id and counted, never
trained on. Features as HF run_qa (squad/data.py: max_seq_length, doc_stride, overflowing chunks, offsets; an answer
outside a chunk points to CLS); post-processing as run_qa (squad/postprocess.py: n-best, null score over chunks,
score_diff, threshold); evaluation = the official scripts (squad/evaluation.py; v2.0 with the null odds, so best_*
and their thresholds are really searched). The training machinery is the GLUE pipeline's (tasks/).

Outputs: <output_dir>/ the fine-tuned model (+ tokenizer files); <output_dir>/eval[_v1.1]/ (and predict/)
predictions.json, nbest_predictions.json, null_odds.json (v2.0), results.json; <log_dir> (default
logs/squad/<v1.1|v2.0>/<backend>): args.json, metrics.jsonl, step_losses.json, eval_results.json, bad_records.json; a
loss plot under figure/.
"""
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from reprokit import KitError
from squad import data as D
from squad.evaluation import evaluate_v1, evaluate_v2
from squad.postprocess import postprocess, write_predictions
from tasks.arguments import decide_steps, parse, require_model_path
from tasks.cli import (check_output_dir, is_main_process, load_named_dataset, open_log_dir, plot_run,
                       run_reporting_errors, train_and_save, write_eval_results)
from tasks.tokenization import tokenizer_for
from reprokit.files import summary

DEFAULTS = dict(learning_rate=3e-5, num_train_epochs=2.0, per_device_train_batch_size=12, per_device_eval_batch_size=32,
                logging_steps=50, save_total_limit=2)


@dataclass
class DataArguments:
    dataset_name: Optional[str] = field(default=None, metadata={"help": (
        "A `datasets` name or folder with the squad / squad_v2 columns (e.g. rajpurkar/squad_v2)")})
    dataset_config_name: Optional[str] = None
    train_file: Optional[str] = field(default=None, metadata={"help": (
        "SQuAD JSON (train-v1.1.json / train-v2.0.json) or a HF-datasets file")})
    validation_file: Optional[str] = field(default=None, metadata={"help": "Evaluated with --do_eval"})
    validation_file_v1: Optional[str] = field(default=None, metadata={"help": (
        "--paper_protocol: the v1.1 dev file the v2.0 model is also scored on")})
    test_file: Optional[str] = field(default=None, metadata={"help": (
        "--do_predict: predicted (scored too when it has answers); default: the dev set of the version")})
    version_2_with_negative: bool = field(default=False, metadata={"help": (
        "SQuAD v2.0: unanswerable questions, null odds")})
    paper_protocol: bool = field(default=False, metadata={"help": (
        "The Funnel paper: train on v2.0, report v2.0 best_f1/best_exact and v1.1 scores (always answering)")})
    max_seq_length: int = 384
    pad_to_max_length: bool = False
    doc_stride: int = 128
    n_best_size: int = 20
    max_answer_length: int = 30
    null_score_diff_threshold: float = 0.0
    max_train_samples: Optional[int] = None
    max_eval_samples: Optional[int] = None
    max_predict_samples: Optional[int] = None
    overwrite_cache: bool = field(default=False, metadata={"help": "--dataset_name: download it again"})
    preprocessing_num_workers: Optional[int] = field(default=None, metadata={"help": (
        "Accepted for the HF examples' command lines; the kit featurises in this process (bench/"
        "bench_squad_features.py: as fast as run_qa's)")})


def parse_args(argv=None):
    a = parse("squad/run_squad_v1.py", DataArguments, argv, DEFAULTS, description=summary(__doc__))
    if a.data.paper_protocol:
        a.data.version_2_with_negative = True
    return a


def main(argv=None) -> int:
    return run_reporting_errors(run, parse_args(argv))


def use_fetched_data(data, training, version: str) -> None:
    """No data given: the official JSON files fetch.py keeps (`python fetch.py squad/v2.0`, squad/v1.1), fetched now
    when missing; offline and missing: a one-line error naming the fetch command."""
    from artifacts.names import resolve_data
    if data.train_file or data.validation_file or data.validation_file_v1 or data.test_file or data.dataset_name:
        return
    wanted = [("train_file", version, "train") if training.do_train else None,
              ("validation_file", version, "dev") if training.do_eval or data.paper_protocol or
              (training.do_train and not training.do_predict) else None,
              ("test_file", version, "dev") if training.do_predict else None,
              ("validation_file_v1", "v1.1", "dev") if data.paper_protocol else None]
    for attr, v, split in filter(None, wanted):
        setattr(data, attr, str(resolve_data(f"squad/{v}") / f"{split}-{v}.json"))


def named_dataset(data):
    """--dataset_name: its splits (train, validation) as kit examples."""
    ds = load_named_dataset(data.dataset_name, data.dataset_config_name, overwrite=data.overwrite_cache)
    return {name: D.examples_from_dataset(split, f"{data.dataset_name} {name}") for name, split in ds.items()}


def load(path, what, limit=None, named=None):
    if named is not None:
        split = {"train_file": "train", "validation_file": "validation", "test_file": "test"}.get(what)
        if split not in named:
            raise KitError(f"--dataset_name: no {split} split")
        examples, report = named[split]
    else:
        if not path:
            raise KitError(f"--{what} is needed")
        examples, report = D.read_qa_file(path)
    if report.bad:
        print(f"{report.path}: {len(report.bad)} bad record(s) left out, first: {report.bad[0][0]}: "
              f"{report.bad[0][1]}", file=sys.stderr)
    if not examples:
        raise KitError(f"{report.path}: no usable question")
    return (examples[:limit] if limit else examples), report


def run(a) -> int:
    from tasks.backends import get_backend, jsonl_writer, pad_length, prepare_training_arguments
    from tasks.batches import FeatureDataset
    data, training = a.data, a.training
    decide_steps(a)
    if data.paper_protocol and not (data.validation_file and data.validation_file_v1) and \
            (data.train_file or data.validation_file or data.test_file or data.dataset_name):
        raise KitError("--paper_protocol needs --validation_file (v2.0 dev) and --validation_file_v1 (v1.1 dev)")
    check_output_dir(training)
    require_model_path(a.model)
    version = "v2.0" if data.version_2_with_negative else "v1.1"
    use_fetched_data(data, training, version)
    named = named_dataset(data) if data.dataset_name else None
    tok = tokenizer_for(a.model.model_name_or_path, fast_only=True)
    splits, reports = {}, []
    if training.do_train:
        splits["train"], rep = load(data.train_file, "train_file", data.max_train_samples, named)
        reports.append(rep)
        if not data.version_2_with_negative and any(e.is_impossible for e in splits["train"]):
            raise KitError(f"{rep.path}: has unanswerable questions; pass --version_2_with_negative "
                           "(without it they would be trained as answerable at CLS and scored with NoAns F1 0)")
    if training.do_eval and (data.validation_file or named is not None) or data.validation_file and training.do_train:
        splits["eval"], rep = load(data.validation_file, "validation_file", data.max_eval_samples, named)
        reports.append(rep)
        if data.paper_protocol:
            splits["eval_v1.1"], rep = load(data.validation_file_v1, "validation_file_v1", data.max_eval_samples)
            reports.append(rep)
    elif training.do_eval and not training.do_predict:
        raise KitError("--do_eval needs --validation_file (or --dataset_name, or no data path at all: the fetched "
                       "dev set)")
    if training.do_predict:
        splits["predict"], rep = load(data.test_file, "test_file", data.max_predict_samples, named)
        reports.append(rep)

    def feats(examples, train):
        return D.featurize(examples, tok, data.max_seq_length, data.doc_stride, train=train)

    train_ds = FeatureDataset(feats(splits["train"], True)) if "train" in splits else None
    eval_features = {k: feats(v, False) for k, v in splits.items() if k != "train"}  # bad settings fail before output
    log_path = open_log_dir(a, Path("logs") / "squad" / version / a.kit.backend)
    log_dir, main_process = log_path.parent, is_main_process()
    if main_process:
        (log_dir / "bad_records.json").write_text(json.dumps(
            {r.path: {"used": r.examples, "bad": [{"id": i, "why": w} for i, w in r.bad]} for r in reports},
            indent=2) + "\n")

    backend = get_backend(a.kit.backend)
    model = backend.load_model(a.model.model_name_or_path, "question_answering", 2)
    pad_id = getattr(tok, "pad_token_id", 0) or 0
    prepare_training_arguments(training, "question_answering", None, log_dir, evaluate_each_epoch=False,
                               logging_dir_given="--logging_dir" in a.given)
    # a compute_metrics is needed: without one PaddleNLP's predict() returns no predictions
    trainer = backend.make_trainer(training, a.kit, "question_answering", model, train_ds, None, lambda p: {},
                                   log_path, pad_id, pad_length(data))
    if training.do_train:
        train_and_save(backend, trainer, a, log_dir, f"SQuAD {version}")

    results = {}
    for split, features in eval_features.items():
        examples = splits[split]
        v2 = data.version_2_with_negative and split != "eval_v1.1"
        start, end = backend.predictions_pair(trainer.predict(FeatureDataset(features)))
        exs = [{"id": e.id, "context": e.context} for e in examples]
        preds, nbest, null_odds = postprocess(exs, features, start, end, v2, data.n_best_size,
                                              data.max_answer_length, data.null_score_diff_threshold)
        out_dir = Path(training.output_dir) / split  # eval/, eval_v1.1/, predict/
        if not main_process:
            continue
        write_predictions(out_dir, preds, nbest, null_odds if v2 else None)
        if split == "predict" and not any(e.answers for e in examples):
            continue
        ref = D.reference_data(examples)
        m = evaluate_v2(ref, preds, null_odds) if v2 else evaluate_v1(ref, preds)
        (out_dir / "results.json").write_text(json.dumps(m, indent=2) + "\n")
        results[split] = m
        jsonl_writer(log_path, a.kit.backend)(trainer.state.global_step, {f"{split}_{k}": v for k, v in m.items()})
        print(f"SQuAD {'v2.0' if v2 else 'v1.1'} {split} ({len(examples)} questions): "
              + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    if main_process and results:
        if data.paper_protocol and "eval" in results and "eval_v1.1" in results:
            r2, r1 = results["eval"], results["eval_v1.1"]
            results["paper"] = {"v1.1_f1": r1["f1"], "v1.1_exact_match": r1["exact_match"],
                                "v2.0_best_f1": r2["best_f1"], "v2.0_best_exact": r2["best_exact"],
                                "v2.0_best_f1_thresh": r2["best_f1_thresh"]}
            p = results["paper"]
            print(f"paper protocol: v1.1 F1/EM {p['v1.1_f1']:.2f}/{p['v1.1_exact_match']:.2f}, v2.0 best F1/EM "
                  f"{p['v2.0_best_f1']:.2f}/{p['v2.0_best_exact']:.2f} (threshold {p['v2.0_best_f1_thresh']:.3f})")
        write_eval_results(a, log_dir, f"SQuAD {version}", results, trainer.model)
    plot_run(a, log_path, f"squad_{version}", f"SQuAD {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
