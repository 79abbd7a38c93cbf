"""Fine-tune, evaluate and predict CLUENER 2020 with a GlobalPointer or EfficientGlobalPointer head on GAU-alpha or
Funnel, on either backend.

    python cluener/run_cluener.py --backend paddle --model_name_or_path path/to/chinese_GAU-alpha-char_L-24_H-768 \\
        --data_dir cluener_data --output_dir out/cluener --do_train --do_eval --do_predict \\
        --global_pointer_head GlobalPointer --rope True --max_seq_length 256 --per_device_train_batch_size 16 \\
        --learning_rate 2e-5 --lr_scheduler_type constant --weight_decay 0.05 --num_train_epochs 10

Data: train.json / dev.json / test.json of CLUENER (--data_dir, or the copy `python fetch.py cluener` laid out). Spans
become token spans through the tokenizer's offsets; entities cut off by --max_seq_length (or not on token bounds) are
counted and reported, never dropped silently; the evaluation scores against the full gold annotation. Threshold 0,
CLS / SEP never decoded. Dev metrics, both named: `micro_f1` over (start, end, type) and `official_macro_f1` (the
CLUENER scorer: per-type F1 over entity strings, macro over the 10 types), with the per-type table in
eval_results.json. --do_predict writes <output_dir>/cluener_predict.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from cluener import data as N
from reprokit import KitError
from tasks.batches import FeatureDataset
from tasks.cli import (add_training_args, check_output_dir, command_line, is_main_process, open_log_dir, plot_run,
                       run_reporting_errors, train_and_save,
                       write_eval_results)
from tasks.spans import decode
from tasks.tokenization import encode_with_offsets, tokenizer_for

CHUNK = 64  # examples per prediction call: the [N, 10, L, L] logits of a whole dev set would not fit in memory


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_training_args(ap, max_seq_length=256, batch_size=16, learning_rate=2e-5, epochs=10.0)
    a = ap.add_argument
    a("--data_dir", help="a folder with train.json, dev.json, test.json")
    a("--global_pointer_head", choices=["GlobalPointer", "EfficientGlobalPointer"], default="GlobalPointer")
    a("--rope", type=lambda v: {"true": True, "false": False}[v.lower()], default=True, help="True | False")
    a("--head_size", type=int, default=64)
    args = ap.parse_args(argv)
    args.head = "global_pointer"
    # the trainers gather span logits [b, types, L, L] across batches: every batch has the same L
    args.pad_to_max_length = True
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    args.command = command_line("cluener/run_cluener.py", argv)
    return run_reporting_errors(run, args)


def features(examples, tok, max_length: int):
    """Token ids and offsets of each text, its gold spans as token spans; returns (features, entities left out)."""
    feats, lost = [], 0
    for ex in examples:
        ids, offsets = encode_with_offsets(tok, ex.text, max_length)
        spans, n = N.token_spans(ex.spans, offsets)
        lost += n
        feats.append({"input_ids": ids, "token_type_ids": [0] * len(ids), "spans": spans,
                      "num_types": len(N.TYPES), "offsets": offsets})
    return feats, lost


def predict_spans(backend, trainer, examples, feats):
    """Character spans per example, predicted chunk by chunk (threshold 0, CLS / SEP never decoded)."""
    out = []
    for i in range(0, len(feats), CHUNK):
        chunk = feats[i:i + CHUNK]
        logits = backend.predictions(trainer.predict(FeatureDataset(chunk)))
        for b, f in enumerate(chunk):
            n = len(f["input_ids"])
            decoded = [(t, s, e) for _, t, s, e in decode(logits[b:b + 1, :, :n, :n], [n])]
            out.append(N.char_spans(examples[i + b].text, decoded, f["offsets"]))
    return out


def evaluate(examples, predicted) -> dict:
    gold = [set(ex.spans) for ex in examples]
    pred = [set(p) for p in predicted]
    micro = N.micro_f1(gold, pred)
    official = N.official([ex.text for ex in examples], gold, pred)
    return {"micro_f1": micro["f1"], "micro_precision": micro["precision"], "micro_recall": micro["recall"],
            "official_macro_f1": official["macro_f1"], "official_per_type": official["per_type"]}


def data_dir(args) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    from artifacts.fetching import data_path
    return data_path("cluener")


def run(args) -> int:
    if not (args.do_train or args.do_eval or args.do_predict):
        raise KitError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    check_output_dir(args)
    folder = data_dir(args)
    splits = {s: N.read_file(folder / f"{s}.json", has_labels=s != "test")
              for s, wanted in (("train", args.do_train),
                                ("dev", args.do_eval or (args.do_train and (folder / "dev.json").is_file())),
                                ("test", args.do_predict)) if wanted}
    tok = tokenizer_for(args.model_name_or_path, fast_only=False)
    feats = {}
    for split, examples in splits.items():
        limit = args.max_train_samples if split == "train" else args.max_eval_samples if split == "dev" else None
        splits[split] = examples[:limit] if limit else examples
        feats[split], lost = features(splits[split], tok, args.max_seq_length)
        if lost:
            print(f"{split}: {lost} entities beyond --max_seq_length {args.max_seq_length} or off token bounds "
                  f"{'left out of training' if split == 'train' else 'cannot be predicted (still scored as gold)'}",
                  file=sys.stderr)
    log_path = open_log_dir(args, Path("logs") / "cluener" / args.global_pointer_head / args.backend)
    log_dir = log_path.parent

    from tasks.backends import get_backend
    backend = get_backend(args.backend)
    model = backend.load_model(args, len(N.TYPES))
    train_ds = FeatureDataset(feats["train"]) if "train" in feats else None
    trainer = backend.make_trainer(args, model, train_ds, None, lambda p: {}, log_path,
                                   getattr(tok, "pad_token_id", 0) or 0)
    if args.do_train:
        train_and_save(backend, trainer, args, log_dir, "CLUENER")
    if "dev" in splits:
        res = evaluate(splits["dev"], predict_spans(backend, trainer, splits["dev"], feats["dev"]))
        write_eval_results(args, log_dir, "CLUENER", {"dev": res}, trainer.model)
        print(f"CLUENER dev: micro F1 {res['micro_f1']:.4f} (over (start, end, type)), official macro F1 "
              f"{res['official_macro_f1']:.4f} (per-type entity strings)")
    if args.do_predict and is_main_process():
        spans = predict_spans(backend, trainer, splits["test"], feats["test"])
        path = N.write_submission(splits["test"], spans, Path(args.output_dir) / "cluener_predict.json")
        print(f"wrote {path} ({len(spans)} rows)")
    plot_run(args, log_path, f"cluener_{args.global_pointer_head}", "CLUENER")
    return 0


if __name__ == "__main__":
    sys.exit(main())
