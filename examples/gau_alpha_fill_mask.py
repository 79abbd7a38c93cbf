"""Fill [MASK] with GAU-α: the top-5 candidates per [MASK], on either backend.

    python examples/gau_alpha_fill_mask.py --model path/to/chinese_GAU-alpha-char_L-24_H-768 \
        --text "今天[MASK]气很好，我们去[MASK]园玩。" --backend paddle

--model is a directory with config.json, vocab.txt and weights (a torch/HF directory or a native Paddle one).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


import numpy as np

from reprokit import KitError
from tasks.tokenization import GAUAlphaTokenizer
from reprokit.files import summary


def encode_with_masks(tokenizer: GAUAlphaTokenizer, text: str, max_length: int):
    """Tokenise around the literal [MASK] markers, so each becomes exactly one [MASK] token."""
    pieces = text.split("[MASK]")
    ids = [tokenizer.cls_token_id]
    for i, piece in enumerate(pieces):
        ids += tokenizer(piece)["input_ids"][1:-1] if piece else []
        if i < len(pieces) - 1:
            ids.append(tokenizer.mask_token_id)
    ids.append(tokenizer.sep_token_id)
    if len(ids) > max_length:
        raise ValueError(f"text is {len(ids)} tokens long, more than --max-length {max_length}")
    return np.array([ids], dtype="int64")


def mlm_logits(model_dir: Path, backend: str, ids: np.ndarray) -> np.ndarray:
    if backend == "torch":
        import torch
        import torch_ref.gau_alpha as R
        model = R.GAUAlphaForMaskedLM.from_pretrained(model_dir)
        with torch.no_grad():
            return model(torch.tensor(ids))["logits"].numpy()
    import paddle
    import paddlenlp_ext.gau_alpha as P
    model = P.GAUAlphaForMaskedLM.from_pretrained(model_dir)
    with paddle.no_grad():
        return model(paddle.to_tensor(ids))["logits"].numpy()


def top_k(logits: np.ndarray, ids: np.ndarray, tokenizer: GAUAlphaTokenizer, k: int = 5):
    """For each [MASK]: [(token, probability)] * k, best first."""
    out = []
    for pos in np.nonzero(ids[0] == tokenizer.mask_token_id)[0]:
        z = logits[0, pos].astype(np.float64)
        p = np.exp(z - z.max())
        p /= p.sum()
        best = np.argsort(-p, kind="stable")[:k]
        out.append([(tokenizer.ids_to_tokens[i], float(p[i])) for i in best])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--text", required=True)
    ap.add_argument("--backend", choices=["paddle", "torch"], default="paddle")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--max-length", type=int, default=512)
    args = ap.parse_args(argv)
    try:
        tokenizer = GAUAlphaTokenizer.from_pretrained(args.model)
        ids = encode_with_masks(tokenizer, args.text, args.max_length)
        if not (ids == tokenizer.mask_token_id).any():
            raise ValueError("the text has no [MASK]")
        results = top_k(mlm_logits(args.model, args.backend, ids), ids, tokenizer, args.top_k)
    except (KitError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.text)
    for n, candidates in enumerate(results, 1):
        print(f"[MASK] {n}: " + " | ".join(f"{tok} {p:.4f}" for tok, p in candidates))
    return 0


if __name__ == "__main__":
    sys.exit(main())
