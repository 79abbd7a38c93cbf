# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Funnel-Transformer xlarge on SQuAD v2.0, and v1.1 from the same model (paper: v2.0 F1/EM 90.4/87.6, v1.1 94.7/89.0)
# fetch -> convert to Paddle -> fine-tune on v2.0 with the paper's protocol (`squad/recipes/funnel_xlarge_paper.sh`:
# seq 512, batch 48, lr 3e-5, layer decay 0.75, 8000 steps) -> evaluate v2.0 (threshold-tuned best F1/EM) and v1.1
# (always answering) -> the paper table from the run's logs. Every step is a kit command.

# %% tags=["parameters"]
WORK = "/home/aistudio/work"                    # out/, logs/, figure/ go here (persists across restarts)
KIT_DIR = "/home/aistudio/work/reprokit"        # this kit's folder (git clone or the uploaded zip, unpacked)
PACKAGES = "/home/aistudio/external-libraries"  # persistent pip target; Paddle itself is never reinstalled
INSTALL = True                                  # install the kit into PACKAGES (once; False after that)
CACHE = "/home/aistudio/work/cache"             # fetch.py's store (REPROKIT_HOME)
MODEL = "funnel-transformer/xlarge"             # a fetch.py registry name, or a checkpoint folder
DATA = ""                                       # folder with train-v2.0.json, dev-v2.0.json, dev-v1.1.json; "" = fetch
BACKENDS = ["paddle"]                           # and/or "torch"
PER_DEVICE, ACCUM = 8, 6                        # batch 48 on one 32 GB V100
EXTRA = "--fp16"                                # extra trainer arguments, e.g. "--max_steps 2" for a smoke run
ANY_MODEL_TABLE = False                         # True: the table takes any model (tiny smoke runs)

# %%
import os
import sys

os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)
os.environ["REPROKIT_HOME"] = CACHE
if PACKAGES and os.path.isdir(os.path.dirname(PACKAGES)):
    os.makedirs(PACKAGES, exist_ok=True)
    sys.path.append(PACKAGES)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), PACKAGES) if p)
if INSTALL:
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", PACKAGES, "--no-deps", KIT_DIR,
                    "safetensors", "tqdm"], check=True)
from paper import notebook as nb  # noqa: E402

# %% [markdown]
# ## Fetch the checkpoint and both SQuAD versions (verified)

# %%
model_dir = MODEL if os.path.isdir(MODEL) else nb.fetched_path(nb.kit("fetch", MODEL))
if not DATA:
    from artifacts.fetching import data_path
    DATA = os.path.join(WORK, "data", "squad")
    os.makedirs(DATA, exist_ok=True)
    for version in ("v2.0", "v1.1"):
        nb.kit("fetch", f"squad/{version}")
        for f in data_path(f"squad/{version}").glob("*.json"):  # the recipe reads one folder
            if not os.path.exists(os.path.join(DATA, f.name)):
                os.symlink(f, os.path.join(DATA, f.name))
print("model:", model_dir, "\ndata:", sorted(os.listdir(DATA)))

# %% [markdown]
# ## Convert to Paddle

# %%
paddle_dir = os.path.join("out", "funnel-paddle")
if "paddle" in BACKENDS and not os.path.isdir(paddle_dir):
    nb.kit("convert", model_dir, paddle_dir)

# %% [markdown]
# ## Fine-tune on v2.0 and evaluate v2.0 + v1.1 (the paper's protocol) on each backend

# %%
for backend in BACKENDS:
    nb.recipe("squad/recipes/funnel_xlarge_paper.sh", MODEL=paddle_dir if backend == "paddle" else model_dir,
              DATA=DATA, BACKEND=backend, OUT=f"out/squad-{backend}", PER_DEVICE=PER_DEVICE, ACCUM=ACCUM,
              EXTRA=EXTRA)

# %% [markdown]
# ## Loss curve and the evaluation

# %%
for backend in BACKENDS:
    nb.show_image(f"figure/squad_v2.0_{backend}.png")
    print(open(f"logs/squad/v2.0/{backend}/eval_results.json").read())

# %% [markdown]
# ## The paper table, from the logs

# %%
nb.kit("tables", "--logs", "logs", "--out", "logs/tables", "--table", "funnel_squad",
       *(["--any-model"] if ANY_MODEL_TABLE else []))
nb.show_markdown("logs/tables/tables.md")
