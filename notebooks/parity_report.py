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
# # The parity report on a real checkpoint: torch reference vs Paddle port
# compare.py on the checkpoint you reproduce with: every output, every layer (forward and backward), every parameter
# gradient and AdamW steps, float32 against the bars with the float64 noise floor; the first divergence if any.

# %% tags=["parameters"]
WORK = "/home/aistudio/work"                    # out/, logs/, figure/ go here (persists across restarts)
KIT_DIR = "/home/aistudio/work/reprokit"        # this kit's folder (git clone or the uploaded zip, unpacked)
PACKAGES = "/home/aistudio/external-libraries"  # persistent pip target; Paddle itself is never reinstalled
INSTALL = True                                  # install the kit into PACKAGES (once; False after that)
CACHE = "/home/aistudio/work/cache"             # fetch.py's store (REPROKIT_HOME)
MODEL = "funnel-transformer/xlarge"             # a fetch.py registry name, or a checkpoint folder (either layout)
TEXT = ""                                       # sentences, one per line (text<TAB>pair); "" = random ids
STEPS = 2                                       # AdamW steps per side
COMPARE_ARGS = ["--spill-dir", "/home/aistudio/work/tmp"]  # xlarge spills ~41 GB of arrays (peak RSS ~10.5 GB)

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
# ## Fetch the checkpoint (verified)

# %%
model_dir = MODEL if os.path.isdir(MODEL) else nb.fetched_path(nb.kit("fetch", MODEL))
print("model:", model_dir)

# %% [markdown]
# ## Run compare.py

# %%
if "--spill-dir" in COMPARE_ARGS:
    os.makedirs(COMPARE_ARGS[COMPARE_ARGS.index("--spill-dir") + 1], exist_ok=True)
args = ["--checkpoint", model_dir, "--steps", str(STEPS), "--name", "parity_notebook", *COMPARE_ARGS]
try:
    nb.kit("compare", *args, *(["--text", TEXT] if TEXT else []))
except RuntimeError as failed:   # exit 1: a check failed; the report below says which and where
    print(failed)

# %% [markdown]
# ## Per-layer differences (forward and backward), and the report

# %%
import glob

for png in sorted(glob.glob("figure/compare_*.png")):
    nb.show_image(png)
nb.show_markdown("logs/compare/parity_notebook.md")
