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
# # GAU-α on CLUE classification (GAU-α dev table: iflytek 61.41, tnews 57.76, afqmc 74.17, cmnli 81.82, ...)
# fetch -> convert to Paddle -> fine-tune each task with the GAU-α recipe (`clue/recipes/gau_alpha_clue.sh`:
# Adafactor lr 5e-4 constant, batch 32, length 128, 10 epochs) -> dev accuracy + CLUE submission files -> the table.

# %% tags=["parameters"]
WORK = "/home/aistudio/work"                    # out/, logs/, figure/ go here (persists across restarts)
KIT_DIR = "/home/aistudio/work/reprokit"        # this kit's folder (git clone or the uploaded zip, unpacked)
PACKAGES = "/home/aistudio/external-libraries"  # persistent pip target; Paddle itself is never reinstalled
INSTALL = True                                  # install the kit into PACKAGES (once; False after that)
CACHE = "/home/aistudio/work/cache"             # fetch.py's store (REPROKIT_HOME)
MODEL = "gau-alpha"                             # a fetch.py registry name, or a checkpoint folder
DATA = ""                                       # folder with one subfolder per task; "" = fetch clue/<task>
TASKS = ["iflytek", "tnews", "afqmc", "cmnli", "ocnli", "cluewsc2020", "csl"]
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
# ## Fetch the checkpoint and the tasks (verified)

# %%
model_dir = MODEL if os.path.isdir(MODEL) else nb.fetched_path(nb.kit("fetch", MODEL))
if not DATA:
    for task in TASKS:
        nb.kit("fetch", f"clue/{task}")   # the script then reads the fetched copy (no DATA)
print("model:", model_dir)

# %% [markdown]
# ## Convert to Paddle

# %%
paddle_dir = os.path.join("out", "gau-alpha-paddle")
if "paddle" in BACKENDS and not os.path.isdir(paddle_dir):
    nb.kit("convert", model_dir, paddle_dir)

# %% [markdown]
# ## Fine-tune, evaluate and write the submission files, task by task

# %%
for task in TASKS:
    for backend in BACKENDS:
        data = {"DATA": os.path.join(DATA, task)} if DATA else {}
        nb.recipe("clue/recipes/gau_alpha_clue.sh", MODEL=paddle_dir if backend == "paddle" else model_dir,
                  TASK=task, BACKEND=backend, OUT=f"out/clue-{task}-{backend}", EXTRA=EXTRA, **data)

# %% [markdown]
# ## Loss curves and dev accuracy

# %%
for task in TASKS:
    for backend in BACKENDS:
        nb.show_image(f"figure/clue_{task}_{backend}.png")
        print(task, backend, open(f"logs/clue/{task}/{backend}/eval_results.json").read())

# %% [markdown]
# ## The GAU-α CLUE table, from the logs

# %%
nb.kit("tables", "--logs", "logs", "--out", "logs/tables", "--table", "gau_alpha_clue_dev",
       *(["--any-model"] if ANY_MODEL_TABLE else []))
nb.show_markdown("logs/tables/tables.md")
