"""An existing run directory (`RunDir`) and a run loaded at one checkpoint (`LoadedRun`: the RunDir, the step
and the model), which genzoo's commands take; `load()` and `load_run()` are the Python API's."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import RunConfig
from ..errors import CheckpointError
from ..models import Algorithm, DataSpec
from ..presets import build_config
from .build import build_model, resolve_device
from .checkpoint import list_checkpoints, load_model_state, read_checkpoint
from .record import METRICS_FILE, read_run_config


@dataclass
class RunDir:
    """An existing run directory: its recorded configuration and data, its checkpoints, its model.

        run = RunDir.open("runs/dcgan-mnist-20261121-101500")
        run.config.train.steps, run.dataset["name"], run.checkpoints()
        model = run.load_model(step=500)
        loaded = run.load()          # LoadedRun: the latest checkpoint's step and model, with this RunDir
    """

    path: Path
    record: dict = field(repr=False)

    @classmethod
    def open(cls, path: "str | Path | RunDir") -> "RunDir":
        """The run directory at `path` (its config.json read and checked); a RunDir is returned as it is."""
        return path if isinstance(path, RunDir) else cls(Path(path), read_run_config(path))

    @property
    def config(self) -> RunConfig:
        return build_config(self.record["config"])

    @property
    def data_spec(self) -> DataSpec:
        return DataSpec.from_dict(self.record["data_spec"])

    @property
    def dataset(self) -> dict:
        """What the run trained on: name, source, split, size, shape, notice."""
        return self.record["dataset"]

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the run's complete checkpoints, oldest first."""
        return list_checkpoints(self.checkpoint_dir)

    def checkpoint(self, step: int | None = None) -> tuple[int, Path]:
        """The checkpoint of `step`, or the latest one."""
        found = dict(self.checkpoints())
        if not found:
            raise CheckpointError(f"'{self.path}' has no checkpoint yet")
        if step is not None and step not in found:
            raise CheckpointError(f"'{self.path}' has no checkpoint at step {step}; it has steps {sorted(found)}")
        chosen = step if step is not None else max(found)
        return chosen, found[chosen]

    def load_model(self, step: int | None = None, device: str = "cpu") -> Algorithm:
        """The model of the checkpoint of `step` (default: the latest), in eval mode."""
        chosen, path = self.checkpoint(step)
        model = build_model(self.config, self.data_spec, resolve_device(device))
        try:
            tensors, _ = read_checkpoint(path)
        except CheckpointError as e:
            others = sorted({s for s, _ in self.checkpoints()} - {chosen})
            raise CheckpointError(f"{e}" + (f". This run also has checkpoints at steps {others}: pick one with "
                                            "--step (or step= in Python)" if others else "")) from None
        load_model_state(model, tensors, source=str(path))
        return model.eval()

    def load(self, step: int | None = None, device: str = "cpu") -> "LoadedRun":
        """The run at the checkpoint of `step` (default: the latest): this RunDir, the step and the model."""
        chosen = self.checkpoint(step)[0]
        return LoadedRun(self, chosen, self.load_model(chosen, device))


@dataclass(frozen=True)
class LoadedRun:
    """A run loaded at one checkpoint: what `genzoo sample`, `export`, `explore` and `finetune` work on.

        loaded = genzoo.load_run("runs/dcgan-mnist-20261121-101500")
        loaded.model.sample(16), loaded.config.name, loaded.step, loaded.run.dataset["name"]
    """

    run: RunDir
    step: int
    model: Algorithm = field(repr=False)

    @property
    def config(self) -> RunConfig:
        return self.run.config

    @property
    def path(self) -> Path:
        return self.run.path


def load(run_dir: str | Path, *, step: int | None = None, device: str = "cpu") -> Algorithm:
    """The trained model of a run directory, in eval mode, ready to sample.

    run_dir: a directory written by `genzoo.train` or `genzoo train`.
    step: the checkpoint to load (default: the latest).
    device: where to put the model, e.g. "cpu" or "cuda".

    Example:
        >>> model = genzoo.load("runs/dcgan-mnist5k-20261121-101500")
        >>> images = model.sample(64)      # (64, 1, 28, 28), values in [0, 1]

    `load_run` gives the run with it (its configuration, dataset and checkpoint step).
    """
    return RunDir.open(run_dir).load_model(step, device)


def load_run(run_dir: str | Path, *, step: int | None = None, device: str = "cpu") -> LoadedRun:
    """A run directory loaded at a checkpoint (default: the latest): `.model` (as `load` returns it), `.run`
    (the RunDir: its record, configuration, dataset and checkpoints), `.step` and `.config`.

    Example:
        >>> loaded = genzoo.load_run("runs/dcgan-mnist5k-20261121-101500")
        >>> loaded.config.name, loaded.step, loaded.run.dataset["name"]
        ('dcgan', 300, 'mnist5k')
    """
    return RunDir.open(run_dir).load(step, device)


