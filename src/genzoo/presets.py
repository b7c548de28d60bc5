"""Presets: one YAML file per named model (in the package's presets/ folder), the per-dataset values a
preset takes on some datasets, `--set key=value` overrides and `--config FILE`, resolved into a
validated `RunConfig`. Unknown keys and wrong types are refused with the valid keys and a close-match
suggestion.
"""
from __future__ import annotations

import copy
import difflib
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .config import DataConfig, RunConfig, TrainConfig
from .errors import ConfigError, DataError
from .typed import from_dict, read_yaml

#: a run name becomes a directory under runs/: no path separators, no '..'
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _preset_files() -> dict[str, Any]:
    folder = resources.files("genzoo") / "presets"
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".yaml")}


def list_presets() -> list[str]:
    return sorted(_preset_files())


def preset_summaries() -> dict[str, dict]:
    """Each preset's top-level keys (description, paper, ...) for `genzoo list`. The files are the
    package's own, so libyaml may read them, when installed: ten times faster than the bounded loader
    that user configs need, which keeps `genzoo list` well under half a second."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {name: yaml.load(path.read_text(), Loader=loader) for name, path in sorted(_preset_files().items())}


def preset_text(name: str) -> str:
    files = _preset_files()
    if name not in files:
        close = difflib.get_close_matches(name, files, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown model '{name}'.{hint} Run `genzoo list` to see every model.")
    return files[name].read_text()


def load_preset(name: str) -> dict:
    return read_yaml(preset_text(name), f"preset '{name}'")



def parse_override(text: str) -> tuple[str, Any]:
    """'model.lr=1e-4' -> ('model.lr', 0.0001). Values are read as YAML (numbers, lists, true/false)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value (e.g. --set model.latent_dim=64), got '{text}'")
    key, raw = text.split("=", 1)
    try:
        value = read_yaml(raw, "--set") if raw.strip() else ""
    except ConfigError:
        value = raw
    return key.strip(), value


def _apply(tree: dict, key: str, value) -> None:
    parts = key.split(".")
    node = tree
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set '{key}': '{'.'.join(parts[:i + 1])}' is not a section")
        node = nxt
    node[parts[-1]] = value


def _merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


RUN_KEYS = ("name", "algorithm", "description", "paper", "model", "data", "train")


def build_config(raw: dict) -> RunConfig:
    """Validate a raw mapping (preset + overrides) into a RunConfig."""
    from .models import get_algorithm  # local: the models import torch, which listing or showing presets does not need

    for key in raw:
        if key not in RUN_KEYS:
            close = difflib.get_close_matches(key, RUN_KEYS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{key}'.{hint} Valid top-level keys: {', '.join(RUN_KEYS)}")
    if not isinstance(raw.get("algorithm"), str):
        raise ConfigError("the configuration names no model: give one, as in `genzoo train MODEL --config FILE` "
                          "(the file then overrides MODEL's preset), or write a whole configuration with an "
                          "'algorithm' key (see `genzoo show-config dcgan`)")
    algo = get_algorithm(raw["algorithm"])
    name = str(raw.get("name", raw["algorithm"]))
    if not _RUN_NAME.match(name):
        raise ConfigError(f"name '{name}' names the run directory runs/NAME-DATA-TIME: use letters, digits, "
                          "'.', '_', '+' and '-' only, starting with a letter or digit (no '/' or '..')")
    cfg = RunConfig(
        name=name,
        algorithm=raw["algorithm"],
        description=str(raw.get("description", "")),
        paper=str(raw.get("paper", "")),
        model=from_dict(algo.Config, raw.get("model") or {}, "model"),
        data=from_dict(DataConfig, raw.get("data") or {}, "data"),
        train=from_dict(TrainConfig, raw.get("train") or {}, "train"),
    )
    if cfg.train.compile and algo.double_backward(cfg.model):
        raise ConfigError(f"{cfg.name} takes the gradient of a gradient (a gradient penalty or R1), which "
                          "torch.compile does not support; train it without --compile (train.compile=false)")
    return cfg



def resolve(model: str | None = None, *, config_file: str | Path | None = None,
            overrides: dict[str, Any] | None = None, per_dataset: bool = True) -> RunConfig:
    """Preset `model` (or `config_file`), then the preset's `per_dataset` values for the chosen data.name
    (unless per_dataset is False: the preset as written for its own data), then `overrides`
    ({'train.steps': 100, ...})."""
    if config_file is not None:
        raw = _config_file_over_preset(Path(config_file), model)
    elif model is not None:
        raw = load_preset(model)
    else:
        raise ConfigError("name a model (see `genzoo list`) or give --config FILE")
    raw = dict(raw)
    per_data = _per_dataset_table(raw.pop("per_dataset", None))
    if not per_dataset:
        per_data = {}
    overrides = dict(overrides or {})
    for key, other in (("train.steps", "train.epochs"), ("train.epochs", "train.steps")):
        if overrides.get(key) is not None and other not in overrides:
            overrides[other] = None  # a budget in steps replaces the preset's budget in epochs, and vice versa
    if overrides.get("train.time_budget") is not None:  # a time budget replaces the preset's step budget
        for key in ("train.steps", "train.epochs"):
            overrides.setdefault(key, None)
    dataset = _chosen_dataset(raw, overrides)
    for names, values in per_data.items():  # in the order written: a later section wins
        if dataset in names:
            for key, value in values.items():
                _apply(raw, key, copy.deepcopy(value))
    for key, value in overrides.items():  # after the per-dataset values: a --set wins, of a sub-key too
        _apply(raw, key, value)
    _apply(raw, "data.name", dataset)
    return build_config(raw)


def _chosen_dataset(raw: dict, overrides: dict[str, Any]) -> str:
    """data.name once the overrides are applied, as registered ('MNIST' -> 'mnist', so that the preset's
    per-dataset values apply whatever the spelling); an unknown name is left for the loader to refuse."""
    probe = copy.deepcopy(raw)
    for key, value in overrides.items():
        _apply(probe, key, value)
    name = (probe.get("data") or {}).get("name", DataConfig.name)
    try:
        return _registered_dataset(name)
    except DataError:
        return name


def _registered_dataset(name) -> str:
    from .data.base import canonical_name  # local: the datasets import torch, which reading a config does not need
    return canonical_name(name)


def _read_config_file(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"config file '{path}' is not UTF-8 text ({e.reason} at byte {e.start}); "
                          "save it as UTF-8") from None
    raw = read_yaml(text, f"config file '{path}'")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping (see `genzoo show-config dcgan`)")
    return raw


def _config_file_over_preset(path: Path, model: str | None) -> dict:
    """A config file is read as overrides of a preset: the model named on the command line, else the file's
    own `name` when it is a preset and the file gives no `algorithm`; a file with an `algorithm` and no model
    named is a whole configuration. A file that names another model than the command line is refused."""
    raw = _read_config_file(path)
    named = raw.get("name")
    if model is None:
        if "algorithm" in raw or named not in list_presets():
            return raw
        model = named
    elif named not in (None, model):
        raise ConfigError(f"config file '{path}' is for model '{named}' but the command names '{model}'; "
                          f"run `genzoo train {named} --config {path}`, or remove its 'name' line to apply "
                          f"it to {model}")
    preset = load_preset(model)
    if raw.get("algorithm", preset["algorithm"]) != preset["algorithm"]:
        raise ConfigError(f"config file '{path}' sets algorithm '{raw['algorithm']}' but {model} is a "
                          f"'{preset['algorithm']}' model; remove the 'algorithm' line to apply it to {model}")
    return _merge(preset, raw)


def _per_dataset_table(table) -> dict[tuple[str, ...], dict[str, Any]]:
    """A preset's `per_dataset` section, {dataset names: {dotted key: value}}: the values the preset uses
    when it trains on one of those datasets (e.g. gan-toy's R1 weight on grid25). A key names one dataset
    or several, separated by commas ('ring8, grid25'); the result is keyed by tuples of registered names."""
    if table is None:
        return {}
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ConfigError("'per_dataset' must map dataset names to {dotted.key: value} mappings, e.g. "
                          "per_dataset: {grid25: {model.penalty.weight: 1.0}} or {ring8, grid25: {...}}")
    return {_dataset_names(key): values for key, values in table.items()}


def _dataset_names(key) -> tuple[str, ...]:
    """'ring8, grid25' -> ('ring8', 'grid25'); a name that is not a dataset is refused (it would never apply)."""
    names = [name.strip() for name in str(key).split(",")]
    try:
        return tuple(_registered_dataset(name) for name in names)
    except DataError as e:
        raise ConfigError(f"'per_dataset' section '{key}': {e}") from None
