"""compare.py on a transformers model and its PaddleNLP counterpart (parity/ecosystem.py): the parameter table and
the layer matching come from PaddleNLP's own torch -> Paddle name mappings, every layer is compared forward and
backward. A correct pair passes; an injected bug is located; the differences PaddleNLP 2.8.1 really has are found
and located (each asserted here, so a PaddleNLP fix or a harness change shows up)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
import torch

from parity.common import tensor_checks
from parity.ecosystem import SPECS
from reprokit.diff import failures

ROOT = Path(__file__).resolve().parents[1]
UNPADDED = (9, 9, 9)  # no pad token: PaddleNLP's pad-row handling (below) does not enter


def check(model, arch, lengths=UNPADDED, inject=None, steps=2, realistic=True):
    spec = SPECS[model]
    kw = spec.config_kwargs(spec.TINY, arch)
    pairs = None
    if inject:
        pairs = {dt: spec.build_pair(kw, arch, realistic=realistic, dtype=dt) for dt in ("float32", "float64")}
        for tm, pm in pairs.values():
            inject(tm, pm)
    res = spec.run_checks(kw, arch, realistic=realistic, lengths=lengths, steps=0 if inject else steps, pairs=pairs,
                          batch=spec.make_batch(arch, kw, lengths=lengths) if inject else None)
    failed = {k: [d.name for d in failures(v)] for k, v in tensor_checks(res).items() if failures(v)}
    return res, failed


def test_table_is_paddlenlps_mapping_with_every_parameter_once():
    spec = SPECS["bert"]
    arch = "BertForSequenceClassification"
    kw = spec.config_kwargs(spec.TINY, arch)
    table = spec.reference_table(kw, arch)
    tm = spec.make_torch(kw, arch)
    params = dict(tm.named_parameters())
    assert sorted(p.name for p in table) == sorted(params)  # every torch parameter exactly once
    linear_weights = {f"{n}.weight" for n, m in tm.named_modules() if isinstance(m, torch.nn.Linear)}
    assert {p.name for p in table if p.transpose} == linear_weights  # PaddleNLP's "transpose" actions, not shapes
    renamed = {p.name: p.paddle_name for p in table if p.paddle_name}
    assert renamed["bert.encoder.layer.1.attention.self.query.weight"] == "bert.encoder.layers.1.self_attn.q_proj.weight"
    assert renamed["bert.embeddings.LayerNorm.weight"] == "bert.embeddings.layer_norm.weight"
    assert spec.paddle_only(kw, arch) == []
    # QA: PaddleNLP's class has a pooler the torch class has not; listed, left at its init
    assert spec.paddle_only(spec.config_kwargs(spec.TINY, "BertForQuestionAnswering"), "BertForQuestionAnswering") \
        == ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]


@pytest.mark.parametrize("model,arch", [("bert", a) for a in SPECS["bert"].ARCHITECTURES]
                         + [("roberta", a) for a in SPECS["roberta"].ARCHITECTURES if a != "RobertaModel"])
def test_correct_pairs_pass_every_check_and_layer(model, arch):
    res, failed = check(model, arch)
    assert not failed, failed
    lay = res["layers"]
    assert lay["first_divergence"] == {"forward": None, "backward": None}
    names = {e["layer"] for e in lay["forward"]}
    layer1 = "bert.encoder.layer.1" if arch.startswith("BertFor") else \
        "encoder.layer.1" if arch == "BertModel" else "roberta.encoder.layer.1"
    # matched through the mapping: HF's query / intermediate.dense are PaddleNLP's self_attn.q_proj / linear1
    assert {f"{layer1}.attention.self.query", f"{layer1}.intermediate.dense", f"{layer1}.output.LayerNorm"} <= names
    assert len(lay["forward"]) >= 20 and len(lay["backward"]) >= 50
    assert "train_weights" in tensor_checks(res)


def test_injected_bugs_are_located_at_the_mapped_layer():
    """Forward: the Paddle linear1 of layer 1 (HF's intermediate.dense) computes 0.1% too much. Backward only: the
    gradient reaching that layer's output is 0.1% too large (forward exact). The report names the torch layer."""
    def forward_bug(tm, pm):
        pm.bert.encoder.layers[1].linear1.register_forward_post_hook(lambda layer, inp, out: out * 1.001)
    res, failed = check("bert", "BertForSequenceClassification", inject=forward_bug)
    assert failed
    first = res["layers"]["first_divergence"]["forward"]
    assert first["layer"] == "bert.encoder.layer.1.intermediate.dense", first
    assert first["after"] == "bert.encoder.layer.1.attention.output.LayerNorm", first

    def backward_bug(tm, pm):
        def hook(layer, inp, out):
            out.register_hook(lambda g: g * 1.001)
            return out
        pm.bert.encoder.layers[1].linear1.register_forward_post_hook(hook)
    res, failed = check("bert", "BertForSequenceClassification", inject=backward_bug)
    assert failed and "forward_ids" not in failed
    first = res["layers"]["first_divergence"]
    assert first["forward"] is None
    assert first["backward"]["name"] == "bert.encoder.layer.1.intermediate.dense:in0", first


def test_paddlenlp_differences_found_and_located():
    """What the pair comparison finds in PaddleNLP 2.8.1 against transformers 4.46.3, with padded batches:
    - BERT: the word embeddings' pad row gets a gradient in Paddle (HF's padding_idx keeps it at zero): forward
      equal, the embedding gradient differs in row pad_token_id only;
    - RoBERTa: the same for the position embeddings (PaddleNLP builds them without padding_idx);
    - token classification: the loss over rows with ignored (-100) labels differs (Paddle's mean divides by every
      row), first backward divergence at the classifier's input;
    - RobertaModel: PaddleNLP's mapping names its pooler `roberta.pooler...`, which the bare Paddle model has not,
      so the converter loads the torch `pooler.dense.weight` under its own name untransposed: first forward
      divergence at pooler.dense."""
    res, failed = check("bert", "BertForSequenceClassification", lengths=(9, 5, 1))
    assert failed.keys() == {"backward_ids", "float64_backward_ids"}, failed
    assert failed["backward_ids"] == ["bert.embeddings.word_embeddings.weight"]
    assert res["layers"]["first_divergence"]["forward"] is None
    assert res["layers"]["first_divergence"]["backward"]["layer"] == "bert.embeddings.word_embeddings"

    spec = SPECS["roberta"]
    arch = "RobertaForQuestionAnswering"
    kw = spec.config_kwargs(spec.TINY, arch)
    from parity.common import forward_backward
    tm, pm = spec.build_pair(kw, arch)
    (_, gt), (_, gp) = forward_backward(tm, pm, spec.make_batch(arch, kw, lengths=(9, 5, 1)))
    key = "roberta.embeddings.position_embeddings.weight"
    rows = np.nonzero(np.abs(gt[key] - gp[key]).max(axis=1) > 1e-4)[0]
    assert rows.tolist() == [kw["pad_token_id"]] and not gt[key][kw["pad_token_id"]].any()

    res, failed = check("bert", "BertForTokenClassification", lengths=(9, 5, 1))
    assert "loss" in failed["forward_ids"] and res["layers"]["first_divergence"]["forward"] is None
    assert res["layers"]["first_divergence"]["backward"]["name"] == "classifier:in0"

    res, failed = check("roberta", "RobertaModel")
    assert failed["forward_ids"] == ["pooler_output"]
    assert res["layers"]["first_divergence"]["forward"]["layer"] == "pooler.dense"


def test_compare_cli_on_a_transformers_checkpoint(tmp_path):
    """`compare.py --checkpoint DIR --text FILE` on a transformers BERT directory: transformers loads the torch side,
    PaddleNLP's conversion the Paddle side; the report is written and names the model."""
    from transformers import BertTokenizerFast
    spec = SPECS["bert"]
    arch = "BertForSequenceClassification"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(59)]
    tm = spec.build_torch(spec.config_kwargs(spec.TINY, arch), arch, realistic=True)
    ckpt = tmp_path / "bert-tiny"
    tm.save_pretrained(ckpt)
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(ckpt)
    (tmp_path / "text.txt").write_text("w1 w2 w3 w4 w5\tw6 w7\nw8 w9 w10 w11 w12 w13\tw15\n")  # 10 tokens each
    out = subprocess.run([sys.executable, str(ROOT / "compare.py"), "--checkpoint", str(ckpt), "--text",
                          str(tmp_path / "text.txt"), "--steps", "0", "--out", str(tmp_path / "o"), "--figure", "",
                          "--name", "bert"], capture_output=True, text=True, cwd=tmp_path)
    report = json.loads((tmp_path / "o" / "bert.json").read_text())
    assert report["runs"][0]["model"] == "bert" and report["runs"][0]["arch"] == arch
    assert out.returncode == 0 and report["verdict"] == "PASS", out.stdout[-3000:]
    # a PaddleNLP directory is not a pair source: one clear line, exit 2
    (tmp_path / "pd").mkdir()
    (tmp_path / "pd" / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": [arch]}))
    out = subprocess.run([sys.executable, str(ROOT / "compare.py"), "--checkpoint", str(tmp_path / "pd"),
                          "--out", str(tmp_path / "o2")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2 and "no transformers weights" in out.stderr and not (tmp_path / "o2").exists()
