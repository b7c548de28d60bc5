"""Figures of a report, drawn with matplotlib and returned as PNG bytes."""
from __future__ import annotations

import io
import math

from .runs import RunRecord


def _text(label: str) -> str:
    """`label` shown as it is: a '$' would otherwise start matplotlib's mathtext, which fails on bad TeX."""
    return str(label).replace("$", r"\$")


#: panel size and the margins around panels, in inches: fixed, so the figure is drawn once (a tight layout
#: draws it twice more to measure its labels, which tripled a report's time)
PANEL_W, PANEL_H = 4.2, 2.8
MARGIN = {"left": 0.75, "right": 0.15, "bottom": 0.45, "top": 0.35, "between_w": 0.9, "between_h": 0.75}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def curves_figure(runs: list[RunRecord]) -> bytes | None:
    """One panel per logged value (every run overlaid, one colour per run), then the learning rates."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [run.curves() for run in runs]
    keys = list(dict.fromkeys(k for c in curves for k in c))
    rates = [run.learning_rates() for run in runs]
    panels = len(keys) + (1 if any(rates) else 0)
    if panels == 0:
        return None
    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL_W * cols, PANEL_H * rows), squeeze=False)
    _fixed_margins(fig, rows, cols)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes.flat, keys):
        for i, (run, c) in enumerate(zip(runs, curves)):
            if key in c:
                ax.plot(*c[key], color=colors[i % len(colors)], lw=1.2, label=_text(run.name),
                        marker="o" if len(c[key][0]) < 20 else None, ms=3)   # a few points: show each
        ax.set_title(_text(key), fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.grid(alpha=0.3)
    if any(rates):
        ax = axes.flat[len(keys)]
        for i, (run, r) in enumerate(zip(runs, rates)):
            for j, (name, (steps, lrs)) in enumerate(r.items()):
                ax.plot(steps, lrs, color=colors[i % len(colors)], ls=("-", "--", ":")[j % 3], lw=1.2,
                        label=_text(f"{run.name}: {name}" if len(runs) > 1 else name))
        ax.set_title("learning rate", fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[panels:]:
        ax.axis("off")
    if len(runs) > 1:
        axes.flat[0].legend(fontsize=7)
    return _png(fig)


def _fixed_margins(fig, rows: int, cols: int) -> None:
    """MARGIN's inches as the fractions subplots_adjust takes (gaps relative to a panel's width and height)."""
    width, height, m = PANEL_W * cols, PANEL_H * rows, MARGIN
    panel_w = (width - m["left"] - m["right"] - (cols - 1) * m["between_w"]) / cols
    panel_h = (height - m["bottom"] - m["top"] - (rows - 1) * m["between_h"]) / rows
    fig.subplots_adjust(left=m["left"] / width, right=1 - m["right"] / width, bottom=m["bottom"] / height,
                        top=1 - m["top"] / height, wspace=m["between_w"] / panel_w, hspace=m["between_h"] / panel_h)
