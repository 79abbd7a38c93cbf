"""Prediction on real-sized data: several batches of different lengths through each backend's trainer, for every
head (sequence classification, question answering, GlobalPointer spans), on BERT checkpoints saved with
`use_cache: true` by transformers and by PaddleNLP (whose models then return their key/value cache, which a trainer
would concatenate across batches of different lengths: paddle.concat's "128 != 127"). Each gathered prediction is
checked against the same model run on that row alone, unpadded."""
import dataclasses
import json
import random

import numpy as np
import pytest

from test_readme import VOCAB

ROWS, BATCH = 37, 8            # 5 batches, the last one short; lengths drawn per row (5..30 tokens), unsorted
ATOL = 1e-4                    # float32, padded batch vs the row alone (attention masks the padding)
NUM_LABELS, TYPES = 3, 10
SPECIAL = dict(unk_token="<unk>", pad_token="<pad>", cls_token="<cls>", sep_token="<sep>", mask_token="<mask>")


def rows(seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(ROWS):
        n = rng.randint(5, 30)
        out.append([2] + [rng.randrange(5, len(VOCAB)) for _ in range(n - 2)] + [3])  # [CLS] ... [SEP]
    return out


def bert_dirs(tmp_path, head, paddlenlp=True):
    """{"transformers": dir} and (with paddlenlp) {"paddlenlp": dir} of a tiny BERT with this head, config use_cache
    true."""
    import torch
    import transformers
    from transformers import BertTokenizerFast

    from parity.ecosystem import SPECS
    torch.manual_seed(0)
    config = transformers.BertConfig(**dict(SPECS["bert"].TINY, vocab_size=len(VOCAB), max_position_embeddings=64),
                                     use_cache=True, num_labels=2 if head == "question_answering" else NUM_LABELS)
    src = tmp_path / f"hf-{head}"
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    if head == "global_pointer":
        transformers.BertModel(config).save_pretrained(tmp_path / "hf-encoder")
        from torch_ref.global_pointer import GlobalPointerForNER
        GlobalPointerForNER.from_pretrained(tmp_path / "hf-encoder", heads=TYPES, head_size=8).save_pretrained(src)
    else:
        cls = {"sequence_classification": transformers.BertForSequenceClassification,
               "question_answering": transformers.BertForQuestionAnswering}[head]
        cls(config).save_pretrained(src)
    BertTokenizerFast(vocab_file=str(vocab), **SPECIAL).save_pretrained(src)
    assert json.loads((src / "config.json").read_text())["use_cache"] is True
    out = {"transformers": src}
    if paddlenlp and head != "global_pointer":  # PaddleNLP's own BERT, saved by PaddleNLP from the same weights
        import paddle  # noqa: F401
        import paddlenlp.transformers as PT
        pcls = {"sequence_classification": PT.BertForSequenceClassification,
                "question_answering": PT.BertForQuestionAnswering}[head]
        model = pcls.from_pretrained(str(src), convert_from_torch=True, num_labels=config.num_labels)
        model.config.use_cache = True
        dst = tmp_path / f"pd-{head}"
        model.save_pretrained(str(dst))
        PT.BertTokenizer(vocab_file=str(vocab), **SPECIAL).save_pretrained(str(dst))  # PaddleNLP's tokenizer files
        assert json.loads((dst / "config.json").read_text())["use_cache"] is True
        assert not (dst / "model.safetensors").exists() and (dst / "model_state.pdparams").is_file()
        out["paddlenlp"] = dst
    return out


def trainer_for(backend_name, tmp_path, head, model):
    from tasks.arguments import parse
    from tasks.backends import get_backend, prepare_training_arguments

    @dataclasses.dataclass
    class NoData:
        pass
    a = parse("test", NoData, ["--backend", backend_name, "--model_name_or_path", "unused", "--output_dir", str(tmp_path / f"out-{backend_name}"),
                               "--per_device_eval_batch_size", str(BATCH), "--report_to", "none",
                               "--disable_tqdm", "True"])
    backend = get_backend(backend_name)
    prepare_training_arguments(a.training, head, None, tmp_path, evaluate_each_epoch=False, logging_dir_given=False)
    return backend, backend.make_trainer(a.training, a.kit, head, model, None, None, lambda p: {},
                                         tmp_path / f"log-{backend_name}.jsonl", 0)


def alone(backend_name, model, ids):
    """The model's outputs on one row, no padding, as numpy."""
    inputs = dict(input_ids=[ids], token_type_ids=[[0] * len(ids)], attention_mask=[[1] * len(ids)])
    if backend_name == "torch":
        import torch
        model.eval()
        with torch.no_grad():
            out = model(**{k: torch.tensor(v) for k, v in inputs.items()}, return_dict=True)
        return {k: v.numpy() for k, v in out.items() if hasattr(v, "numpy") and k.endswith("logits")}
    import paddle
    model.eval()
    with paddle.no_grad():
        out = model(**{k: paddle.to_tensor(v) for k, v in inputs.items()}, return_dict=True)
    return {k: v.numpy() for k, v in out.items() if hasattr(v, "numpy") and k.endswith("logits")}


CASES = [(h, b, s) for h in ("sequence_classification", "question_answering", "global_pointer")
         for b in ("torch", "paddle") for s in ("transformers", "paddlenlp")
         if not (s == "paddlenlp" and (b == "torch" or h == "global_pointer"))]


@pytest.mark.parametrize("head,backend_name,source", CASES)
def test_predictions_over_batches_of_different_lengths(tmp_path, head, backend_name, source):
    from tasks.backends import get_backend
    from tasks.batches import FeatureDataset
    from tasks.spans import decode
    path = bert_dirs(tmp_path, head, paddlenlp=source == "paddlenlp")[source]
    span = dict(heads=TYPES, head_size=8) if head == "global_pointer" else None
    model = get_backend(backend_name).load_model(path, head, 2 if head == "question_answering" else NUM_LABELS, span)
    backend, trainer = trainer_for(backend_name, tmp_path, head, model)
    data = rows()
    feats = [{"input_ids": ids, "token_type_ids": [0] * len(ids)} for ids in data]
    output = trainer.predict(FeatureDataset(feats))
    longest = max(map(len, data))
    if head == "sequence_classification":
        got = backend.predictions(output)
        assert got.shape == (ROWS, NUM_LABELS)
        for r, ids in enumerate(data):
            np.testing.assert_allclose(got[r], alone(backend_name, model, ids)["logits"][0], atol=ATOL)
    elif head == "question_answering":
        start, end = backend.predictions_pair(output)
        assert start.shape == end.shape == (ROWS, longest)
        assert (start == -100).any()  # batches of different lengths were gathered
        for r, ids in enumerate(data):
            ref = alone(backend_name, model, ids)
            n = len(ids)
            np.testing.assert_allclose(start[r, :n], ref["start_logits"][0], atol=ATOL)
            np.testing.assert_allclose(end[r, :n], ref["end_logits"][0], atol=ATOL)
            padded = max(len(x) for x in data[r // BATCH * BATCH:(r // BATCH + 1) * BATCH])  # the batch's length
            assert (start[r, padded:] == -100).all() and (end[r, padded:] == -100).all()  # the trainers' padding
    else:
        found = backend.predictions(output)  # [ROWS, K, 3] decoded spans, -1 / -100 past a row's spans
        assert found.ndim == 3 and found.shape[0] == ROWS and found.shape[2] == 3
        total = 0
        for r, ids in enumerate(data):
            ref = {(t, s, e) for _, t, s, e in decode(alone(backend_name, model, ids)["logits"], [len(ids)])}
            got = {tuple(int(v) for v in row) for row in found[r] if row[0] >= 0}
            assert got == ref, r
            total += len(ref)
        assert total > ROWS  # a random head at threshold 0 predicts spans in most rows: the check saw some


def test_run_predict_on_a_paddlenlp_bert_test_file_of_several_batches(tmp_path, monkeypatch):
    """glue/run_predict.py, Paddle, a PaddleNLP-saved BERT with use_cache: an RTE test file of 37 rows of different
    lengths, 8 a batch (the crash of the arguments issue: RTE's 1384 rows)."""
    from glue.run_predict import main as predict
    monkeypatch.chdir(tmp_path)
    rng = random.Random(1)
    words = [w for w in VOCAB if w.isalpha()]
    lines = ["index\tsentence1\tsentence2"]
    for i in range(ROWS):
        lines.append(f"{i}\t{' '.join(rng.choices(words, k=rng.randint(2, 20)))}\t"
                     f"{' '.join(rng.choices(words, k=rng.randint(1, 12)))}")
    (tmp_path / "rte").mkdir()
    (tmp_path / "rte" / "test.tsv").write_text("\n".join(lines) + "\n")
    path = bert_dirs(tmp_path, "sequence_classification")["paddlenlp"]
    # RTE has two labels: a fresh 2-way head on the 3-way checkpoint (ignore_mismatched_sizes)
    assert predict(["--backend", "paddle", "--model_name_or_path", str(path), "--task_name", "rte",
                    "--data_dir", str(tmp_path / "rte"), "--output_dir", str(tmp_path / "sub"),
                    "--per_device_eval_batch_size", str(BATCH), "--report_to", "none"]) == 0
    out = (tmp_path / "sub" / "RTE.tsv").read_text().splitlines()
    assert out[0] == "index\tprediction" and len(out) == ROWS + 1
    assert {line.split("\t")[1] for line in out[1:]} <= {"entailment", "not_entailment"}
