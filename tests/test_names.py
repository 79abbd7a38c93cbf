"""Names resolve as in the ecosystems (artifacts/names.py): a directory, a registry name or alias (PaddleNLP's built-in
names included), or any hub repo id at a revision; looked up in the kit's fetch store, then the Hugging Face cache
as huggingface_hub leaves it (a cache these tests build, and transformers' own loader reads), then fetched through
the kit's verified download from a real server on 127.0.0.1. Offline: the caches only, else one line naming the
fetch command. Every from_pretrained of the kit takes these names, on both frameworks."""
import json

import numpy as np
import paddle
import pytest
import torch

import paddlenlp_ext
import torch_ref
from artifacts import fetching
from artifacts.names import hf_cache_dir, in_hf_cache, resolve_model
from hf_cache import put_in_hf_cache
from hub_server import Hub
from parity import funnel as H
from parity import gau_alpha as GA
from reprokit import KitError

VOCAB = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", "good", "bad", "movie", "the"]
CHARS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("今天气很好我们去公园玩")
COMMIT = "1234567890abcdef1234567890abcdef12345678"


@pytest.fixture()
def homes(tmp_path, monkeypatch):
    """An empty kit store and an empty HF cache, both named by the variables users set."""
    monkeypatch.setenv("REPROKIT_HOME", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    return tmp_path


def tiny_funnel(folder):
    return H.save_tiny_checkpoint(folder, "FunnelModel", VOCAB)


def tiny_gau(folder):
    kw = GA.config_kwargs(GA.TINY, "GAUAlphaForMaskedLM", vocab_size=len(CHARS))
    tm = GA.build_torch(kw, "GAUAlphaForMaskedLM", seed=1)
    tm.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(CHARS) + "\n", encoding="utf-8")
    return tm


def test_a_registry_name_in_the_hf_cache_loads_on_both_frameworks(homes):
    tm = tiny_funnel(homes / "src" / "xlarge")
    cache = hf_cache_dir()
    assert cache == homes / "hf" / "hub"
    put_in_hf_cache(cache, "funnel-transformer/xlarge", homes / "src" / "xlarge", commit=COMMIT)
    # transformers' own loader reads this cache (offline): it is the layout users have
    import transformers
    ref = transformers.FunnelModel.from_pretrained("funnel-transformer/xlarge", cache_dir=str(cache))
    assert torch.equal(ref.embeddings.word_embeddings.weight, tm.embeddings.word_embeddings.weight)
    t = torch_ref.from_pretrained("funnel-transformer/xlarge", "FunnelModel")
    p = paddlenlp_ext.FunnelModel.from_pretrained("funnel-transformer/xlarge")
    want = tm.embeddings.word_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(t.embeddings.word_embeddings.weight.detach().numpy(), want)
    np.testing.assert_array_equal(p.embeddings.word_embeddings.weight.numpy(), want)
    assert resolve_model("funnel-transformer/xlarge") == cache / "models--funnel-transformer--xlarge" / \
        "snapshots" / COMMIT
    # the tokenizer resolves the same name
    from tasks.tokenization import tokenizer_for
    assert tokenizer_for("funnel-transformer/xlarge").convert_tokens_to_ids("movie") == VOCAB.index("movie")


def test_gau_alpha_hub_name_and_paddlenlp_builtin_name(homes):
    tm = tiny_gau(homes / "src" / "gau")
    put_in_hf_cache(hf_cache_dir(), "junnyu/chinese_GAU-alpha-char_L-24_H-768", homes / "src" / "gau")
    ids = np.array([[2, 5, 6, 4, 3]])
    with torch.no_grad():
        want = tm(input_ids=torch.from_numpy(ids)).logits.numpy()
    for name in ("junnyu/chinese_GAU-alpha-char_L-24_H-768", "chinese_GAU-alpha-char_L-24_H-768"):
        pm = paddlenlp_ext.GAUAlphaForMaskedLM.from_pretrained(name)
        with paddle.no_grad():
            got = pm(input_ids=paddle.to_tensor(ids)).logits.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
        t = torch_ref.from_pretrained(name, "GAUAlphaForMaskedLM")
        with torch.no_grad():
            np.testing.assert_array_equal(t(input_ids=torch.from_numpy(ids)).logits.numpy(), want)
    from tasks.tokenization import GAUAlphaTokenizer
    tok = GAUAlphaTokenizer.from_pretrained("chinese_GAU-alpha-char_L-24_H-768")
    assert tok("今天")["input_ids"] == [2, CHARS.index("今"), CHARS.index("天"), 3]


def test_any_hub_repo_at_a_revision_and_a_commit(homes):
    tiny_funnel(homes / "v1" / "m")
    tiny_funnel(homes / "main" / "m")
    cache = hf_cache_dir()
    put_in_hf_cache(cache, "someone/tiny-funnel", homes / "main" / "m", commit="a" * 40)
    put_in_hf_cache(cache, "someone/tiny-funnel", homes / "v1" / "m", commit="b" * 40, revision="v1")
    assert resolve_model("someone/tiny-funnel").name == "a" * 40
    assert resolve_model("someone/tiny-funnel", revision="v1").name == "b" * 40
    assert resolve_model("someone/tiny-funnel", revision="b" * 40).name == "b" * 40
    model = paddlenlp_ext.FunnelModel.from_pretrained("someone/tiny-funnel", revision="v1")
    assert model.config.d_model == H.TINY["d_model"]


def test_a_local_directory_wins_and_the_store_comes_before_the_hf_cache(homes, monkeypatch):
    monkeypatch.chdir(homes)
    tiny_funnel(homes / "funnel-transformer" / "small")  # a folder named like the registry entry
    assert resolve_model("funnel-transformer/small").resolve() == homes / "funnel-transformer" / "small"
    store = fetching.artefact_folder(fetching.default_home(), "funnel-transformer/medium")
    tiny_funnel(store)  # a completed fetch of the registry name, as fetch.py leaves it
    (store / ".fetch.json").write_text(json.dumps({"complete": True, "files": {}}))
    tiny_funnel(homes / "cached")
    put_in_hf_cache(hf_cache_dir(), "funnel-transformer/medium", homes / "cached")
    assert resolve_model("funnel-transformer/medium") == store
    with pytest.raises(KitError, match=r"run: python fetch\.py hf://funnel-transformer/medium@v2"):
        resolve_model("funnel-transformer/medium", revision="v2")  # another revision: not that copy


def test_offline_miss_names_the_fetch_command(homes):
    with pytest.raises(KitError, match=r"funnel-transformer/large: not in the kit's store .* nor in the Hugging Face "
                                       r"cache .*offline mode is on; run: python fetch\.py funnel-transformer/large$"):
        paddlenlp_ext.FunnelModel.from_pretrained("funnel-transformer/large")
    with pytest.raises(KitError, match=r"run: python fetch\.py hf://someone/else@main"):
        torch_ref.from_pretrained("someone/else", "FunnelModel")
    with pytest.raises(KitError, match=r"no/such/dir/here: no such directory, and not a name the kit knows"):
        resolve_model("no/such/dir/here")
    # a snapshot without weights (only the tokenizer was fetched) is not a model
    tiny_funnel(homes / "partial")
    (homes / "partial" / "model.safetensors").unlink()
    put_in_hf_cache(hf_cache_dir(), "funnel-transformer/intermediate", homes / "partial")
    assert in_hf_cache("funnel-transformer/intermediate", need=("config.json",)) is not None
    with pytest.raises(KitError, match="offline mode is on"):
        resolve_model("funnel-transformer/intermediate")
    assert resolve_model("funnel-transformer/intermediate", need_weights=False).name == "c" * 40


def test_online_a_name_is_fetched_verified_once_then_served_from_the_store(homes, monkeypatch):
    tiny_funnel(homes / "src" / "m")
    files = {p.name: p.read_bytes() for p in (homes / "src" / "m").iterdir() if p.is_file()}
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with Hub() as hub:
        hub.add_repo("funnel-transformer/small-base", files, sha=COMMIT)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        model = paddlenlp_ext.FunnelBaseModel.from_pretrained("funnel-transformer/small-base")
        folder = fetching.artefact_folder(fetching.default_home(), "funnel-transformer/small-base")
        state = json.loads((folder / ".fetch.json").read_text())
        assert state["revision"] == COMMIT and state["files"]["model.safetensors"]["verified_by"] == "hub metadata"
        sent = sum(len(v) for v in hub.requests.values())
        again = torch_ref.from_pretrained("funnel-transformer/small-base", "FunnelBaseModel")
        assert sum(len(v) for v in hub.requests.values()) == sent  # the store answered
        np.testing.assert_array_equal(again.embeddings.word_embeddings.weight.detach().numpy(),
                                      model.embeddings.word_embeddings.weight.numpy())
        with pytest.raises(KitError, match=r"someone/missing: no local directory of that name, and fetching it "
                                           r"failed: .*cannot list model someone/missing@main"):
            resolve_model("someone/missing")
