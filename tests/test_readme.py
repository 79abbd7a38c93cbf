"""Every command and snippet in the READMEs (README.md and the folders' README.md files, in READMES order) runs as
written, in one temporary folder that holds tiny checkpoints and data at the paths the commands name, and a Hugging
Face cache with tiny models under the names they use (so a README command can never go stale). What is substituted,
and nothing else: `.venv/bin/python` -> this interpreter; the repository's script paths -> their absolute paths;
released model sizes (`--config xlarge`) -> the tiny config; recipes get EXTRA="--max_steps 2"; the environment points
the HF cache, the kit's store and its registry's data entries at the test's (data served by a local server on
127.0.0.1). The two set-up commands are what .ci/run runs (checked here line by line); they are not run again inside
the tests."""
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path


import io
import zipfile

from hf_cache import put_in_hf_cache
from hub_server import Hub
from parity import funnel as H
from parity import gau_alpha as GA
from test_clue import clue_fixture
from test_cluener_run import synthetic as synthetic_ner
from test_squad_run import CITIES, FILLER, synthetic_squad

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# the order a reader meets them in (README.md's links), which is the order their commands run in
READMES = ["README.md", "tasks/README.md", "artifacts/README.md", "parity/README.md", "paddlenlp_ext/README.md",
           "glue/README.md", "squad/README.md", "clue/README.md", "cluener/README.md", "paper/README.md",
           "notebooks/README.md", "ARCHITECTURE.md"]
# the names the commands use -> the tiny checkpoint make_fixtures writes for each
NAMES = {"funnel-transformer/xlarge": "path/to/funnel-xlarge",
         "junnyu/chinese_GAU-alpha-char_L-24_H-768": "path/to/chinese_GAU-alpha-char_L-24_H-768",
         "bert-base-chinese": "path/to/bert-base-chinese", "ORG/funnel-xlarge-qnli": "path/to/funnel-xlarge-qnli"}
SETUP_PREFIX = "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt -e . && "
QNLI_WORDS = ["is", "it", "good", "bad", "the", "movie", "plot", "fine", "what", "was"]
VOCAB = ["<pad>", "<unk>", "<cls>", "<sep>", "<mask>", ".", "?", "where", "did", "go", "who", "he"] + FILLER + CITIES \
    + [w for w in QNLI_WORDS if w not in FILLER]
CHARS = list("今天气很好我们去公园玩心情不错的是了")


def blocks(text=README):
    """(language, text) of every fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)


def commands(text):
    """The commands of a sh block: continuation lines joined, comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        line = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        out.append(current.strip())
        current = ""
    return out


def test_setup_commands_are_what_ci_runs():
    setup = [c for lang, b in blocks() if lang == "sh" for c in commands(b) if c.startswith("python3 -m venv")]
    assert [c[len(SETUP_PREFIX):] for c in setup] == [".venv/bin/python compare.py", ".venv/bin/python -m pytest -q"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv .venv" in ci and ".venv/bin/pip install -q -r requirements.txt -e ." in ci
    assert ci.rstrip().splitlines()[-1] == ".venv/bin/python -m pytest -q"


def make_fixtures(d: Path):
    """The checkpoints and data the README's commands name, tiny, at those paths."""
    H.save_tiny_checkpoint(d / "path/to/funnel-xlarge", "FunnelModel", VOCAB, max_position_embeddings=512)
    gau = d / "path/to/chinese_GAU-alpha-char_L-24_H-768"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "，", "。"] + CHARS
    kw = GA.config_kwargs(GA.TINY, "GAUAlphaForMaskedLM", vocab_size=len(vocab), max_position_embeddings=512)
    GA.build_torch(kw, "GAUAlphaForMaskedLM").save_pretrained(gau)
    (gau / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    qnli = d / "glue_data/QNLI"
    qnli.mkdir(parents=True)
    rows = [("is it good", "it is good", "entailment"), ("what was bad", "the movie was fine", "not_entailment"),
            ("is the plot good", "the plot is bad", "not_entailment"), ("was it fine", "it was fine", "entailment")]
    for split, n in (("train", 12), ("dev", 4), ("test", 4)):
        lines = ["index\tquestion\tsentence" + ("" if split == "test" else "\tlabel")]
        lines += [f"{i}\t{q}\t{a}" + ("" if split == "test" else f"\t{y}")
                  for i, (q, a, y) in enumerate((rows * 3)[:n])]
        (qnli / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    squad = d / "squad_data"
    squad.mkdir()
    synthetic_squad(squad / "train-v1.1.json", 8, 0)
    synthetic_squad(squad / "dev-v1.1.json", 4, 1)
    synthetic_squad(squad / "train-v2.0.json", 9, 2, v2=True)
    synthetic_squad(squad / "dev-v2.0.json", 6, 3, v2=True)
    clue_fixture(d / "clue_data")
    synthetic_ner(d / "cluener_data" / "train.json", 8, 0)
    synthetic_ner(d / "cluener_data" / "dev.json", 4, 1)
    synthetic_ner(d / "cluener_data" / "test.json", 3, 2, test=True)
    from test_cluener_bert import bert_checkpoint
    bert_checkpoint(d, d / "path/to/bert-base-chinese")
    (d / "paper").mkdir(exist_ok=True)  # `tables.py --readme paper/README.md` refreshes a copy
    (d / "paper" / "README.md").write_text((ROOT / "paper" / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    import transformers
    qnli_model = transformers.FunnelForSequenceClassification.from_pretrained(d / "path/to/funnel-xlarge", num_labels=2)
    qnli_model.save_pretrained(d / "path/to/funnel-xlarge-qnli")
    for f in (d / "path/to/funnel-xlarge").iterdir():
        if not (d / "path/to/funnel-xlarge-qnli" / f.name).exists():
            (d / "path/to/funnel-xlarge-qnli" / f.name).write_bytes(f.read_bytes())
    (d / "sentences.txt").write_text("the man went to paris\nwhere did he go ?\tthe old city\n")


def to_argv(command):
    """A README command as argv (+ its leading VAR=value environment), with the substitutions of the docstring."""
    words = shlex.split(command)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    if words[0] == ".venv/bin/python":
        words[0] = sys.executable
    assert words[0] in (sys.executable, "bash"), f"a README command that is neither python nor bash: {command}"
    out = []
    for i, w in enumerate(words):
        if w.endswith((".py", ".sh")) and (ROOT / w).is_file() and not w.startswith("path/to"):  # scripts only:
            # a data argument that happens to name a repository file (README.md) stays the temp folder's copy
            w = str(ROOT / w)
        if i and words[i - 1] == "--config" and w in H.RELEASED:
            w = "tiny"
        out.append(w)
    if words[0] == "bash":
        env.update(PYTHON=sys.executable, EXTRA="--max_steps 2")
    return out, env


def readme_world(d: Path, hub) -> dict:
    """The fixtures, the names in a Hugging Face cache, and the environment: the kit's store and a registry whose
    glue/qnli entry is served by `hub` (the rest of the registry as committed)."""
    make_fixtures(d)
    for name, path in NAMES.items():
        put_in_hf_cache(d / "hf" / "hub", name, d / path)
    qnli = d / "glue_data" / "QNLI"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in sorted(qnli.iterdir()):
            z.write(f, f"QNLI/{f.name}")
    hub.files["/data/QNLI.zip"] = buf.getvalue()
    registry = json.loads((ROOT / "artifacts" / "registry.json").read_text(encoding="utf-8"))
    registry["artifacts"]["glue/qnli"] = {"kind": "data", "data_dir": "QNLI", "sources": [{"mirror": "https", "items": [
        {"name": "QNLI.zip", "url": hub.url + "/data/QNLI.zip", "unpack": True}]}]}
    (d / "registry.json").write_text(json.dumps(registry), encoding="utf-8")
    env = {**os.environ, "HF_HOME": str(d / "hf"), "REPROKIT_HOME": str(d / "store"), "HF_ENDPOINT": hub.url,
           "REPROKIT_REGISTRY": str(d / "registry.json"), "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0",
           "HF_DATASETS_OFFLINE": "1"}
    env.pop("HF_HUB_CACHE", None)
    return env


def test_every_readme_command_runs_as_written(tmp_path):
    with Hub() as hub:
        env = readme_world(tmp_path, hub)
        ran = []
        for readme in READMES:
            text = (ROOT / readme).read_text(encoding="utf-8")
            for lang, block in blocks(text):
                if lang == "python":
                    # the models a python block names are in the HF cache, as after a download; transformers' own
                    # hub look-ups (AutoConfig, pipeline) would ask the test's hub, which serves only data: offline
                    offline = {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
                    r = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=offline, capture_output=True,
                                       text=True)
                    assert r.returncode == 0, f"{readme}: python block failed:\n{block}\n{r.stderr[-3000:]}"
                    ran.append("python block")
                    continue
                if lang != "sh":
                    continue
                for command in commands(block):
                    if command.startswith("python3 -m venv"):
                        continue  # the set-up commands: .ci/run (test_setup_commands_are_what_ci_runs)
                    argv, extra = to_argv(command)
                    r = subprocess.run(argv, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True)
                    assert r.returncode == 0, f"{readme}: command failed:\n{command}\n{r.stderr[-3000:]}"
                    ran.append(command)
    assert len(ran) >= 25
    assert any("compare.py" in c for c in ran) and any("run_squad_v1.py" in c for c in ran)
    # what the commands promise is there: the reports, the leaderboard zip, the evaluation, the converted dirs
    assert json.loads((tmp_path / "logs/compare/all_tiny.json").read_text())["verdict"] == "PASS"
    assert (tmp_path / "submission.zip").is_file() and (tmp_path / "submission/QNLI.tsv").is_file()
    assert (tmp_path / "out/funnel-hf/model.safetensors").is_file()
    assert json.loads((tmp_path / "out/squad-paper/eval/results.json").read_text())["total"] == 6
    assert any((tmp_path / "logs/glue/QNLI/paddle/visualdl").iterdir())  # the default reporting (VisualDL) works
    assert (tmp_path / "cluener_predict.json").is_file() and (tmp_path / "out/cluener/cluener_predict.json").is_file()
    assert (tmp_path / "out/csl/csl_predict.json").is_file() and (tmp_path / "out/csl.zip").is_file()
    tables = json.loads((tmp_path / "logs/tables/tables.json").read_text())
    assert len(tables["tables"]) == 6 and (tmp_path / "logs/tables/funnel_qnli.png").is_file()
    assert not (ROOT / "out").exists()  # nothing written into the repository
