"""Predict CLUENER entities with a fine-tuned GlobalPointer model (either backend's directory, on either backend).

    python cluener/predict.py test out/cluener cluener_predict.json --test_file cluener_data/test.json
    python cluener/predict.py test out/cluener gp_test.json   # the test set the model was trained with (or fetched)
    python cluener/predict.py predict out/cluener          # reads one text per line from stdin, prints its entities
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cluener import data as N
from reprokit import KitError
from tasks.batches import pad_batch
from tasks.spans import decode
from tasks.cli import load_named_dataset
from tasks.tokenization import encode_with_offsets, tokenizer_for


def load(model_dir, backend: str, device=None):
    """The fine-tuned span model on `device` (default: a GPU where there is one, as the seed repo's --device)."""
    if backend == "torch":
        import torch
        from torch_ref.global_pointer import GlobalPointerForNER
        model = GlobalPointerForNER.from_pretrained(model_dir)
        want = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to("cuda" if want in ("gpu", "cuda") else want)
    else:
        import paddle
        from paddlenlp_ext.global_pointer import GlobalPointerForNER
        if device:
            paddle.set_device("gpu" if device in ("gpu", "cuda") else device)
        model = GlobalPointerForNER.from_pretrained(model_dir)
    if "global_pointer" not in json.loads((Path(model_dir) / "config.json").read_text()):
        raise KitError(f"{model_dir}: not a fine-tuned GlobalPointer model (config.json names no head)")
    return model


def predict(model, backend: str, tok, texts, max_length: int = 256, batch_size: int = 16):
    """Character spans (start, end inclusive, type) for each text."""
    out = []
    for i in range(0, len(texts), batch_size):
        encoded = [encode_with_offsets(tok, t, max_length) for t in texts[i:i + batch_size]]
        batch = pad_batch([{"input_ids": ids, "token_type_ids": [0] * len(ids)} for ids, _ in encoded],
                          getattr(tok, "pad_token_id", 0) or 0)
        if backend == "torch":
            import torch
            device = next(model.parameters()).device
            with torch.no_grad():
                logits = model(**{k: torch.from_numpy(v).to(device) for k, v in batch.items()}).logits.cpu().numpy()
        else:
            import paddle
            with paddle.no_grad():
                logits = model(**{k: paddle.to_tensor(v) for k, v in batch.items()}).logits.numpy()
        lengths = [len(ids) for ids, _ in encoded]
        per_row = {}
        for b, t, s, e in decode(logits, lengths):
            per_row.setdefault(b, []).append((t, s, e))
        out += [N.char_spans(texts[i + b], per_row.get(b, []), encoded[b][1]) for b in range(len(encoded))]
    return out


def test_examples(args, model_dir: Path):
    """test: the examples to predict: --test_file, else the data the model was trained on (its run record names the
    log folder, whose args.json names the data), else the fetched CLUENER test.json."""
    if args.test_file:
        return N.read_file(args.test_file, has_labels=False), args.test_file
    record = model_dir / "kit_run.json"
    trained_on = {}
    if record.is_file():
        log_args = Path(json.loads(record.read_text()).get("log_dir") or "") / "args.json"
        if log_args.is_file():
            trained_on = json.loads(log_args.read_text())
    if trained_on.get("test_file"):
        return N.read_file(trained_on["test_file"], has_labels=False), trained_on["test_file"]
    if trained_on.get("data_dir") and (Path(trained_on["data_dir"]) / "test.json").is_file():
        path = Path(trained_on["data_dir"]) / "test.json"
        return N.read_file(path, has_labels=False), str(path)
    if trained_on.get("dataset_name"):
        ds = load_named_dataset(trained_on["dataset_name"], trained_on.get("dataset_config_name"), split="test",
                                origin=f" (from {log_args})")
        return N.examples_from_dataset(ds, f"{trained_on['dataset_name']} test"), trained_on["dataset_name"]
    from artifacts.names import resolve_data
    path = resolve_data("cluener") / "test.json"
    return N.read_file(path, has_labels=False), str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Predict CLUENER entities with a fine-tuned GlobalPointer model, on "
                                             "either backend.",
                                 epilog="test: the submission file for a test set (default: the data the model was "
                                        "trained on, else the fetched CLUENER test.json); predict: one text per line "
                                        "from stdin, its entities as JSON on stdout.")
    ap.add_argument("mode", choices=["test", "predict"])
    ap.add_argument("model", help="a fine-tuned span model (directory or name)")
    ap.add_argument("out", nargs="?", default="cluener_predict.json",
                    help="test: the submission file to write (default cluener_predict.json)")
    ap.add_argument("--test_file", help="test: a CLUENER test file")
    ap.add_argument("--backend", choices=["paddle", "torch"], default="paddle")
    ap.add_argument("--max_seq_length", type=int, default=256)
    ap.add_argument("--device", default=None, help="cpu, gpu or cuda (default: a GPU when there is one)")
    args = ap.parse_args(argv)
    try:
        from artifacts.names import resolve_model
        model_dir = resolve_model(args.model)
        model, tok = load(model_dir, args.backend, args.device), tokenizer_for(model_dir)
        if args.mode == "test":
            examples, source = test_examples(args, model_dir)
            spans = predict(model, args.backend, tok, [e.text for e in examples], args.max_seq_length)
            print(f"wrote {N.write_submission(examples, spans, args.out)} ({len(examples)} rows of {source})")
            return 0
        for line in sys.stdin:
            text = line.rstrip("\n")
            if text:
                spans = predict(model, args.backend, tok, [text], args.max_seq_length)[0]
                print(json.dumps({"text": text, "label": N.label_of(text, spans)}, ensure_ascii=False), flush=True)
        return 0
    except KitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
