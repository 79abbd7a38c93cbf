"""Fine-tune, predict and evaluate extractive QA (SQuAD v1.1 / v2.0) with a Funnel checkpoint, on either backend.

    python squad/run_squad_v1.py --backend paddle --model_name_or_path path/to/funnel-xlarge \\
        --train_file train-v1.1.json --validation_file dev-v1.1.json --output_dir out/squad1 --do_train --do_eval
    ... --version_2_with_negative --train_file train-v2.0.json --validation_file dev-v2.0.json      # v2.0
    ... --paper_protocol --train_file train-v2.0.json --validation_file dev-v2.0.json \\
        --validation_file_v1 dev-v1.1.json          # the Funnel paper: one v2.0 model, v2.0 best_* and v1.1 scores

Data: SQuAD JSON files or local HF-datasets files (`squad` / `squad_v2` columns). A bad record (answer_start not
pointing at the answer, missing fields, a duplicate id) is reported with its id and counted, never trained on.
Features as HF run_qa (squad/data.py: max_seq_length, doc_stride, overflowing chunks, offsets; an answer
outside a chunk points to CLS); post-processing as run_qa (squad/postprocess.py: n-best, null score over chunks,
score_diff, threshold); evaluation = the official scripts (squad/evaluation.py; v2.0 with the null odds, so best_*
and their thresholds are really searched). The training machinery (the two trainers, same batches and sample order,
layer-wise decay, AMP, resume, logs) is the GLUE pipeline's (tasks/).

Outputs: <output_dir>/ the fine-tuned model (+ tokenizer files); <output_dir>/eval[_v1.1]/ predictions.json,
nbest_predictions.json, null_odds.json (v2.0), results.json; <log_dir> (default logs/squad/<v1.1|v2.0>/<backend>):
args.json, metrics.jsonl, step_losses.json, eval_results.json, bad_records.json; a loss plot under figure/.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from reprokit import KitError
from squad import data as D
from squad.evaluation import evaluate_v1, evaluate_v2
from squad.postprocess import postprocess, write_predictions
from tasks.tokenization import tokenizer_for
from tasks.cli import (add_training_args, check_output_dir, is_main_process, open_log_dir,
                          command_line, plot_run, run_reporting_errors, train_and_save,
                          write_eval_results)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_args(ap, max_seq_length=384, batch_size=12, learning_rate=3e-5, epochs=2.0)
    a = ap.add_argument
    a("--train_file", help="SQuAD JSON (train-v1.1.json / train-v2.0.json) or a HF-datasets file")
    a("--validation_file", help="evaluated with --do_eval (and after --do_train)")
    a("--validation_file_v1", help="--paper_protocol: the v1.1 dev file the v2.0 model is also scored on")
    a("--test_file", help="--do_predict: predictions only (no answers needed)")
    a("--version_2_with_negative", action="store_true", help="SQuAD v2.0: unanswerable questions, null odds")
    a("--paper_protocol", action="store_true",
      help="the Funnel paper: train on v2.0, report v2.0 best_f1/best_exact and v1.1 scores (always answering)")
    a("--doc_stride", type=int, default=128)
    a("--n_best_size", type=int, default=20)
    a("--max_answer_length", type=int, default=30)
    a("--null_score_diff_threshold", type=float, default=0.0)
    args = ap.parse_args(argv)
    args.head = "question_answering"
    if args.paper_protocol:
        args.version_2_with_negative = True
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    args.command = command_line("squad/run_squad_v1.py", argv)
    return run_reporting_errors(run, args)


def use_fetched_data(args, version: str) -> None:
    """No data file given: the official JSON files fetch.py laid out (`python fetch.py squad/v2.0`, squad/v1.1); a
    missing one is a one-line error naming the fetch command."""
    from artifacts.fetching import data_path
    if args.train_file or args.validation_file or args.validation_file_v1 or args.test_file:
        return
    wanted = [("train_file", version, "train") if args.do_train else None,
              ("validation_file", version, "dev") if args.do_eval or args.do_train else None,
              ("validation_file_v1", "v1.1", "dev") if args.paper_protocol else None]
    for attr, v, split in filter(None, wanted):
        if not getattr(args, attr):
            setattr(args, attr, str(data_path(f"squad/{v}") / f"{split}-{v}.json"))


def load(path, what, limit=None):
    if not path:
        raise KitError(f"--{what} is needed")
    examples, report = D.read_qa_file(path)
    if report.bad:
        print(f"{path}: {len(report.bad)} bad record(s) left out, first: {report.bad[0][0]}: {report.bad[0][1]}",
              file=sys.stderr)
    if not examples:
        raise KitError(f"{path}: no usable question")
    return (examples[:limit] if limit else examples), report


def run(args) -> int:
    from tasks.backends import get_backend, jsonl_writer
    from tasks.batches import FeatureDataset
    if not (args.do_train or args.do_eval or args.do_predict):
        raise KitError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    if args.paper_protocol and not (args.validation_file and args.validation_file_v1):
        raise KitError("--paper_protocol needs --validation_file (v2.0 dev) and --validation_file_v1 (v1.1 dev)")
    check_output_dir(args)
    version = "v2.0" if args.version_2_with_negative else "v1.1"
    use_fetched_data(args, version)
    tok = tokenizer_for(args.model_name_or_path, fast_only=True)
    splits, reports = {}, []
    if args.do_train:
        splits["train"], rep = load(args.train_file, "train_file", args.max_train_samples)
        reports.append(rep)
        if not args.version_2_with_negative and any(e.is_impossible for e in splits["train"]):
            raise KitError(f"{args.train_file}: has unanswerable questions; pass --version_2_with_negative "
                           "(without it they would be trained as answerable at CLS and scored with NoAns F1 0)")
    if args.do_eval or (args.do_train and args.validation_file):
        splits["eval"], rep = load(args.validation_file, "validation_file", args.max_eval_samples)
        reports.append(rep)
        if args.paper_protocol:
            splits["eval_v1.1"], rep = load(args.validation_file_v1, "validation_file_v1", args.max_eval_samples)
            reports.append(rep)
    if args.do_predict:
        splits["predict"], rep = load(args.test_file, "test_file")
        reports.append(rep)

    def feats(examples, train):
        return D.featurize(examples, tok, args.max_seq_length, args.doc_stride, train=train)

    train_ds = FeatureDataset(feats(splits["train"], True)) if "train" in splits else None
    eval_features = {k: feats(v, False) for k, v in splits.items() if k != "train"}  # bad settings fail before output
    log_path = open_log_dir(args, Path("logs") / "squad" / version / args.backend)
    log_dir, main_process = log_path.parent, is_main_process()
    if main_process:
        (log_dir / "bad_records.json").write_text(json.dumps(
            {r.path: {"used": r.examples, "bad": [{"id": i, "why": w} for i, w in r.bad]} for r in reports},
            indent=2) + "\n")

    backend = get_backend(args.backend)
    model = backend.load_model(args, 2)
    pad_id = getattr(tok, "pad_token_id", 0) or 0
    # a compute_metrics is needed: without one PaddleNLP's predict() returns no predictions
    trainer = backend.make_trainer(args, model, train_ds, None, lambda p: {}, log_path, pad_id)
    if args.do_train:
        train_and_save(backend, trainer, args, log_dir, f"SQuAD {version}")

    results = {}
    for split, features in eval_features.items():
        examples = splits[split]
        v2 = args.version_2_with_negative and split != "eval_v1.1"
        start, end = backend.predictions_pair(trainer.predict(FeatureDataset(features)))
        exs = [{"id": e.id, "context": e.context} for e in examples]
        preds, nbest, null_odds = postprocess(exs, features, start, end, v2, args.n_best_size,
                                              args.max_answer_length, args.null_score_diff_threshold)
        out_dir = Path(args.output_dir) / split  # eval/, eval_v1.1/, predict/
        if not main_process:
            continue
        write_predictions(out_dir, preds, nbest, null_odds if v2 else None)
        if split == "predict" and not any(e.answers for e in examples):
            continue
        ref = D.reference_data(examples)
        m = evaluate_v2(ref, preds, null_odds) if v2 else evaluate_v1(ref, preds)
        (out_dir / "results.json").write_text(json.dumps(m, indent=2) + "\n")
        results[split] = m
        jsonl_writer(log_path, args.backend)(trainer.state.global_step, {f"{split}_{k}": v for k, v in m.items()})
        print(f"SQuAD {'v2.0' if v2 else 'v1.1'} {split} ({len(examples)} questions): "
              + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    if main_process and results:
        if args.paper_protocol and "eval" in results and "eval_v1.1" in results:
            r2, r1 = results["eval"], results["eval_v1.1"]
            results["paper"] = {"v1.1_f1": r1["f1"], "v1.1_exact_match": r1["exact_match"],
                                "v2.0_best_f1": r2["best_f1"], "v2.0_best_exact": r2["best_exact"],
                                "v2.0_best_f1_thresh": r2["best_f1_thresh"]}
            p = results["paper"]
            print(f"paper protocol: v1.1 F1/EM {p['v1.1_f1']:.2f}/{p['v1.1_exact_match']:.2f}, v2.0 best F1/EM "
                  f"{p['v2.0_best_f1']:.2f}/{p['v2.0_best_exact']:.2f} (threshold {p['v2.0_best_f1_thresh']:.3f})")
        write_eval_results(args, log_dir, f"SQuAD {version}", results, trainer.model)
    plot_run(args, log_path, f"squad_{version}", f"SQuAD {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
