"""fetch.py against a real HTTP server on 127.0.0.1 (tests/hub_server.py): a pinned hub snapshot fetched and
verified, wrong bytes of the right size refused, a dropped connection resumed without re-sent bytes, a 500 retried, a
404 named, offline with a warm and a cold cache, the lock file enforced, unsafe archives refused, registry data sets
laid out for the task scripts."""
import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from artifacts import fetching
from artifacts.archive import unpack
from artifacts.cli import main as fetch_main
from hub_server import Hub
from reprokit import KitError

SHA = "a" * 40


def blob(n, seed=0):
    return np.random.RandomState(seed).bytes(n)


@pytest.fixture(autouse=True)
def _hub_online(monkeypatch):
    """conftest.py switches huggingface_hub offline for the whole suite; these tests talk to their own 127.0.0.1
    server, so it is back on here (and only here)."""
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)


@pytest.fixture()
def hub():
    with Hub() as h:
        yield h


def quiet_fetch(*a, **kw):
    return fetching.fetch(*a, progress=False, log=lambda *x, **y: None, **kw)


def test_hub_snapshot_pinned_and_verified(hub, tmp_path):
    weights = blob(300_000)
    hub.add_repo("org/model", {"config.json": b'{"model_type": "funnel"}', "model.safetensors": weights,
                               "README.md": b"# card"}, sha=SHA)
    out = quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", endpoint=hub.url, include=["*.json", "*.safetensors"])
    assert sorted(p.name for p in out.iterdir()) == [".fetch.json", "config.json", "kit_manifest.json",
                                                     "model.safetensors"]
    assert (out / "model.safetensors").read_bytes() == weights
    state = json.loads((out / ".fetch.json").read_text())
    assert state["revision"] == SHA and state["files"]["model.safetensors"]["verified_by"] == "hub metadata"
    assert state["files"]["config.json"]["verified_by"] == "hub metadata"   # the git blob id of a small file
    manifest = json.loads((out / "kit_manifest.json").read_text())
    assert manifest["files"]["model.safetensors"] == hashlib.sha256(weights).hexdigest()
    # a second call is served from the cache: no request reaches the server
    before = sum(len(v) for v in hub.requests.values())
    assert quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", endpoint=hub.url,
                       include=["*.json", "*.safetensors"]) == out
    assert sum(len(v) for v in hub.requests.values()) == before


def test_wrong_bytes_of_the_right_size_are_refused(hub, tmp_path):
    hub.add_repo("org/model", {"model.safetensors": blob(5000)}, sha=SHA)
    hub.faults[f"/org/model/resolve/{SHA}/model.safetensors"] = {"corrupt": True}
    with pytest.raises(KitError, match=r"model.safetensors: verification failed \(sha256: expected [0-9a-f]{64}, got"):
        quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", endpoint=hub.url)
    assert not (tmp_path / "d" / "hf").exists() or not any((tmp_path / "d" / "hf").rglob("model.safetensors"))
    assert not list((tmp_path / "d").rglob("*.part"))  # nothing half-written is kept


def test_dropped_connection_resumes_without_resending(hub, tmp_path):
    data = blob(1_000_000, seed=1)
    hub.files["/files/big.bin"] = data
    path = "/files/big.bin"
    hub.faults[path] = {"drop_after": 400_000}
    sha = hashlib.sha256(data).hexdigest()
    out = quiet_fetch(hub.url + path, tmp_path / "d", sha256=sha)  # the retry inside the same call resumes
    assert out.read_bytes() == data
    assert hub.sent[path] == len(data)                            # every byte sent exactly once
    assert hub.requests[path] == [None, "bytes=400000-"]


def test_interrupted_run_resumes_on_the_next_call(hub, tmp_path, monkeypatch):
    data = blob(600_000, seed=2)
    path = "/files/big.bin"
    hub.files[path] = data
    monkeypatch.setattr("artifacts.transfer.RETRIES", 0)  # the first call gives up after the drop
    hub.faults[path] = {"drop_after": 250_000}
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(KitError, match="run the same command again to resume"):
        quiet_fetch(hub.url + path, tmp_path / "d", sha256=sha)
    assert len(list((tmp_path / "d").rglob("big.bin.part"))) == 1
    out = quiet_fetch(hub.url + path, tmp_path / "d", sha256=sha)
    assert out.read_bytes() == data and hub.sent[path] == len(data)


def test_server_error_then_success_is_retried(hub, tmp_path):
    hub.files["/files/x.json"] = b'{"a": 1}'
    hub.faults["/files/x.json"] = {"errors": 2}
    out = quiet_fetch(hub.url + "/files/x.json", tmp_path / "d")
    assert out.read_bytes() == b'{"a": 1}' and len(hub.requests["/files/x.json"]) == 3


def test_missing_file_and_repo_are_named(hub, tmp_path):
    with pytest.raises(KitError, match=r"nope.bin: HTTP 404"):
        quiet_fetch(hub.url + "/files/nope.bin", tmp_path / "d")
    with pytest.raises(KitError, match=r"hf://org/missing@main: the hub cannot list model org/missing@main"):
        quiet_fetch("hf://org/missing@main", tmp_path / "d", endpoint=hub.url)
    with pytest.raises(KitError, match="not in the registry"):
        quiet_fetch("funnel-transformer/huge", tmp_path / "d")


def test_offline_warm_and_cold_cache(tmp_path):
    with Hub() as hub:
        hub.add_repo("org/model", {"config.json": b"{}", "model.safetensors": blob(1000)}, sha=SHA)
        out = quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", endpoint=hub.url)
    # the server is gone: the warm cache still answers, offline or not; a cold one fails naming the command
    assert quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", offline=True) == out
    with pytest.raises(KitError, match=r"not in .* and --offline forbids downloading; run: python fetch.py glue/qnli"):
        quiet_fetch("glue/qnli", tmp_path / "d", offline=True)
    # --verify re-hashes: a file changed on disk is caught
    with open(out / "model.safetensors", "r+b") as f:
        f.write(b"\x00")
    with pytest.raises(KitError, match="changed on disk since it was fetched"):
        quiet_fetch(f"hf://org/model@{SHA}", tmp_path / "d", offline=True, verify=True)


def test_lock_records_the_first_fetch_and_enforces_it(hub, tmp_path):
    """A registry file without a sha256: the first fetch records it; after the server's copy changes, a fresh fetch
    into the same destination is refused."""
    hub.files["/files/data.zip"] = _zip({"T/train.json": b'{"a": 1}\n'})
    registry = tmp_path / "extra.json"
    registry.write_text(json.dumps({"artifacts": {"toy/data": {"kind": "data", "data_dir": "T", "sources": [
        {"mirror": "https", "items": [{"name": "data.zip", "url": hub.url + "/files/data.zip", "unpack": True}]}]}}}))
    out = quiet_fetch("toy/data", tmp_path / "d", registry_files=[registry])
    assert (out / "train.json").read_text() == '{"a": 1}\n' and out.name == "T"
    lock = json.loads((tmp_path / "d" / "fetch.lock.json").read_text())
    assert lock["toy/data"]["files"]["data.zip"]["sha256"] == hashlib.sha256(hub.files["/files/data.zip"]).hexdigest()
    hub.files["/files/data.zip"] = _zip({"T/train.json": b'{"a": 2}\n'})
    (tmp_path / "d" / "toy" / "data" / ".fetch.json").unlink()  # force a new download
    with pytest.raises(KitError, match="data.zip: .*sha256: expected"):
        quiet_fetch("toy/data", tmp_path / "d", registry_files=[registry])


def test_registry_md5_checked(hub, tmp_path):
    hub.files["/files/x.zip"] = _zip({"a.txt": b"x"})
    registry = tmp_path / "extra.json"
    registry.write_text(json.dumps({"artifacts": {"toy/x": {"kind": "data", "sources": [{"mirror": "https", "items": [
        {"name": "x.zip", "url": hub.url + "/files/x.zip", "md5": "0" * 32, "unpack": True}]}]}}}))
    with pytest.raises(KitError, match="md5: expected 0{32}, got"):
        quiet_fetch("toy/x", tmp_path / "d", registry_files=[registry])


def _zip(members, links=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize("members,links", [({"../evil.txt": b"x"}, ()), ({"/abs.txt": b"x"}, ()),
                                           ({"ok.txt": b"x"}, ("link",))])
def test_unsafe_archives_are_refused(tmp_path, members, links):
    archive = tmp_path / "a.zip"
    archive.write_bytes(_zip(members, links))
    with pytest.raises(KitError, match="nothing unpacked"):
        unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_tar_with_parent_path_refused(tmp_path):
    import tarfile
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        data = b"x"
        info = tarfile.TarInfo("sub/../../evil.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(data))
    with pytest.raises(KitError, match="outside the destination"):
        unpack(archive, tmp_path / "out")


def test_cli_list_and_last_line_is_the_path(hub, tmp_path, capsys):
    assert fetch_main(["--list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    names = [r.split()[0] for r in rows]
    for expected in ["funnel-transformer/xlarge", "funnel-transformer/small-base", "junnyu/chinese_GAU-alpha-char_L-24_H-768",
                     "glue/qnli", "glue/mrpc", "squad/v1.1", "squad/v2.0", "clue/afqmc", "clue/csl", "cluener"]:
        assert expected in names, expected
    assert sum(n.startswith("funnel-transformer/") for n in names) == 10
    assert sum(n.startswith("clue/") for n in names) == 7
    hub.files["/files/f.txt"] = b"hello"
    sha = hashlib.sha256(b"hello").hexdigest()
    assert fetch_main([hub.url + "/files/f.txt", "--sha256", sha, "--dest", str(tmp_path / "d"), "--quiet"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert open(last, "rb").read() == b"hello"
    assert fetch_main([hub.url + "/files/f.txt", "--sha256", "0" * 64, "--dest", str(tmp_path / "e"), "--quiet"]) == 2


def test_task_script_reads_fetched_data_or_names_the_command(tmp_path, monkeypatch, capsys):
    """run_glue.py --task_name QNLI with no data path: the fetched copy, or one line with the fetch command."""
    monkeypatch.setenv("REPROKIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    from glue.run_glue import main as run_glue
    from test_glue import tiny_checkpoint
    ckpt = tiny_checkpoint(tmp_path)
    args = ["--model_name_or_path", str(ckpt), "--task_name", "QNLI", "--output_dir", str(tmp_path / "o"),
            "--do_train", "--max_steps", "1", "--report_to", "none"]
    assert run_glue(args) == 2
    assert "run: python fetch.py glue/qnli" in capsys.readouterr().err
    # what fetch.py lays out for glue/qnli (the QNLI zip unpacked, its folder recorded)
    folder = tmp_path / "home" / "glue" / "qnli" / "QNLI"
    folder.mkdir(parents=True)
    for split, rows in (("train", 4), ("dev", 2)):
        (folder / f"{split}.tsv").write_text("index\tquestion\tsentence\tlabel\n" + "".join(
            f"{i}\tis it good\tit is good\t{'entailment' if i % 2 else 'not_entailment'}\n" for i in range(rows)))
    (folder.parent / ".fetch.json").write_text(json.dumps({"complete": True, "data_dir": "QNLI", "files": {}}))
    assert run_glue(args) == 0


def test_publish_then_fetch_back_predicts_the_same_on_both_backends(hub, tmp_path, monkeypatch):
    """Fine-tune a tiny Funnel on a fixture (Paddle backend), publish it, serve the release as a hub repo, fetch it
    into a clean folder (verified against the release's registry entry) and predict on both backends: the run's own
    predictions, row for row."""
    monkeypatch.chdir(tmp_path)
    from glue.run_glue import main as run_glue
    from glue.run_predict import main as predict
    from test_cross_backend import stsb
    from test_glue import tiny_checkpoint
    data = stsb(tmp_path / "STS-B")
    run = tmp_path / "run"
    assert run_glue(["--backend", "paddle", "--model_name_or_path", str(tiny_checkpoint(tmp_path, num_labels=1)),
                     "--task_name", "STS-B", "--data_dir", str(data), "--output_dir", str(run), "--do_train",
                     "--do_eval", "--do_predict", "--max_steps", "2", "--per_device_train_batch_size", "4",
                     "--learning_rate", "1e-2", "--log_dir", str(tmp_path / "logs"), "--report_to", "none"]) == 0
    info = json.loads((run / "kit_run.json").read_text())
    assert info["command"].startswith("python glue/run_glue.py --backend paddle") and info["seed"] == 42
    release = tmp_path / "release"
    assert fetch_main(["--publish", str(run), "--out", str(release), "--name", "me/stsb-funnel"]) == 0
    files = {str(p.relative_to(release)): p.read_bytes() for p in release.rglob("*") if p.is_file()}
    assert {"config.json", "model.safetensors", "paddle/model_state.pdparams", "README.md", "kit_manifest.json",
            "registry_entry.json", "eval_results.json", "kit_run.json", "tokenizer.json"} <= set(files)
    assert "training_args.bin" not in files and "eval_spearmanr" in files["README.md"].decode()
    assert info["command"] in files["README.md"].decode()
    hub.add_repo("me/stsb-funnel", files, sha=SHA)
    got = quiet_fetch("me/stsb-funnel", tmp_path / "clean", endpoint=hub.url,
                      registry_files=[release / "registry_entry.json"])
    state = json.loads((got / ".fetch.json").read_text())
    assert {f["verified_by"] for f in state["files"].values()} == {"registry"}
    # the same release from an AI Studio repo (aistudio-sdk's URLs and headers), verified the same way
    monkeypatch.setenv("STUDIO_GIT_HOST", hub.url)
    for rel, content in files.items():
        hub.files[f"/api/v1/repos/me/stsb-funnel/media/{rel}"] = content
    via = quiet_fetch("me/stsb-funnel", tmp_path / "clean-aistudio", mirror="aistudio",
                      registry_files=[release / "registry_entry.json"])
    assert all((via / rel).read_bytes() == (got / rel).read_bytes() for rel in state["files"])
    hub.files["/api/v1/repos/me/stsb-funnel/media/config.json"] = b'{"corrupted": 1}'
    with pytest.raises(KitError, match="config.json: .*expected"):
        quiet_fetch("me/stsb-funnel", tmp_path / "bad-aistudio", mirror="aistudio",
                    registry_files=[release / "registry_entry.json"])
    expected = (run / "STS-B.tsv").read_text()
    for backend, model in (("torch", got), ("paddle", got), ("paddle", got / "paddle")):
        sub = tmp_path / f"sub-{backend}-{model.name}"
        assert predict(["--backend", backend, "--model_name_or_path", str(model), "--task_name", "STS-B",
                        "--data_dir", str(data), "--output_dir", str(sub)]) == 0
        assert (sub / "STS-B.tsv").read_text() == expected, (backend, model)


def test_squad_script_reads_fetched_files_or_names_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REPROKIT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    from squad.run_squad_v1 import main as run_squad
    from test_squad_run import synthetic_squad, tiny_qa_checkpoint
    args = ["--model_name_or_path", str(tiny_qa_checkpoint(tmp_path)), "--output_dir", str(tmp_path / "o"),
            "--do_train", "--do_eval", "--max_steps", "1", "--max_seq_length", "32", "--doc_stride", "8",
            "--report_to", "none"]
    assert run_squad(args) == 2
    assert "run: python fetch.py squad/v1.1" in capsys.readouterr().err
    folder = tmp_path / "home" / "squad" / "v1.1"
    folder.mkdir(parents=True)
    synthetic_squad(folder / "train-v1.1.json", 4, 0)
    synthetic_squad(folder / "dev-v1.1.json", 3, 1)
    (folder / ".fetch.json").write_text(json.dumps({"complete": True, "files": {}}))
    assert run_squad(args) == 0
    assert json.loads((tmp_path / "o" / "eval" / "results.json").read_text()).keys() == {"exact_match", "f1"}


def test_model_converted_on_arrival_and_the_pickle_rule(hub, tmp_path, capsys):
    """--to paddle converts a fetched torch checkpoint beside it (loadable by the Paddle port); a pickled .pdparams
    that matched no expectation (a URL without --sha256) is not vouched for: reading it needs --trust-pickle."""
    from parity import funnel as H
    from reprokit.checkpoint import load_state
    from reprokit.files import sha256_file
    src = tmp_path / "src"
    H.save_tiny_checkpoint(src / "m", "FunnelForQuestionAnswering", ["<pad>", "<unk>", "<cls>", "<sep>", "a", "b"])
    files = {p.name: p.read_bytes() for p in (src / "m").iterdir() if p.is_file()}
    hub.add_repo("org/tiny-funnel", files, sha=SHA)
    assert fetch_main([f"hf://org/tiny-funnel@{SHA}", "--endpoint", hub.url, "--to", "paddle", "--dest",
                       str(tmp_path / "d"), "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.endswith("-paddle")
    layout, state, _ = load_state(out)
    assert layout == "paddle" and "qa_outputs.weight" in state
    import paddlenlp_ext
    paddlenlp_ext.FunnelForQuestionAnswering.from_pretrained(out)
    # a pickle fetched from a bare URL: recorded in the lock, vouched for by nothing
    hub.files["/files/model_state.pdparams"] = (tmp_path / "d" / "hf" / "org" / f"tiny-funnel_at_{SHA}-paddle" /
                                                "model_state.pdparams").read_bytes()
    got = quiet_fetch(hub.url + "/files/model_state.pdparams", tmp_path / "e")
    assert not (got.parent / "kit_manifest.json").exists()
    (got.parent / "config.json").write_text((src / "m" / "config.json").read_text())
    with pytest.raises(KitError, match="a pickle from an unknown source"):
        load_state(got.parent)
    assert sha256_file(got) == json.loads((tmp_path / "e" / "fetch.lock.json").read_text())[
        hub.url + "/files/model_state.pdparams"]["files"]["model_state.pdparams"]["sha256"]
