"""The reproduction recipes run as written (every flag valid, every file where the script looks for it): each is run
with a tiny checkpoint and fixture data, with EXTRA flags appended (argparse: the last value wins) to make it a few
steps at a short length."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def recipe(name, tmp_path, **env):
    run = subprocess.run(["bash", str(ROOT / name)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHON": sys.executable, **{k: str(v) for k, v in env.items()}})
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.parametrize("backend", ["torch", "paddle"])
def test_squad_paper_recipe(tmp_path, backend):
    from tests.test_squad_run import synthetic_squad, tiny_qa_checkpoint
    data = tmp_path / "squad"
    data.mkdir()
    synthetic_squad(data / "train-v2.0.json", 8, 0, v2=True)
    synthetic_squad(data / "dev-v2.0.json", 6, 1, v2=True)
    synthetic_squad(data / "dev-v1.1.json", 4, 2)
    ckpt = tiny_qa_checkpoint(tmp_path)
    out, logs = tmp_path / "out", tmp_path / "logs"
    run = recipe("squad/recipes/funnel_xlarge_paper.sh", tmp_path, MODEL=ckpt, DATA=data, BACKEND=backend, OUT=out,
                 EXTRA=f"--max_steps 2 --warmup_steps 1 --max_seq_length 32 --doc_stride 8 --per_device_train_batch_size"
                       f" 2 --gradient_accumulation_steps 2 --log_dir {logs} --figure_dir {tmp_path} --report_to none")
    assert "paper protocol: v1.1 F1/EM" in run.stdout
    res = json.loads((logs / "eval_results.json").read_text())
    assert set(res["paper"]) >= {"v1.1_f1", "v2.0_best_f1"}
    assert json.loads((logs / "args.json").read_text())["layer_lr_decay"] == 0.75


def test_qnli_recipe(tmp_path):
    from tests.test_glue import glue_fixture, tiny_checkpoint
    data = glue_fixture(tmp_path / "glue") / "QNLI"
    ckpt = tiny_checkpoint(tmp_path)
    logs = tmp_path / "logs"
    recipe("glue/recipes/qnli_funnel_xlarge.sh", tmp_path, MODEL=ckpt, DATA=data, BACKEND="torch",
           OUT=tmp_path / "out",
           EXTRA=f"--max_steps 2 --per_device_train_batch_size 2 --log_dir {logs} --figure_dir {tmp_path} "
                 "--report_to none")
    assert (tmp_path / "out" / "QNLI.tsv").is_file()
    assert json.loads((logs / "args.json").read_text())["layer_lr_decay"] == 0.8


@pytest.mark.parametrize("task", ["cluewsc2020", "csl"])
def test_clue_recipe(tmp_path, task):
    from tests.test_clue import clue_fixture, gau_checkpoint
    data = clue_fixture(tmp_path / "clue") / task
    logs = tmp_path / "logs"
    run = recipe("clue/recipes/gau_alpha_clue.sh", tmp_path, MODEL=gau_checkpoint(tmp_path), TASK=task, DATA=data,
                 BACKEND="paddle", OUT=tmp_path / "out",
                 EXTRA=f"--max_steps 2 --per_device_train_batch_size 2 --log_dir {logs} --figure_dir {tmp_path} "
                       "--report_to none")
    expected = {"cluewsc2020": "80.59", "csl": "85.5"}[task]
    assert run.stdout.strip().splitlines()[-1] == f"expected dev accuracy for {task} (GAU-alpha-pytorch, Adafactor): " \
                                                  f"{expected}"
    args = json.loads((logs / "args.json").read_text())
    assert (args["optim"], args["learning_rate"], args["lr_scheduler_type"]) == ("adafactor", 5e-4, "constant")
    assert args["num_train_epochs"] == (30 if task == "cluewsc2020" else 10)
    assert (tmp_path / "out.zip").is_file()


def test_cluener_recipe(tmp_path):
    from tests.test_cluener_run import gau_checkpoint, synthetic
    data = tmp_path / "data"
    synthetic(data / "train.json", 8, 0)
    synthetic(data / "dev.json", 4, 1)
    synthetic(data / "test.json", 3, 2, test=True)
    logs = tmp_path / "logs"
    run = recipe("cluener/recipes/gau_alpha_globalpointer.sh", tmp_path, MODEL=gau_checkpoint(tmp_path), DATA=data,
                 BACKEND="torch", HEAD="EfficientGlobalPointer", OUT=tmp_path / "out",
                 EXTRA=f"--max_steps 2 --head_size 8 --max_seq_length 32 --log_dir {logs} --figure_dir {tmp_path} "
                       "--report_to none")
    assert run.stdout.strip().splitlines()[-1] == "expected dev F1 (micro, GAU-alpha + GlobalPointer): 80.01"
    args = json.loads((logs / "args.json").read_text())
    assert (args["learning_rate"], args["weight_decay"], args["lr_scheduler_type"]) == (2e-5, 0.05, "constant")
    assert args["global_pointer_head"] == "EfficientGlobalPointer" and args["rope"] is True
    assert (tmp_path / "out" / "cluener_predict.json").is_file()


def test_cluener_bert_recipe(tmp_path):
    """The seeds' bert-base-chinese recipe, on Paddle (PaddleNLP's BERT through its name mapping), cut to 2 steps."""
    from tests.test_cluener_bert import bert_checkpoint
    from tests.test_cluener_run import synthetic
    data = tmp_path / "data"
    synthetic(data / "train.json", 8, 0)
    synthetic(data / "dev.json", 4, 1)
    synthetic(data / "test.json", 3, 2, test=True)
    logs = tmp_path / "logs"
    run = recipe("cluener/recipes/bert_globalpointer.sh", tmp_path, MODEL=bert_checkpoint(tmp_path), DATA=data,
                 BACKEND="paddle", HEAD="EfficientGlobalPointer", ROPE="False", OUT=tmp_path / "out",
                 EXTRA=f"--max_steps 2 --head_size 8 --max_seq_length 32 --log_dir {logs} --figure_dir {tmp_path} "
                       "--report_to none")
    assert "expected dev F1 (micro, bert-base-chinese + EfficientGlobalPointer, RoPE False): 79.57" in run.stdout
    args = json.loads((logs / "args.json").read_text())
    assert (args["learning_rate"], args["weight_decay"], args["lr_scheduler_type"]) == (2e-5, 0.05, "constant")
    assert args["rope"] is False and json.loads((logs / "kit_run.json").read_text())["config"]["model_type"] == "bert"
    assert (tmp_path / "out" / "cluener_predict.json").is_file()


def test_recipes_find_the_kits_python_from_any_shell(tmp_path):
    """A fresh shell (no venv activated, no PYTHON): the recipe finds the kit's interpreter (the repository's .venv,
    made by the README's set-up command); a Python without the kit stops it with one line naming the fix."""
    bare = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "VIRTUAL_ENV")}
    bare["PATH"] = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    probe = f'source {ROOT}/tasks/kit_python.sh && "$PYTHON" -c "import reprokit, sys; print(sys.prefix)"'
    run = subprocess.run(["bash", "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=bare)
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv in the repository (the README's set-up command makes it)")
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()).resolve() == (ROOT / ".venv").resolve()
    base = getattr(sys, "_base_executable", None)
    if not base or subprocess.run([base, "-c", "import reprokit"], cwd="/", capture_output=True).returncode == 0:
        pytest.skip("no interpreter without the kit to try")
    run = subprocess.run(["bash", str(ROOT / "glue/recipes/qnli_funnel_xlarge.sh")], cwd=ROOT, capture_output=True,
                         text=True, env={**bare, "PYTHON": base})
    assert run.returncode == 2 and run.stderr.strip().splitlines() == [
        f"error: {base} cannot import the kit; run the README's set-up command (python3 -m venv .venv && "
        ".venv/bin/pip install -r requirements.txt -e .) or set PYTHON to the kit's interpreter"]
