"""What the command line lists and completes without importing PyTorch.

`genzoo list` and `genzoo completion` need every dataset's name and description, the metric
names and every key `--set` accepts. The registries that hold them import PyTorch (seconds on a
laptop), too slow for `genzoo list` or a shell's start-up line, so catalog.json beside this file
keeps a copy of them. Rewrite it with `python -m genzoo.catalog` after adding a dataset, a metric
or a config field; a test fails while it differs from the registries. (The presets need no copy:
`genzoo list` reads their YAML files.)
"""
from __future__ import annotations

import dataclasses
import json
import typing
from importlib import resources

FILE = "catalog.json"


def read() -> dict:
    """The stored catalogue: {"datasets": [{name, description, reference}], "metrics": [...], "config_keys": [...]}."""
    return json.loads((resources.files("genzoo") / FILE).read_text(encoding="utf-8"))


def build() -> dict:
    """The catalogue computed from the registries themselves (imports PyTorch and every model)."""
    from .data import list_datasets
    from .metrics import METRICS

    return {"datasets": [{"name": d.name, "description": d.description, "reference": d.reference}
                         for d in list_datasets()],
            "metrics": list(METRICS), "config_keys": config_keys()}


def config_keys() -> list[str]:
    """Every dotted key `--set` accepts, for any model: model.* of each algorithm's Config, data.*, train.*."""
    from .config import DataConfig, TrainConfig
    from .models import ALGORITHMS, load_all

    load_all()
    keys: set[str] = set()
    for prefix, cls in [("data", DataConfig), ("train", TrainConfig)] + \
            [("model", algo.Config) for algo in ALGORITHMS.values()]:
        keys.update(_dotted(prefix, cls))
    return sorted(keys)


def _dotted(prefix: str, cls) -> list[str]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        nested = [t for t in (hints[f.name], *typing.get_args(hints[f.name])) if dataclasses.is_dataclass(t)]
        out += _dotted(f"{prefix}.{f.name}", nested[0]) if nested else [f"{prefix}.{f.name}"]
    return out


def text(catalogue: dict) -> str:
    """The file's text: one entry a line, so that a change reads as a small diff."""
    return json.dumps(catalogue, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    path = Path(__file__).with_name(FILE)
    path.write_text(text(build()), encoding="utf-8")
    print(f"genzoo: wrote {path}")
