"""The compare report's figure: per-layer forward and backward differences on a log scale, with the bar, the float64
noise floor (the reference's own float32 error) and the first divergence marked."""
from __future__ import annotations

import os
from pathlib import Path

FLOOR = 1e-12  # exact zeros are drawn here on the log scale


def plot_layers(run: dict, path, title: str = "") -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lay = run["layers"]
    col = {c: i for i, c in enumerate(lay["columns"])}
    fig, axes = plt.subplots(2, 1, figsize=(12, 7.5))
    for ax, part, label in ((axes[0], "forward", "layer outputs (order calls finish)"),
                            (axes[1], "backward", "layer input gradients + parameter gradients (backward order)")):
        rows = lay[part]
        x = range(len(rows))
        diff = [max(r[col["max_abs"]], FLOOR) for r in rows]
        bar = [max(r[col["tol_max"]], FLOOR) for r in rows]
        ref = [max(r[col["ref_err_max"]], FLOOR) if r[col["ref_err_max"]] is not None else None for r in rows]
        ax.step(x, bar, where="mid", color="tab:orange", ls="--", lw=1, label="bar (tolerance)")
        if any(v is not None for v in ref):
            ax.plot(x, [v if v is not None else float("nan") for v in ref], color="0.6", lw=1,
                    label="noise floor: |torch float32 - torch float64|")
        ok = [i for i, r in enumerate(rows) if r[col["ok"]]]
        bad = [i for i, r in enumerate(rows) if not r[col["ok"]]]
        ax.scatter(ok, [diff[i] for i in ok], s=8, color="tab:blue", label="|torch - paddle| max, float32")
        if bad:
            ax.scatter(bad, [diff[i] for i in bad], s=14, color="tab:red", label="failing")
        first = lay["first_divergence"][part]
        if first is not None:
            i = [r[col["name"]] for r in rows].index(first["name"])
            ax.axvline(i, color="tab:red", lw=1)
            ax.annotate(f"first divergence: {first['name']}", (i, max(diff)), fontsize=8, color="tab:red",
                        ha="left" if i < len(rows) / 2 else "right", va="top")
        ax.set_yscale("log")
        ax.set_xlim(-1, len(rows))
        ax.set_ylabel("max abs diff")
        ax.set_title(f"{part}: {len(rows)} {label}", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(title + ("" if lay["failed"] == 0 else f" - {lay['failed']} failing"), fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
