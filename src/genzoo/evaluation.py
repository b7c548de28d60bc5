"""`genzoo eval`: the registered metrics that apply to a trained run, each number with its protocol.

The metrics, their registry and what each sees of a run (`Evaluation`) live in genzoo.metrics: image
models are compared with the real test split in the feature space of genzoo's own classifier (FD, KID,
PRDC, classifier score, classes; Inception-FID on request); toy 2-D models get the PacGAN mode metrics;
VAE-family models an importance-sampled NLL; RBMs and DBMs an AIS log-likelihood (or its lower bound);
models with features a linear probe; models with a categorical code q(y|x) (AAE semi and cluster) its
test error; translation models L1 and digits; text-to-image models their caption accuracy. Each runs
under a protocol (PROTOCOLS): the quick one by default, the papers' budget with protocol="paper". This
module runs them on a run directory and merges the results into RUN_DIR/eval.json.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import GenzooError
from .metrics.context import PROTOCOLS, Evaluation
from .metrics.registry import METRICS, check_metrics, default_metrics, value_text
from .safe_write import read_regular_file, write_text
from .runs import RunDir

MAX_EVAL_JSON_BYTES = 10 << 20   # results of every metric are a few kB
#: the most samples one evaluation draws (the standard FID protocol's count); more would only cost memory
MAX_EVAL_SAMPLES = 50_000


def evaluate_run(run_dir: "str | Path | RunDir", *, protocol: str = "quick", metrics: list[str] | None = None, seed: int = 0,
                 step: int | None = None, progress: bool = True, log=print, **budget: int | None) -> dict:
    """Evaluate the run's (a RunDir or its path) latest checkpoint (or that of `step`); returns {metric: {value..., protocol...}}
    and merges it into eval.json (each entry records its checkpoint_step, protocol_level and budget).

    protocol: "quick" or "paper" (PROTOCOLS); budget: n, k, ais_runs, ais_betas, inception_n given here
    replace the protocol's. progress: progress bars with ETAs on stderr for the long estimates."""
    if protocol not in PROTOCOLS:
        raise GenzooError(f"unknown protocol '{protocol}'; choose from {', '.join(PROTOCOLS)}")
    budget = {k: v for k, v in budget.items() if v is not None}
    unknown = sorted(set(budget) - set(PROTOCOLS[protocol]))
    if unknown:
        raise GenzooError(f"unknown budget setting(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(PROTOCOLS[protocol])}")
    n = budget.get("n", PROTOCOLS[protocol]["n"])
    if not 2 <= n <= MAX_EVAL_SAMPLES:
        raise GenzooError(f"--n must be from 2 to {MAX_EVAL_SAMPLES:,} (the standard FID sample count), got {n:,}: "
                          "the generated samples are held in memory")
    run = RunDir.open(run_dir)
    ev = Evaluation(run, step=step, protocol=protocol, seed=seed, progress=progress, log=log, **budget)
    ev.metrics = tuple(metrics or default_metrics(ev))
    check_metrics(ev, list(ev.metrics))
    log(f"genzoo: the {protocol} protocol: " + ", ".join(f"{k} {v}" for k, v in ev.budget.items())
        + ("" if protocol == "paper" else " (`--protocol paper` for the papers' budget)"))
    results = {name: {**METRICS[name].compute(ev), **ev.common} for name in METRICS if name in ev.metrics}
    _merge_into_eval_json(run.path / "eval.json", results, log)
    return results


def _merge_into_eval_json(path: Path, results: dict, log) -> None:
    """Add `results` to eval.json. An eval.json that does not read back as a JSON object is moved aside
    (eval.json.corrupt, then .corrupt-2, ...) with a notice, so the new results are never lost to it; one
    that cannot be written (a folder, a link, a FIFO, a full disk) gets the results printed in full instead."""
    try:
        previous = _previous_results(path, log)
        previous.update(results)
        write_text(path, json.dumps(previous, indent=2, default=float) + "\n")
    except GenzooError as e:
        log(f"genzoo: notice: {e}. The results were not saved; here they are in full:\n"
            + json.dumps(results, indent=2, default=float))
    except KeyboardInterrupt:   # Ctrl-C or SIGTERM while writing: eval.json is as it was; keep the results
        kept = ("which is kept as it was" if path.exists() or path.is_symlink()
                else "which was not written (there was none to keep)")   # a corrupt one was moved aside
        log(f"genzoo: notice: interrupted while writing {path}, {kept}; the results in full:\n"
            + json.dumps(results, indent=2, default=float))
        raise


def _previous_results(path: Path, log) -> dict:
    """The results already in eval.json: {} when there is none, or when it is not a regular file (kept as it
    is; the write then says why) or not a JSON object (moved aside with a notice); GenzooError when it
    cannot be read (it is kept, and the results are printed instead)."""
    if not path.exists() and not path.is_symlink():
        return {}
    data, why = read_regular_file(path, MAX_EVAL_JSON_BYTES)
    if data is None and not why.startswith("over"):
        if path.is_symlink() or not path.is_file():   # a link, folder or FIFO: the write refuses it, says why
            return {}
        # a regular file this user cannot read (another's, mode 600): the write would replace what it holds
        raise GenzooError(f"cannot read {path} ({why}), so it is kept as it is: writing the new results "
                          "would replace the results it holds")
    try:
        previous = json.loads(data.decode("utf-8")) if data is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        previous = None
    if isinstance(previous, dict):
        return previous
    aside, i = path.with_name(path.name + ".corrupt"), 1
    while aside.exists():
        i += 1
        aside = path.with_name(f"{path.name}.corrupt-{i}")
    try:
        os.replace(path, aside)
    except OSError as e:   # a run directory this user cannot write: the write fails next and prints the results
        log(f"genzoo: notice: {path} is not a JSON object of results and cannot be moved aside ({e.strerror or e})")
        return {}
    log(f"genzoo: notice: {path} was not a JSON object of results; moved it to {aside} "
        "and wrote the new results alone")
    return {}


def _floor_text(name: str, floor: dict) -> str:
    if name == "prdc":
        return ", ".join(f"{k} {floor[k]:.3f}" for k in ("precision", "recall", "density", "coverage"))
    if name == "classes":
        return f"{floor['classes_covered']} classes, KL {floor['kl_to_data']:.3f}"
    return f"{floor['value']:.4f}"


def format_results(results: dict) -> str:
    """One line per number: name, value (as its metric formats it), and the sample counts."""
    lines = []
    for name, r in results.items():
        metric = METRICS.get(name)
        if metric is not None and metric.format is not None:
            value = metric.format(r)
        elif "value" in r:
            value = value_text(r)
        else:
            value = ", ".join(f"{k} {v}" for k, v in r.items() if isinstance(v, (int, float)) and k != "seed")
        extra = f"  [n_fake {r['n_fake']}, n_real {r['n_real']}]" if "n_real" in r else ""
        if "real_floor" in r:
            extra += "  floor: " + _floor_text(name, r["real_floor"])
        lines.append(f"  {name:14s} {value}{extra}")
    return "\n".join(lines)
