"""The GAU-α tokenizer: BERT-style WordPiece over the Chinese character vocabulary (vocab.txt) shipped with the
checkpoint, framework-neutral (HF `tokenizers`, no torch or paddle). Pairs get token types 0/1 (segments) or all 0
(the GAU-α fine-tuning recipe), chosen by `pair_token_types`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from reprokit import KitError

SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class GAUAlphaTokenizer:
    def __init__(self, vocab_file, do_lower_case: bool = True, pair_token_types: str = "segments"):
        from tokenizers import BertWordPieceTokenizer
        path = Path(vocab_file)
        if not path.is_file():
            raise KitError(f"{path}: vocabulary file not found")
        if pair_token_types not in ("segments", "zeros"):
            raise ValueError(f"pair_token_types {pair_token_types!r}: use 'segments' (0/1) or 'zeros'")
        vocab = path.read_text(encoding="utf-8").splitlines()
        missing = [t for t in SPECIAL if t not in vocab]
        if missing:
            raise KitError(f"{path}: special tokens missing from the vocabulary: {', '.join(missing)}")
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.ids_to_tokens = vocab
        self.pair_token_types = pair_token_types
        self._tok = BertWordPieceTokenizer(str(path), lowercase=do_lower_case, handle_chinese_chars=True,
                                           strip_accents=do_lower_case, clean_text=True)
        for name in ("pad", "unk", "cls", "sep", "mask"):
            setattr(self, f"{name}_token_id", self.vocab[f"[{name.upper()}]"])

    @classmethod
    def from_pretrained(cls, directory, revision=None, **kwargs) -> "GAUAlphaTokenizer":
        """From a checkpoint directory or name (artifacts.names: registry name or alias, hub repo id)."""
        from artifacts.names import resolve_model
        return cls(resolve_model(directory, revision, need_weights=False) / "vocab.txt", **kwargs)

    def tokenize(self, text: str) -> List[str]:
        return self._tok.encode(text, add_special_tokens=False).tokens

    def __call__(self, text: str, text_pair: Optional[str] = None, max_length: int = 512,
                 truncation: bool = True) -> Dict[str, List[int]]:
        """[CLS] a [SEP] (b [SEP]); the longer side is truncated first to fit max_length (`truncation` is accepted
        for HF-style calls; truncation is always on)."""
        a = self._tok.encode(text, add_special_tokens=False).ids
        b = self._tok.encode(text_pair, add_special_tokens=False).ids if text_pair is not None else None
        budget = max_length - (3 if b is not None else 2)
        if budget < 0:
            raise ValueError(f"max_length {max_length} leaves no room for the special tokens")
        while len(a) + (len(b) if b else 0) > budget:
            if b and len(b) >= len(a):
                b.pop()
            else:
                a.pop()
        ids = [self.cls_token_id] + a + [self.sep_token_id]
        types = [0] * len(ids)
        if b is not None:
            ids += b + [self.sep_token_id]
            types += [1 if self.pair_token_types == "segments" else 0] * (len(b) + 1)
        return {"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)}

    def convert_ids_to_tokens(self, ids) -> List[str]:
        return [self.ids_to_tokens[i] for i in ids]


def tokenizer_for(path, pair_token_types: str = "zeros", fast_only: bool = False):
    """The tokenizer of the checkpoint in `path`: GAU-alpha's (pairs with all-0 token types by default, the GAU-alpha
    recipe; "segments" for 0/1) or transformers' AutoTokenizer for everything else. `path`: a directory or a name
    (artifacts.names)."""
    from artifacts.names import resolve_model
    from reprokit.checkpoint import read_config
    path = resolve_model(path, need_weights=False)
    if read_config(path).get("model_type") == "gau_alpha":
        if fast_only:
            raise KitError(f"{path}: a GAU-alpha checkpoint: this task needs a HF fast tokenizer (offset mappings)")
        return GAUAlphaTokenizer.from_pretrained(path, pair_token_types=pair_token_types)
    from transformers import AutoTokenizer
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as e:
        raise KitError(f"{path}: no tokenizer files ({e})") from None


def encode_with_offsets(tok, text: str, max_length: int):
    """[CLS] text [SEP], truncated to max_length: (ids, offsets) with each token's (start, end) in the ORIGINAL text
    (None for the special tokens), for span tasks. The GAU-alpha tokenizer or a HF fast tokenizer."""
    if isinstance(tok, GAUAlphaTokenizer):
        enc = tok._tok.encode(text, add_special_tokens=False)
        ids, offsets = enc.ids[:max_length - 2], [tuple(o) for o in enc.offsets[:max_length - 2]]
        return [tok.cls_token_id] + ids + [tok.sep_token_id], [None] + offsets + [None]
    enc = tok(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
    special = set(tok.all_special_ids)
    offsets = [None if i in special else tuple(o) for i, o in zip(enc["input_ids"], enc["offset_mapping"])]
    return list(enc["input_ids"]), offsets
