"""The report as one self-contained HTML file: images inlined as base64, plain HTML and CSS."""
from __future__ import annotations

import base64
import datetime as _dt
import json
import re
from html import escape
from pathlib import Path

from .figures import curves_figure
from .runs import RunRecord, json_object

#: eval.json fields that describe how a number was measured rather than being one
BOOKKEEPING = ("n_fake", "n_real", "seed", "checkpoint_step", "k", "subsets", "subset_size", "splits",
               "shuffle_seed", "max", "n", "n_train", "n_test", "extractor_id", "seconds")

CSS = """
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;font-size:.9em;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-family:monospace}
pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:420px;font-size:.8em}
.strip{display:flex;gap:10px;overflow-x:auto;scroll-snap-type:x mandatory;padding-bottom:8px}
.strip figure{margin:0;scroll-snap-align:start;flex:none;text-align:center;font-size:.8em}
.strip img{width:180px;image-rendering:pixelated;border:1px solid #ccc}
.latest img{width:360px;image-rendering:pixelated;border:1px solid #ccc}
.curves img{max-width:100%}.muted{color:#777;font-size:.85em}
"""


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{escape(alt)}">'


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return escape(str(v))


def headline(name: str, entry: dict) -> list[tuple[str, float]]:
    """The numbers of one eval.json entry: (label, value), e.g. ("fd", 12.3) or ("prdc.recall", 0.4)."""
    if "value" in entry and isinstance(entry["value"], (int, float)):
        return [(name, float(entry["value"]))]
    return [(f"{name}.{k}", float(v)) for k, v in entry.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in BOOKKEEPING]


def protocol_text(entry: dict) -> str:
    """How an entry was measured: its protocol (text or fields) and its sample counts and checkpoint."""
    parts = []
    for key in ("protocol", "split", "kernel", "kl", "features"):
        value = entry.get(key)
        if isinstance(value, dict):   # its plain fields; nested records (the extractor's) stay in eval.json
            parts.append("; ".join(f"{k} {v}" for k, v in value.items() if not isinstance(v, (dict, list))))
        elif value:
            parts.append(str(value))
    parts.append(", ".join(f"{k} {entry[k]}" for k in BOOKKEEPING if k in entry))
    return without_local_paths("; ".join(p for p in parts if p))


def without_local_paths(text: str) -> str:
    """Text without the parenthesized absolute paths of files on this machine, e.g. ' (/usr/share/x.gz)'."""
    return re.sub(r" \(/[^)]*\)", "", text)


def _floor_value(floor: dict | None, label: str) -> str:
    if not floor:
        return ""
    name, _, field = label.partition(".")
    entry = floor.get(name, {})
    value = entry.get(field or "value")
    return _fmt(value) if isinstance(value, (int, float)) else ""


def eval_table(run: RunRecord, floor: dict | None) -> str:
    """The latest eval.json as a table: metric, value, the real-vs-real floor at the same n, protocol."""
    if not run.evaluation:
        return '<p class="muted">No evaluation yet: run <code>genzoo eval RUN_DIR</code>.</p>'
    rows = []
    for name, entry in run.evaluation.items():
        if not isinstance(entry, dict):
            continue
        numbers = headline(name, entry)
        proto = escape(protocol_text(entry))
        for i, (label, value) in enumerate(numbers):
            std = f" &plusmn; {_fmt(entry['std'])}" if i == 0 and "std" in entry else ""
            cell = f'<td rowspan="{len(numbers)}">{proto}</td>' if i == 0 else ""
            rows.append(f'<tr><td>{escape(label)}</td><td class="num">{_fmt(value)}{std}</td>'
                        f'<td class="num">{_floor_value(floor, label)}</td>{cell}</tr>')
    return ('<table class="eval"><tr><th>metric</th><th>value</th><th>real vs real</th><th>protocol</th></tr>'
            + "".join(rows) + "</table>")


def samples_strip(run: RunRecord) -> str:
    """The sample grids over time (the same latent points at every step): a strip, then the latest large."""
    if not run.grids:
        return '<p class="muted">No sample grids.</p>'
    figures = "".join(f"<figure>{_img(png, f'samples at step {s}')}<figcaption>step {s}"
                      "</figcaption></figure>" for s, png in run.grids)
    step, last = run.grids[-1]
    return (f'<div class="strip">{figures}</div><div class="latest"><p>Latest (step {step}):</p>'
            f'{_img(last, f"latest samples, step {step}")}</div>')


def checkpoint_table(run: RunRecord) -> str:
    if not run.checkpoints:
        return '<p class="muted">No checkpoints.</p>'
    rows = []
    for step, path in run.checkpoints:
        st = path.stat()
        when = _dt.datetime.fromtimestamp(st.st_mtime).isoformat(timespec="seconds")
        rows.append(f'<tr><td class="num">{step}</td><td>{escape(path.name)}</td>'
                    f'<td class="num">{st.st_size / 1e6:.2f} MB</td><td>{when}</td></tr>')
    return "<table><tr><th>step</th><th>file</th><th>size</th><th>written</th></tr>" + "".join(rows) + "</table>"


def config_section(run: RunRecord) -> str:
    r, data = run.record, json_object(run.record.get("dataset"))
    source = without_local_paths(str(data.get("source", "")))
    done = run.checkpoints[-1][0] if run.checkpoints else 0
    facts = [("model", run.config.get("name")), ("algorithm", run.config.get("algorithm")),
             ("dataset", f"{source}; {data.get('size', '?')} training examples"),
             ("steps", f"{r.get('total_steps')} planned, latest checkpoint at {done}"),
             ("device", r.get("device")), ("precision", r.get("precision")),
             ("processes", r.get("processes")), ("created", r.get("created"))]
    facts += list(json_object(r.get("environment")).items())
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in facts if v is not None)
    return (f"<table>{rows}</table><details><summary>Resolved configuration</summary>"
            f"<pre>{escape(json.dumps(run.config, indent=2))}</pre></details>")


def compare_table(runs: list[RunRecord]) -> str:
    """Every run's eval numbers side by side, one column per run."""
    values = [dict(lbl for name, e in run.evaluation.items() if isinstance(e, dict) for lbl in headline(name, e))
              for run in runs]
    labels = list(dict.fromkeys(k for v in values for k in v))
    if not labels:
        return '<p class="muted">None of these runs has been evaluated.</p>'
    head = "".join(f"<th>{escape(run.name)}</th>" for run in runs)
    body = "".join(f"<tr><td>{escape(lbl)}</td>" + "".join(
        f'<td class="num">{_fmt(v[lbl]) if lbl in v else ""}</td>' for v in values) + "</tr>" for lbl in labels)
    return f'<table class="compare"><tr><th>metric</th>{head}</tr>{body}</table>'


def run_sections(run: RunRecord, floor: dict | None, index: int) -> str:
    return (f'<section id="run-{index}"><h2>{escape(run.name)}</h2>'
            f'<h3 id="config-{index}">Configuration and environment</h3>{config_section(run)}'
            f'<h3 id="samples-{index}">Samples over time</h3>{samples_strip(run)}'
            f'<h3 id="evaluation-{index}">Evaluation</h3>{eval_table(run, floor)}'
            f'<h3 id="checkpoints-{index}">Checkpoints</h3>{checkpoint_table(run)}</section>')


def render(runs: list[RunRecord], floors: list[dict | None]) -> str:
    title = "genzoo report: " + ", ".join(run.name for run in runs)
    curves = curves_figure(runs)
    curves_html = _img(curves, "training curves and learning rates") if curves else \
        '<p class="muted">Nothing logged yet.</p>'
    compare = f'<section id="compare"><h2>Metrics side by side</h2>{compare_table(runs)}</section>' \
        if len(runs) > 1 else ""
    body = "".join(run_sections(run, floor, i) for i, (run, floor) in enumerate(zip(runs, floors)))
    made = _dt.datetime.now().isoformat(timespec="seconds")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
            f'<p class="muted">Written {made} by genzoo report; self-contained (no network needed).</p>'
            f'<section id="curves" class="curves"><h2>Training curves</h2>{curves_html}</section>'
            f"{compare}{body}</body></html>\n")


def write(html: str, out: str | Path) -> Path:
    """The page, written atomically; a path that cannot be written is one line (GenzooError)."""
    from ..safe_write import write_atomic

    return write_atomic(out, lambda tmp: Path(tmp).write_text(html, encoding="utf-8"))
