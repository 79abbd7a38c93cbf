"""The command lines in the READMEs of the two repositories this kit replaces run unchanged except for paths (12 of
them), from a fresh shell, on the kit's default backend:

- the CLUENER GlobalPointer repo (HF Trainer flags): `python3 main.py ...` (= cluener/run_cluener.py) training with
  `--dataset_name ./cluener_dataset.py` (a `datasets` loading script: this test writes one that reads local files),
  its --do_eval command, `predict.py test MODEL OUT` and `predict.py predict MODEL` (= cluener/predict.py);
- the Funnel-paddle repo: `python compare.py`, `python convert.py` (funnel-transformer/xlarge -> ./xlarge), the four
  run_glue.py / run_predict.py lines (--batch_size, --ckpt_path, no --do_* flag, --num_train_epochs 0) and the two
  run_squad_v1.py lines (--do_predict on the dev set of the version asked for).

Model names resolve through a Hugging Face cache the test builds (funnel-transformer/xlarge, bert-base-chinese: tiny
models); the GLUE and SQuAD data are fetched, verified, from a real server on 127.0.0.1 (the registry entries point
there), as they would be from PaddleNLP's mirror."""
import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hf_cache import put_in_hf_cache
from hub_server import Hub
from parity import funnel as H
from test_cluener_bert import bert_checkpoint
from test_cluener_run import synthetic as synthetic_ner
from test_readme import VOCAB
from test_squad_run import synthetic_squad

ROOT = Path(__file__).resolve().parents[1]

LOADING_SCRIPT = '''
import json
import os

import datasets

TAGS = ["address", "book", "company", "game", "government", "movie", "name", "organization", "position", "scene"]


class Cluener(datasets.GeneratorBasedBuilder):
    """CLUENER as the seed repo's script yields it (span_tags, end inclusive), from the files beside this script."""

    def _info(self):
        return datasets.DatasetInfo(features=datasets.Features({
            "id": datasets.Value("string"), "text": datasets.Value("string"),
            "span_tags": datasets.Sequence({"tag": datasets.features.ClassLabel(names=TAGS),
                                            "start": datasets.Value("int16"), "end": datasets.Value("int16")})}))

    def _split_generators(self, dl_manager):
        # relative to this script, as datasets resolves them (the seed's script downloads cluener_public.zip)
        files = dl_manager.download_and_extract({"train": "cluener_public/train.json",
                                                 "validation": "cluener_public/dev.json",
                                                 "test": "cluener_public/test.json"})
        return [datasets.SplitGenerator(name=n, gen_kwargs={"filepath": files[n]})
                for n in (datasets.Split.TRAIN, datasets.Split.VALIDATION, datasets.Split.TEST)]

    def _generate_examples(self, filepath):
        with open(filepath, encoding="utf-8") as f:
            for guid, line in enumerate(f):
                data = json.loads(line)
                tags = [{"tag": t, "start": s[0], "end": s[1]} for t, ents in (data.get("label") or {}).items()
                        for spans in ents.values() for s in spans]
                yield guid, {"id": str(data.get("id", guid)), "text": data["text"].lower(), "span_tags": tags}
'''


def qnli_zip() -> bytes:
    rows = [("is it good", "it is good", "entailment"), ("what was bad", "the movie was fine", "not_entailment"),
            ("is the plot good", "the plot is bad", "not_entailment"), ("was it fine", "it was fine", "entailment")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for split, n in (("train", 12), ("dev", 8), ("test", 10)):
            lines = ["index\tquestion\tsentence" + ("" if split == "test" else "\tlabel")]
            lines += [f"{i}\t{q}\t{a}" + ("" if split == "test" else f"\t{y}")
                      for i, (q, a, y) in enumerate((rows * 3)[:n])]
            z.writestr(f"QNLI/{split}.tsv", "\n".join(lines) + "\n")
    return buf.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A home folder, a Hugging Face cache with the names the commands use, a server with the data, the registry
    pointing at it, and `python` / `python3` on PATH being the kit's interpreter."""
    root = tmp_path_factory.mktemp("seeds")
    home, hf, src = root / "home", root / "hf", root / "src"
    home.mkdir()
    H.save_tiny_checkpoint(src / "xlarge", "FunnelModel", VOCAB, max_position_embeddings=512)
    put_in_hf_cache(hf / "hub", "funnel-transformer/xlarge", src / "xlarge")
    bert_checkpoint(src, src / "bert")
    put_in_hf_cache(hf / "hub", "bert-base-chinese", src / "bert")
    bin_dir = root / "bin"
    bin_dir.mkdir()
    for name in ("python", "python3"):
        (bin_dir / name).write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
        (bin_dir / name).chmod(0o755)
    squad = root / "squad"
    squad.mkdir()
    synthetic_squad(squad / "train-v2.0.json", 8, 0, v2=True)
    synthetic_squad(squad / "dev-v2.0.json", 6, 1, v2=True)
    with Hub() as hub:
        hub.files["/data/QNLI.zip"] = qnli_zip()
        for name in ("train-v2.0.json", "dev-v2.0.json"):
            hub.files[f"/data/squad/{name}"] = (squad / name).read_bytes()
        registry = {"artifacts": {
            "glue/qnli": {"kind": "data", "data_dir": "QNLI", "sources": [{"mirror": "https", "items": [
                {"name": "QNLI.zip", "url": hub.url + "/data/QNLI.zip", "unpack": True}]}]},
            "squad/v2.0": {"kind": "data", "sources": [{"mirror": "https", "items": [
                {"name": n, "url": f"{hub.url}/data/squad/{n}"} for n in ("train-v2.0.json", "dev-v2.0.json")]}]}}}
        (root / "registry.json").write_text(json.dumps(registry))
        env = {**os.environ, "HOME": str(home), "HF_HOME": str(hf), "REPROKIT_HOME": str(root / "store"),
               "REPROKIT_REGISTRY": str(root / "registry.json"), "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0",
               "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(root / "datasets"),
               "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        env.pop("HF_HUB_CACHE", None)
        yield {"root": root, "home": home, "env": env, "hub": hub}


def shell(world, folder, command, stdin=None, timeout=900):
    """A command line as a user types it, in `folder` (a fresh bash: ~ is the test's home)."""
    folder.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["bash", "-c", command], cwd=folder, env=world["env"], capture_output=True, text=True,
                         input=stdin, timeout=timeout)
    assert run.returncode == 0, f"{command}\n{run.stderr[-4000:]}"
    return run


def test_cluener_globalpointer_repo_commands(world):
    repo = world["root"] / "GlobalPointer"
    for split, n, seed in (("train", 12, 0), ("dev", 4, 1), ("test", 3, 2)):
        synthetic_ner(repo / "cluener_public" / f"{split}.json", n, seed, test=split == "test")
    (repo / "cluener_dataset.py").write_text(LOADING_SCRIPT)
    main, predict = ROOT / "cluener/run_cluener.py", ROOT / "cluener/predict.py"
    train = shell(world, repo, f"""python3 {main} \\
  --model_name_or_path bert-base-chinese \\
  --dataset_name ./cluener_dataset.py \\
  --output_dir ./model/efficient_global_pointer_no_rope \\
  --save_total_limit 1 \\
  --per_device_train_batch_size 16 \\
  --learning_rate 2e-5 \\
  --lr_scheduler_type constant \\
  --global_pointer_head EfficientGlobalPointer \\
  --weight_decay 0.05 \\
  --num_train_epochs 10 \\
  --dataloader_num_workers 8 \\
  --load_best_model_at_end True \\
  --metric_for_best_model f1 \\
  --evaluation_strategy epoch \\
  --save_strategy epoch \\
  --logging_steps 100 \\
  --rope True \\
  --fp16 \\
  --do_train \\
  --do_eval""")
    assert "warning: --fp16 needs a CUDA GPU for the paddle backend and none is visible: training in float32" \
        in train.stderr
    model = repo / "model" / "efficient_global_pointer_no_rope"
    config = json.loads((model / "config.json").read_text())
    assert config["global_pointer"]["efficient"] and config["global_pointer"]["rope"]
    logged = [json.loads(line) for line in
              (repo / "logs/cluener/EfficientGlobalPointer/paddle/metrics.jsonl").read_text().splitlines()]
    assert len([r for r in logged if "eval_f1" in r]) == 10  # the seed's metric, every epoch
    assert "CLUENER dev: micro F1" in train.stdout

    evaluated = shell(world, repo, f"""python3 {main} \\
  --model_name_or_path ./model/efficient_global_pointer_no_rope \\
  --output_dir ./model/efficient_global_pointer_no_rope \\
  --dataset_name ./cluener_dataset.py \\
  --fp16 \\
  --do_eval""")
    assert "CLUENER dev: micro F1" in evaluated.stdout

    shell(world, repo, f"python3 {predict} test ./model/efficient_global_pointer_no_rope gp_test.json")
    rows = [json.loads(line) for line in (repo / "gp_test.json").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2] and all("label" in r for r in rows)  # CLUENER submission ids

    texts = "张三在北京\n李四去上海\n"
    out = shell(world, repo, f"python3 {predict} predict ./model/efficient_global_pointer_no_rope", stdin=texts)
    answers = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [a["text"] for a in answers] == texts.split()


def test_funnel_paddle_repo_commands(world):
    home = world["home"]
    glue, squad = ROOT / "glue", ROOT / "squad"
    compared = shell(world, home / "funnel_paddle", f"python {ROOT / 'compare.py'}")
    assert "PASS" in compared.stdout

    converted = shell(world, home, f"python {ROOT / 'convert.py'}")
    assert (home / "xlarge" / "model_state.pdparams").is_file() and "wrote xlarge" in converted.stdout

    # (1) fine-tuning, no --do_* flag: train and evaluate; data fetched from the server, output to trainer_output
    first = home / "funnel_paddle" / "glue" / "run1"
    tuned = shell(world, first, f"""export TOKENIZERS_PARALLELISM=true; python {glue / 'run_glue.py'} \\
 --model_name_or_path  ~/xlarge \\
 --task_name qnli \\
 --batch_size 24 \\
 --learning_rate 1e-5 \\
 --num_train_epochs=4""")
    assert re.search(r"^eval loss: \d+\.\d{6}, acc: [01]\.\d{6}$", tuned.stdout, re.M), tuned.stdout[-2000:]
    assert "no --do_train / --do_eval / --do_predict given: training and evaluating" in tuned.stderr
    best = first / "trainer_output"
    assert (best / "model_state.pdparams").is_file()
    lock = json.loads((world["root"] / "store" / "fetch.lock.json").read_text())
    assert "QNLI.zip" in lock["glue/qnli"]["files"]  # fetched once, its sha256 recorded
    # ... and again from the fine-tuned model (the seed's second line)
    shell(world, home / "funnel_paddle" / "glue" / "run2", f"""python {glue / 'run_glue.py'} \\
 --model_name_or_path  {best} \\
 --task_name qnli \\
 --batch_size 24 \\
 --learning_rate 1e-5 \\
 --num_train_epochs=4""")

    # (2) prediction: --ckpt_path, --batch_size, the fetched test set, the leaderboard file in trainer_output
    pred_dir = home / "funnel_paddle" / "glue" / "predict"
    shell(world, pred_dir, f"""python {glue / 'run_predict.py'} \\
--ckpt_path {best} \\
--task_name qnli \\
--batch_size 24""")
    lines = (pred_dir / "trainer_output" / "QNLI.tsv").read_text().splitlines()
    assert lines[0] == "index\tprediction" and len(lines) == 11

    # (3) --num_train_epochs 0: evaluation only, with the seed's printed line
    ev_dir = home / "funnel_paddle" / "glue" / "eval"
    evaluated = shell(world, ev_dir, f"""python {glue / 'run_glue.py'} \\
--model_name_or_path  {best} \\
--task_name qnli \\
--batch_size 24 \\
--learning_rate 1e-5 \\
--num_train_epochs 0""")
    assert "--num_train_epochs 0: evaluating only" in evaluated.stderr
    assert re.search(r"^eval loss: \d+\.\d{6}, acc: [01]\.\d{6}$", evaluated.stdout, re.M)
    assert not (ev_dir / "trainer_output" / "model_state.pdparams").exists()  # nothing trained, nothing saved

    # SQuAD v2.0: train and predict the fetched dev set; then again from the fine-tuned model
    sq1 = home / "funnel_paddle" / "squad1.1"
    out = shell(world, sq1, f"""export TOKENIZERS_PARALLELISM=true; python {squad / 'run_squad_v1.py'} \\
--do_train \\
--do_predict \\
--learning_rate 1e-5  \\
--batch_size 4 \\
--model_name_or_path  ~/xlarge \\
--version_2_with_negative""")
    results = json.loads((sq1 / "trainer_output" / "predict" / "results.json").read_text())
    assert results["total"] == 6 and "best_f1" in results and "HasAns_total" in results
    assert "SQuAD v2.0 predict (6 questions)" in out.stdout
    sq2 = home / "funnel_paddle" / "squad2"
    shell(world, sq2, f"""python {squad / 'run_squad_v1.py'} \\
--do_train \\
--do_predict \\
--learning_rate 1e-5  \\
--batch_size 4 \\
--model_name_or_path  {sq1 / 'trainer_output'} \\
--version_2_with_negative""")
    assert (sq2 / "trainer_output" / "predict" / "null_odds.json").is_file()
