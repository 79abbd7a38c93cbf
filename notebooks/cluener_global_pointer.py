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
# # CLUENER 2020 with GlobalPointer / EfficientGlobalPointer (GAU-α dev F1 80.01)
# fetch -> convert to Paddle -> fine-tune with the seeds' recipe (`cluener/recipes/gau_alpha_globalpointer.sh`:
# batch 16, lr 2e-5 constant, weight decay 0.05, 10 epochs, length 256, RoPE) -> dev micro F1 and the official
# per-type F1 -> `cluener_predict.json` -> the table.

# %% tags=["parameters"]
WORK = "/home/aistudio/work"                    # out/, logs/, figure/ go here (persists across restarts)
KIT_DIR = "/home/aistudio/work/reprokit"        # this kit's folder (git clone or the uploaded zip, unpacked)
PACKAGES = "/home/aistudio/external-libraries"  # persistent pip target; Paddle itself is never reinstalled
INSTALL = True                                  # install the kit into PACKAGES (once; False after that)
CACHE = "/home/aistudio/work/cache"             # fetch.py's store (REPROKIT_HOME)
MODEL = "gau-alpha"                             # a fetch.py registry name, or a checkpoint folder
DATA = ""                                       # folder with train.json, dev.json, test.json; "" = fetch cluener
HEADS = ["GlobalPointer", "EfficientGlobalPointer"]
ROPE = "True"
BACKENDS = ["paddle"]                           # and/or "torch"
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
# ## Fetch the checkpoint and CLUENER (verified)

# %%
model_dir = MODEL if os.path.isdir(MODEL) else nb.fetched_path(nb.kit("fetch", MODEL))
if not DATA:
    nb.kit("fetch", "cluener")   # the script then reads the fetched copy (no DATA)
print("model:", model_dir)

# %% [markdown]
# ## Convert to Paddle

# %%
paddle_dir = os.path.join("out", "gau-alpha-paddle")
if "paddle" in BACKENDS and not os.path.isdir(paddle_dir):
    nb.kit("convert", model_dir, paddle_dir)

# %% [markdown]
# ## Fine-tune, evaluate (both metrics, per-type table) and predict the test set

# %%
for head in HEADS:
    for backend in BACKENDS:
        data = {"DATA": DATA} if DATA else {}
        nb.recipe("cluener/recipes/gau_alpha_globalpointer.sh", MODEL=paddle_dir if backend == "paddle" else model_dir,
                  HEAD=head, ROPE=ROPE, BACKEND=backend, OUT=f"out/cluener-{head}-{backend}", EXTRA=EXTRA, **data)

# %% [markdown]
# ## Loss curves and dev F1

# %%
import json

for head in HEADS:
    for backend in BACKENDS:
        nb.show_image(f"figure/cluener_{head}_{backend}.png")
        dev = json.load(open(f"logs/cluener/{head}/{backend}/eval_results.json"))["dev"]
        print(head, backend, "micro F1", dev["micro_f1"], "official macro F1", dev["official_macro_f1"])

# %% [markdown]
# ## The tables, from the logs

# %%
nb.kit("tables", "--logs", "logs", "--out", "logs/tables", "--table", "gau_alpha_clue_dev",
       "--table", "global_pointer_cluener", *(["--any-model"] if ANY_MODEL_TABLE else []))
nb.show_markdown("logs/tables/tables.md")
