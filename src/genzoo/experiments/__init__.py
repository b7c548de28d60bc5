"""The lecture phenomena as runnable, measured experiments.

    import genzoo.experiments as gx
    gx.names()                                  # every experiment
    record = gx.run("xy-game", quick=True)      # numbers, protocol, claim and verdict
    record["holds"], record["numbers"]["ratio"]

Each experiment (one file each) measures one claim of the lecture notes with the library's own
models, presets, metrics and trainer, judges it by a stated rule (a pure function of the
numbers), and draws one figure. `genzoo experiment NAME --out DIR` writes DIR/NAME.png and
DIR/NAME.json.
"""
from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import GenzooError
from ..safe_write import write_text

if TYPE_CHECKING:   # base imports torch; `genzoo experiment --help` and the CLI's parser do not need it
    from .base import Experiment

#: experiment name -> module (in the order of the gallery)
MODULES = {
    "xy-game": "xy_game", "optimal-discriminator": "optimal_discriminator", "saturation": "saturation",
    "mode-collapse": "mode_collapse", "linear-ae-pca": "linear_ae_pca", "checkerboard": "checkerboard",
    "dcgan-features": "dcgan_features", "truncation": "truncation", "latent-walk": "latent_walk",
    "wasserstein-estimate": "wasserstein_estimate", "gumbel-temperature": "gumbel_temperature",
    "ais-check": "ais_check", "gibbs-mixing": "gibbs_mixing", "cd-k-bias": "cd_k_bias",
    "spectral-norm": "spectral_norm", "starved-generator": "starved_generator",
    "weight-clipping": "weight_clipping", "jsd-saturation": "jsd_saturation",
    "iwae-bound": "iwae_bound", "beta-vae": "beta_vae", "label-smoothing": "label_smoothing",
    "aae-prior": "aae_prior",
}


def names() -> list[str]:
    return list(MODULES)


def get(name: str) -> Experiment:
    if name not in MODULES:
        import difflib
        close = difflib.get_close_matches(name, MODULES, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise GenzooError(f"unknown experiment '{name}'.{hint} `genzoo experiment --list` shows them all")
    return importlib.import_module(f".{MODULES[name]}", __name__).EXPERIMENT


def run(name: str, *, quick: bool = False, seed: int = 0, out: str | Path | None = None,
        run_dir: str | Path | None = None, progress: bool = False, size: float = 1.0) -> dict:
    """Run one experiment; return its record (claim, holds, rule, numbers, protocol). With `out`,
    also write out/NAME.json and out/NAME.png. run_dir: a trained run to use instead of training one."""
    from .base import Context

    exp = get(name)
    if run_dir is not None and not exp.uses_run:
        raise GenzooError(f"{name} trains nothing, so it takes no --run")
    if out is not None:   # before the work: a file where the folder goes
        _check_out_folder(Path(out))
    ctx = Context(quick=quick, seed=seed, run_dir=Path(run_dir) if run_dir else None, progress=progress, size=size)
    t0, c0 = time.time(), time.process_time()
    measured = exp.measure(ctx)
    verdict = exp.check(measured.numbers)
    record = {"name": name, "claim": exp.claim, "source": exp.source, "holds": bool(verdict.holds),
              "rule": verdict.rule, "measured": verdict.measured, "numbers": measured.numbers,
              "protocol": measured.protocol, "quick": quick, "seed": seed, "seconds": round(time.time() - t0, 1),
              "cpu_seconds": round(time.process_time() - c0, 1),
              "hardware": _hardware(), "command": _command(name, quick, seed, run_dir)}
    if out is not None:
        out = _make_out_folder(Path(out))
        exp.plot(measured.numbers, measured.images, out / f"{name}.png")
        write_text(out / f"{name}.json", json.dumps(record, indent=2, default=float) + "\n")
    return record


def _check_out_folder(out: Path) -> None:
    blocking = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise GenzooError(f"'{blocking}' is a file; --out names the folder for the experiment's figure and "
                          "numbers: choose a folder")


def _make_out_folder(out: Path) -> Path:
    _check_out_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GenzooError(f"cannot create the folder '{out}' ({e.strerror or e}); choose another --out") from None
    return out


def _command(name: str, quick: bool, seed: int, run_dir) -> str:
    return " ".join(["genzoo experiment", name] + (["--quick"] if quick else []) + [f"--seed {seed}"]
                    + ([f"--run {run_dir}"] if run_dir else []))


def _hardware() -> dict:
    """The machine's record, with the version of PyTorch that computed on it."""
    import torch

    from ..machine import hardware
    return {**hardware("cuda" if torch.cuda.is_available() else "cpu"), "torch": torch.__version__}
