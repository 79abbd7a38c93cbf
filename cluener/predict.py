"""Predict CLUENER entities with a fine-tuned GlobalPointer model (either backend's directory, on either backend).

    python cluener/predict.py test out/cluener cluener_predict.json --test_file cluener_data/test.json
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
from tasks.tokenization import encode_with_offsets, tokenizer_for


def load(model_dir, backend: str):
    if backend == "torch":
        from torch_ref.global_pointer import GlobalPointerForNER
    else:
        from paddlenlp_ext.global_pointer import GlobalPointerForNER
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
            with torch.no_grad():
                logits = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).logits.numpy()
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["test", "predict"])
    ap.add_argument("model")
    ap.add_argument("out", nargs="?", help="test: the submission file to write (cluener_predict.json)")
    ap.add_argument("--test_file", help="test: the CLUENER test file")
    ap.add_argument("--backend", choices=["paddle", "torch"], default="paddle")
    ap.add_argument("--max_seq_length", type=int, default=256)
    args = ap.parse_args(argv)
    try:
        model, tok = load(args.model, args.backend), tokenizer_for(args.model)
        if args.mode == "test":
            if not (args.out and args.test_file):
                raise KitError("test: give the output file and --test_file")
            examples = N.read_file(args.test_file, has_labels=False)
            spans = predict(model, args.backend, tok, [e.text for e in examples], args.max_seq_length)
            print(f"wrote {N.write_submission(examples, spans, args.out)} ({len(examples)} rows)")
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
