"""TensorBoard event files in the run directory (train.tensorboard=true; the extra genzoo[tensorboard]).

Every metrics line (train.log_every) as scalars, each sample grid the run writes (train.sample_every
and the end) as an image, and the resolved configuration as text, under RUN_DIR/tensorboard:

    tensorboard --logdir runs/
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from ..config import summary_writer_class
from .hooks import Hook

if TYPE_CHECKING:
    from .trainer import Trainer

EVENTS_DIR = "tensorboard"
NOT_SCALARS = ("step", "epoch", "time")


class TensorBoardLog(Hook):
    """Writes the run's metrics lines, sample grids and configuration as TensorBoard events (rank 0 only)."""

    def __init__(self):
        self.writer = None
        self._logged_metrics: dict | None = None
        self._grid_step = -1

    def on_start(self, trainer: "Trainer") -> None:
        if not trainer.cfg.train.tensorboard or not trainer.world.is_main:
            return
        self.writer = summary_writer_class()(log_dir=str(trainer.run_dir / EVENTS_DIR),
                                             purge_step=trainer.steps_done or None)
        config = json.dumps(trainer.record["config"], indent=2)
        self.writer.add_text("config", "```\n" + config + "\n```", global_step=trainer.steps_done)

    def on_step_end(self, trainer: "Trainer", values: dict[str, float]) -> None:
        if self.writer is None:
            return
        if trainer.last_metrics and trainer.last_metrics is not self._logged_metrics:  # MetricsLog wrote a line
            self._logged_metrics = trainer.last_metrics
            for key, value in trainer.last_metrics.items():
                if key not in NOT_SCALARS:
                    self.writer.add_scalar(key, value, global_step=trainer.last_metrics["step"])
        self._add_grid(trainer)

    def on_end(self, trainer: "Trainer") -> None:
        if self.writer is not None:
            self.on_step_end(trainer, {})
            self.writer.flush()

    def _add_grid(self, trainer: "Trainer") -> None:
        """The grid SampleGrids has just written for this step, if any (read back, not drawn again)."""
        from PIL import Image

        path = trainer.run_dir / "samples" / f"step-{trainer.steps_done:07d}.png"
        if trainer.steps_done != self._grid_step and path.is_file():
            self._grid_step = trainer.steps_done
            with Image.open(path) as im:
                grid = np.asarray(im.convert("RGB"))
            self.writer.add_image("samples", grid, global_step=trainer.steps_done, dataformats="HWC")

    def close(self, trainer: "Trainer") -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
