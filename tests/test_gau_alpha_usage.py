"""The GAU-alpha repos' own usage lines run unchanged against the kit's classes, on both backends, and print the
same top-5: GAU-alpha-pytorch's test_mlm.py (`pt_model(**pt_inputs).logits[0]`) and its Paddle twin test_mlm_pd.py
(`pd_model(**pd_inputs)[0][0]`), with transformers' BertTokenizer on the checkpoint's vocab.txt. Only the import lines
differ from the seeds: the checkpoint names resolve through a Hugging Face cache the test builds. Plus the ModelOutput / return_dict conventions of every head."""
import re

import numpy as np
import paddle
import pytest
import torch

import paddlenlp_ext.gau_alpha as P
import torch_ref.gau_alpha as R
from parity import gau_alpha as GA

CHARS = list("今天气很好我们去公园玩要想又就跑阳晴心情不错的是了")
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。"] + CHARS

TORCH_SEED = '''
text = "今天[MASK]很好，我[MASK]去公园玩。"
tokenizer = GAUAlphaTokenizer.from_pretrained(
    "junnyu/chinese_GAU-alpha-char_L-24_H-768"
)
pt_model = GAUAlphaForMaskedLM.from_pretrained(
    "junnyu/chinese_GAU-alpha-char_L-24_H-768"
)

pt_inputs = tokenizer(text, return_tensors="pt")

with torch.no_grad():
    pt_outputs = pt_model(**pt_inputs).logits[0]
pt_outputs_sentence = "pytorch: "
for i, id in enumerate(tokenizer.encode(text)):
    if id == tokenizer.mask_token_id:
        val, idx = pt_outputs[i].softmax(-1).topk(k=5)
        tokens = tokenizer.convert_ids_to_tokens(idx)
        new_tokens = []
        for v, t in zip(val.cpu(), tokens):
            new_tokens.append(f"{t}+{round(v.item(),4)}")
        pt_outputs_sentence += "[" + "||".join(new_tokens) + "]"
    else:
        pt_outputs_sentence += "".join(
            tokenizer.convert_ids_to_tokens([id], skip_special_tokens=True)
        )
print(pt_outputs_sentence)
'''

PADDLE_SEED = '''
text = "今天[MASK]很好，我[MASK]去公园玩。"
tokenizer = GAUAlphaTokenizer.from_pretrained(
    "junnyu/chinese_GAU-alpha-char_L-24_H-768"
)
pd_model = GAUAlphaForMaskedLM.from_pretrained("chinese_GAU-alpha-char_L-24_H-768")
pd_model.eval()
pd_inputs = tokenizer(text)
pd_inputs = {k: paddle.to_tensor([v]) for k, v in pd_inputs.items()}

with paddle.no_grad():
    pd_outputs = pd_model(**pd_inputs)[0][0]

pd_outputs_sentence = "paddle: "
for i, id in enumerate(tokenizer.encode(text)):
    if id == tokenizer.mask_token_id:
        val, idx = paddle.nn.functional.softmax(pd_outputs[i], -1).topk(k=5)
        tokens = tokenizer.convert_ids_to_tokens(idx)
        new_tokens = []
        for v, t in zip(val.cpu(), tokens):
            new_tokens.append(f"{t}+{round(v.item(),4)}")
        pd_outputs_sentence += "[" + "||".join(new_tokens) + "]"
    else:
        pd_outputs_sentence += "".join(
            tokenizer.convert_ids_to_tokens([id], skip_special_tokens=True)
        )
print(pd_outputs_sentence)
'''


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory):
    """A tiny GAU-alpha MLM at trained weight scale, saved by the torch reference (model.safetensors, which both
    backends load) with a BERT vocab.txt, in a Hugging Face cache as junnyu/chinese_GAU-alpha-char_L-24_H-768: the
    name the seeds' lines use (the Paddle line's PaddleNLP built-in name is a registry alias of it)."""
    from hf_cache import put_in_hf_cache
    root = tmp_path_factory.mktemp("gau")
    d = root / "src"
    kw = GA.config_kwargs(GA.TINY, "GAUAlphaForMaskedLM", vocab_size=len(VOCAB))
    model = GA.build_torch(kw, "GAUAlphaForMaskedLM", seed=3, realistic=True)
    with torch.no_grad():  # trained-scale embeddings (std 1): the tied decoder gives peaked candidates, not a tie
        model.gau_alpha.embeddings.word_embeddings.weight.mul_(50.0)
    model.save_pretrained(d)
    (d / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    put_in_hf_cache(root / "hf" / "hub", "junnyu/chinese_GAU-alpha-char_L-24_H-768", d)
    return root / "hf"


IMPORTS = {"torch": "import torch\nfrom torch_ref.gau_alpha import GAUAlphaForMaskedLM\n",
           "paddle": "import paddlenlp_ext\nimport paddle\nfrom paddlenlp_ext.gau_alpha import GAUAlphaForMaskedLM\n"}


def run_seed(code, side, hf_home, tmp_path):
    """A seed script, unchanged but for its imports (the kit's class; transformers' BertTokenizer is what the seeds'
    GAUAlphaTokenizer is), run in a fresh process offline against the HF cache; its printed line, parsed."""
    import os
    import subprocess
    import sys
    script = tmp_path / f"seed_{side}.py"
    script.write_text(IMPORTS[side] + "from transformers import BertTokenizer as GAUAlphaTokenizer\n" + code,
                      encoding="utf-8")
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "REPROKIT_HOME": str(tmp_path / "store")}
    env.pop("HF_HUB_CACHE", None)
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    line = run.stdout.strip().splitlines()[-1]
    prefix, body = line.split(": ", 1)
    cand = r"[^|]+?\+[0-9.e-]+"
    masks = re.findall(rf"\[({cand}(?:\|\|{cand}){{4}})\]", body)
    return prefix, body, [[(c.rsplit("+", 1)[0], float(c.rsplit("+", 1)[1])) for c in m.split("||")] for m in masks]


def test_seed_usage_lines_print_the_same_top5_on_both_backends(hf_home, tmp_path):
    pt = run_seed(TORCH_SEED, "torch", hf_home, tmp_path)
    pd = run_seed(PADDLE_SEED, "paddle", hf_home, tmp_path)
    assert (pt[0], pd[0]) == ("pytorch", "paddle")
    assert len(pt[2]) == 2 and all(len(m) == 5 for m in pt[2])  # two [MASK]s, five candidates each
    assert pt[1].startswith("今天[") and pt[1].endswith("]去公园玩。") and "]很好，我[" in pt[1]
    for mt, mp in zip(pt[2], pd[2]):
        assert [t for t, _ in mt] == [t for t, _ in mp]                    # the same candidates in the same order
        np.testing.assert_allclose([p for _, p in mp], [p for _, p in mt], atol=1e-4, rtol=0)
    assert pt[2][0][0][1] > 0.2  # a peaked distribution at trained scale: the order is not a tie-break


ARCHS = ["GAUAlphaModel", "GAUAlphaForMaskedLM", "GAUAlphaForSequenceClassification", "GAUAlphaForMultipleChoice",
         "GAUAlphaForTokenClassification", "GAUAlphaForQuestionAnswering"]
OUTPUT_TYPES = {"GAUAlphaModel": "BaseModelOutput", "GAUAlphaForMaskedLM": "MaskedLMOutput",
                "GAUAlphaForSequenceClassification": "SequenceClassifierOutput",
                "GAUAlphaForMultipleChoice": "MultipleChoiceModelOutput",
                "GAUAlphaForTokenClassification": "TokenClassifierOutput",
                "GAUAlphaForQuestionAnswering": "QuestionAnsweringModelOutput"}


@pytest.mark.parametrize("arch", ARCHS)
def test_outputs_follow_the_ecosystems(arch):
    """transformers' ModelOutput on torch, PaddleNLP's on Paddle (same class names); None entries left out; integer
    indexing and return_dict=False give the tuple (loss first when there is one); config.return_dict=False too."""
    kw = GA.config_kwargs(GA.TINY, arch)
    tm, pm = GA.build_pair(kw, arch)
    batch = GA.make_batch(arch, kw, lengths=[5, 3], seed=0)
    for side, model, tensor, module in (("torch", tm, torch.tensor, "transformers.modeling_outputs"),
                                        ("paddle", pm, paddle.to_tensor, "paddlenlp.transformers.model_outputs")):
        inputs = {k: tensor(v) for k, v in batch.items()}
        out = model(**inputs)
        assert type(out).__name__ == OUTPUT_TYPES[arch] and type(out).__module__ == module, side
        has_loss = arch != "GAUAlphaModel"
        assert ("loss" in out) == has_loss and "hidden_states" not in out and "attentions" not in out
        tup = model(**inputs, return_dict=False, output_hidden_states=True)
        assert isinstance(tup, tuple)
        keys = list(model(**inputs, output_hidden_states=True).keys())
        assert len(tup) == len(keys) and keys[-1] == "hidden_states"
        assert len(tup[-1]) == kw["num_hidden_layers"] + 1
        first = "loss" if has_loss else keys[0]
        np.testing.assert_array_equal(np.asarray(out[0].detach() if side == "torch" else out[0]),
                                      np.asarray(out[first].detach() if side == "torch" else out[first]))
        model.config.return_dict = False
        try:
            assert isinstance(model(**inputs), tuple), side
        finally:
            model.config.return_dict = True
