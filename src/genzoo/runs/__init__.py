"""A run directory and what reads or writes it: its record (config.json), its checkpoint files, the data split
it was trained on, and the one writer of its sample grids. `training/` builds on this package, never the
other way round.

    run = RunDir.open("runs/vae-digits-20261121-101500")   # config.json read and checked
    run.config.name, run.dataset["name"], run.checkpoints()
    loaded = run.load()                                     # LoadedRun: .run, .step, .model
"""
from .checkpoint import list_checkpoints, read_checkpoint
from .record import CONFIG_FILE, METRICS_FILE, read_run_config
from .rundir import LoadedRun, RunDir, load, load_run
from .samples import class_row_labels, grid_reference, save_samples, write_samples
from .splits import run_split

__all__ = ["CONFIG_FILE", "METRICS_FILE", "LoadedRun", "RunDir", "class_row_labels", "grid_reference",
           "list_checkpoints", "load", "load_run", "read_checkpoint", "read_run_config", "run_split",
           "save_samples", "write_samples"]
