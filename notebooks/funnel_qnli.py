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
# # Funnel-Transformer xlarge on QNLI (paper: 95.1 dev accuracy)
# fetch -> convert to Paddle -> fine-tune with the paper's recipe (`glue/recipes/qnli_funnel_xlarge.sh`) -> evaluate
# -> the paper table rendered from the run's logs. Every step is a kit command; the same lines run in a shell.
# On AI Studio (V100 32 GB, Paddle from the image) the defaults below apply; the test suite runs this notebook with
# a tiny model and data on both backends.

# %% tags=["parameters"]
WORK = "/home/aistudio/work"                    # out/, logs/, figure/ go here (persists across restarts)
KIT_DIR = "/home/aistudio/work/reprokit"        # this kit's folder (git clone or the uploaded zip, unpacked)
PACKAGES = "/home/aistudio/external-libraries"  # persistent pip target; Paddle itself is never reinstalled
INSTALL = True                                  # install the kit into PACKAGES (once; False after that)
CACHE = "/home/aistudio/work/cache"             # fetch.py's store (REPROKIT_HOME)
MODEL = "funnel-transformer/xlarge"             # a fetch.py registry name, or a checkpoint folder
DATA = ""                                       # QNLI folder (train/dev/test.tsv); "" = fetch glue/qnli
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
# ## Fetch the checkpoint and the data (verified: sha256 / hub metadata / lock file)

# %%
model_dir = MODEL if os.path.isdir(MODEL) else nb.fetched_path(nb.kit("fetch", MODEL))
if not DATA:
    nb.kit("fetch", "glue/qnli")
    from artifacts.fetching import data_path
    DATA = str(data_path("glue/qnli"))
print("model:", model_dir, "\ndata:", DATA)

# %% [markdown]
# ## Convert to Paddle (table-driven, manifest with sha256)

# %%
paddle_dir = os.path.join("out", "funnel-paddle")
if "paddle" in BACKENDS and not os.path.isdir(paddle_dir):
    nb.kit("convert", model_dir, paddle_dir)

# %% [markdown]
# ## Fine-tune and evaluate: the paper's recipe on each backend

# %%
for backend in BACKENDS:
    nb.recipe("glue/recipes/qnli_funnel_xlarge.sh", MODEL=paddle_dir if backend == "paddle" else model_dir,
              DATA=DATA, BACKEND=backend, OUT=f"out/qnli-{backend}", EXTRA=EXTRA)

# %% [markdown]
# ## Loss and dev accuracy

# %%
for backend in BACKENDS:
    nb.show_image(f"figure/glue_QNLI_{backend}.png")
    print(open(f"logs/glue/QNLI/{backend}/eval_results.json").read())

# %% [markdown]
# ## The paper table, from the logs

# %%
nb.kit("tables", "--logs", "logs", "--out", "logs/tables", "--table", "funnel_qnli",
       *(["--any-model"] if ANY_MODEL_TABLE else []))
nb.show_markdown("logs/tables/tables.md")
