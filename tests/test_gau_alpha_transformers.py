"""GAU-alpha as a transformers model (issue 22), torch only: the Auto classes (AutoConfig, AutoModel*,
AutoTokenizer), pipeline("fill-mask"), gradient checkpointing with equal losses and gradients, resize_token_embeddings,
inputs_embeds, save_pretrained / from_pretrained, push_to_hub. No paddle import, so the same file runs under the newest
transformers 5.x (tools/check_transformers_latest.sh) as under the pinned 4.46."""
import numpy as np
import pytest
import torch

import torch_ref  # noqa: F401  (registers GAU-alpha with the Auto classes)
import torch_ref.gau_alpha as RG
TOL = dict(rtol=1e-5, atol=1e-5)
# parity/gau_alpha.py's TINY, written out: parity imports PaddleNLP, which the transformers-5 venv does not have
TINY = dict(vocab_size=60, hidden_size=32, intermediate_size=48, num_hidden_layers=2, attention_key_size=16,
            max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def torch_gau(arch="GAUAlphaForMaskedLM", **over):
    torch.manual_seed(0)
    return getattr(RG, arch)(RG.GAUAlphaConfig(**dict(TINY, **over)))


VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("今天气很好我们去公园玩心情不错的是了")


def test_torch_gau_alpha_is_a_transformers_model_in_the_auto_classes(tmp_path):
    import transformers as T
    import torch_ref  # noqa: F401  (registers the Auto classes)
    model = torch_gau()
    assert isinstance(model, T.PreTrainedModel) and isinstance(model.config, T.PretrainedConfig)
    model.save_pretrained(tmp_path / "m")
    assert isinstance(T.AutoConfig.from_pretrained(tmp_path / "m"), RG.GAUAlphaConfig)
    ids = torch.randint(5, model.config.vocab_size, (2, 7))
    with torch.no_grad():
        want = model.eval()(ids).logits
    for auto, cls in ((T.AutoModelForMaskedLM, RG.GAUAlphaForMaskedLM), (T.AutoModel, RG.GAUAlphaModel)):
        loaded = auto.from_pretrained(tmp_path / "m")
        assert type(loaded) is cls
    with torch.no_grad():
        np.testing.assert_allclose(T.AutoModelForMaskedLM.from_pretrained(tmp_path / "m")(ids).logits.numpy(),
                                   want.numpy(), **TOL)
    # the tokenizer: BERT's WordPiece over the checkpoint's vocab.txt
    (tmp_path / "m" / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    tok = T.AutoTokenizer.from_pretrained(tmp_path / "m")
    assert tok.convert_ids_to_tokens(tok("今天")["input_ids"]) == ["[CLS]", "今", "天", "[SEP]"]


def test_torch_fill_mask_pipeline(tmp_path):
    import transformers as T
    import torch_ref  # noqa: F401
    model = torch_gau(vocab_size=len(VOCAB))
    model.save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    fill = T.pipeline("fill-mask", model=str(tmp_path / "m"), top_k=3)
    answers = fill("今天[MASK]很好")
    assert len(answers) == 3 and all("[MASK]" not in a["sequence"] for a in answers)
    ids = torch.tensor([[2, 5, 6, 4, 8, 9, 3]])  # [CLS] 今 天 [MASK] 很 好 [SEP]
    with torch.no_grad():
        probs = model.eval()(ids).logits[0, 3].softmax(-1)
    assert answers[0]["token"] == int(probs.argmax())
    assert answers[0]["score"] == pytest.approx(float(probs.max()), rel=1e-5)


@pytest.mark.parametrize("arch", ["GAUAlphaForMaskedLM", "GAUAlphaForSequenceClassification"])
def test_torch_gradient_checkpointing_same_loss_and_gradients(arch, monkeypatch):
    model = torch_gau(arch, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1).train()
    ids = torch.randint(5, model.config.vocab_size, (3, 9))
    labels = ids if "MaskedLM" in arch else torch.tensor([0, 1, 1])
    results, calls = [], []
    forward = RG.GAULayer.forward  # counted by wrapping forward: torch's non-reentrant recompute runs no hooks

    def counted(self, *a, **k):
        calls.append(1)
        return forward(self, *a, **k)
    monkeypatch.setattr(RG.GAULayer, "forward", counted)
    for on in (False, True):
        calls.clear()
        (model.gradient_checkpointing_enable if on else model.gradient_checkpointing_disable)()
        assert model.gau_alpha.encoder.gradient_checkpointing is on
        model.zero_grad()
        torch.manual_seed(7)
        out = model(ids, labels=labels)
        out.loss.backward()
        results.append((float(out.loss), {n: p.grad.clone() for n, p in model.named_parameters()
                                          if p.grad is not None}, len(calls)))
    (loss0, g0, n0), (loss1, g1, n1) = results
    assert n1 == 2 * n0 > 0  # every layer recomputed in the backward pass
    assert loss0 == pytest.approx(loss1, rel=1e-6)
    assert g0.keys() == g1.keys() and len(g0) >= 8
    for n in g0:
        torch.testing.assert_close(g0[n], g1[n], rtol=1e-5, atol=1e-7, msg=n)


def test_torch_resize_inputs_embeds_and_round_trip(tmp_path):
    model = torch_gau().eval()
    vocab = model.config.vocab_size
    before = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(vocab + 10)
    emb = model.get_input_embeddings()
    assert emb.weight.shape[0] == vocab + 10 == model.config.vocab_size
    assert model.get_output_embeddings().weight is emb.weight  # still tied
    torch.testing.assert_close(emb.weight[:vocab], before)
    ids = torch.randint(5, vocab, (2, 6))
    with torch.no_grad():
        a = model(ids).logits
        b = model(inputs_embeds=emb(ids), attention_mask=ids != 0).logits
    torch.testing.assert_close(a, b, **TOL)
    model.save_pretrained(tmp_path / "m")
    again = RG.GAUAlphaForMaskedLM.from_pretrained(tmp_path / "m")
    with torch.no_grad():
        torch.testing.assert_close(again(ids).logits, a, **TOL)
    assert again.get_output_embeddings().weight is again.get_input_embeddings().weight


def test_torch_push_to_hub_uploads_the_saved_files(tmp_path, monkeypatch):
    """push_to_hub as for any transformers model: save_pretrained into a work folder, then one commit of its
    files (the hub calls are recorded here; the upload itself is huggingface_hub's)."""
    import huggingface_hub
    import transformers.utils.hub as th
    commits = []

    def create_commit(self=None, repo_id=None, operations=(), **kw):
        commits.append((repo_id, sorted(op.path_in_repo for op in operations)))
        return None

    monkeypatch.setattr(th, "create_repo", lambda *a, **k: type("R", (), {"repo_id": k.get("repo_id") or a[0]})(),
                        raising=False)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo",
                        lambda self, repo_id, **k: type("R", (), {"repo_id": repo_id})())
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    monkeypatch.setattr(th, "create_commit", lambda *a, **k: create_commit(None, **k), raising=False)
    torch_gau().push_to_hub("someone/gau-tiny", token="x")
    assert commits and commits[0][0] == "someone/gau-tiny"
    assert {"config.json", "model.safetensors"} <= set(commits[0][1])
