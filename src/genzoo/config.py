"""Typed run configuration: presets (one YAML file per named model), overrides, validation.

A run is described by a `RunConfig`: which algorithm, its hyperparameters (the algorithm's own
`Config` dataclass), the data and the training budget. Presets hold the papers' values;
`--set key=value` and `--config FILE` change them; unknown keys and wrong types are refused
with the valid keys and a close-match suggestion.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from .errors import ConfigError, DataError


@dataclass
class DataConfig:
    """Which data to train on. `name` is a dataset from `genzoo list`."""

    name: str = "mnist"
    root: str | None = None        # a folder holding the dataset's files (default: ~/.cache/genzoo/data)
    download: bool = True          # try the mirrors when the files are absent
    verify: bool = True            # check md5 checksums of dataset files
    n_samples: int | None = None   # how many examples to use (a seeded subset; toy 2-D: points drawn)
    image_size: int | None = None  # resize images to this size
    channels: int | None = None    # convert images to 1 (gray) or 3 (RGB) channels


#: autocast precision of a run (auto: images bf16 on native-bf16 CPUs, AMP on CUDA)
Precision = Literal["auto", "fp32", "bf16", "fp16"]
#: the largest seed (numpy's and most tools' limit; genzoo derives data-order seeds from it)
MAX_SEED = 2**32 - 1
#: Config fields that are layer widths: whole numbers from 1 (a zero width builds an empty net that trains
#: silently) to MAX_WIDTH (a wider layer would need gigabytes before the first step)
MAX_WIDTH = 65_536
_WIDTH_FIELD = re.compile(r"^(latent_dim|w_dim|width|\w*hidden)$")
#: a run name becomes a directory under runs/: no path separators, no '..'
_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: deeper YAML is refused (parsing it recurses; no genzoo config is deeper than 4)
MAX_YAML_DEPTH = 50


@dataclass
class TrainConfig:
    """The training budget and the trainer's bookkeeping."""

    steps: int | None = None       # optimizer steps of the algorithm (one train_step each)
    epochs: float | None = None    # alternative to steps: passes over the training split
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"           # auto | cpu | cuda | cuda:N
    log_every: int = 50
    sample_every: int = 500        # write a sample grid every N steps (and at the end); 0: only at the end
    checkpoint_every: int = 500    # 0: only at the end
    keep_checkpoints: int = 3
    grid_size: int = 64
    precision: Precision = "auto"  # autocast (auto: images bf16 on native-bf16 CPUs, AMP on CUDA)
    compile: bool = False          # torch.compile each network
    channels_last: bool = False    # channels-last memory format for conv nets and image batches
    sync_batchnorm: bool = False   # distributed CUDA runs: batch statistics over all processes
    lr_decay: float = 0.0          # 0: constant learning rates; else over this last fraction of the steps they fall
    lr_final: float = 0.0          # linearly to this fraction of their configured values
    time_budget: str | None = None # stop after this much time: 90s, 5m, 1h (wall clock) or 300cpu (CPU-seconds)
    tensorboard: bool = False      # TensorBoard event files in RUN_DIR/tensorboard (genzoo[tensorboard])

    def validate(self) -> None:
        if self.steps is not None and self.steps <= 0:
            raise ConfigError(f"train.steps must be a positive integer, got {self.steps}")
        if self.epochs is not None and not (math.isfinite(self.epochs) and self.epochs > 0):
            raise ConfigError(f"train.epochs must be a positive finite number, got {self.epochs}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"train.seed must be an integer from 0 to 2**32 - 1, got {self.seed}")
        if self.steps is not None and self.epochs is not None:
            raise ConfigError("give either train.steps or train.epochs, not both")
        for name in ("batch_size", "log_every", "keep_checkpoints", "grid_size"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be a positive integer, got {getattr(self, name)}")
        if not 0.0 <= self.lr_decay <= 1.0:
            raise ConfigError(f"train.lr_decay is the final fraction of the run over which the learning rate "
                              f"decays, between 0 and 1; got {self.lr_decay}")
        if not 0.0 <= self.lr_final <= 1.0:
            raise ConfigError(f"train.lr_final is a fraction of the configured learning rate, between 0 and 1; "
                              f"got {self.lr_final}")
        if self.time_budget is not None:
            from .training.budget import parse_time_budget  # here: the training package imports this module
            parse_time_budget(self.time_budget)
        if self.tensorboard:   # before anything is written: the extra is missing, or it is there
            from .training.tensorboard import summary_writer_class
            summary_writer_class()
        for name in ("sample_every", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0 (0 = only at the end), got {getattr(self, name)}")


@dataclass
class RunConfig:
    """Everything that defines a run; saved as config.json in the run directory."""

    name: str
    algorithm: str
    model: Any
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    description: str = ""
    paper: str = ""

    def to_dict(self) -> dict:
        return to_dict(self)


# ----------------------------------------------------------------------------- typed conversion

def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _shown(value) -> str:
    return "null" if value is None else repr(value)


def choice_error(path: str, value, choices, error: type[Exception] = ConfigError) -> Exception:
    """The one line for a value outside the allowed `choices`: every one of them and the closest."""
    names = [c for c in choices if isinstance(c, str)]
    close = difflib.get_close_matches(value, names, n=1) if isinstance(value, str) else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return error(f"{path} must be one of {', '.join(map(_shown, choices))}; got {_shown(value)}.{hint}")


def check_literal(value, choices: Any, path: str, error: type[Exception] = ConfigError):
    """`value` if it is one of the values of the `Literal[...]` type `choices`, else choice_error's `error`."""
    allowed = typing.get_args(choices)
    if not any(value == c and type(value) is type(c) for c in allowed):
        raise choice_error(path, value, allowed, error)
    return value


def check_literals(obj, path: str) -> None:
    """Check every `Literal` field of the dataclass `obj`, and of the dataclasses it holds, against its type
    (from_dict checks values as it reads them; this covers a config built in Python)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, where = getattr(obj, f.name), f"{path}.{f.name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            check_literals(value, where)
        elif typing.get_origin(hints[f.name]) is typing.Literal:
            check_literal(value, hints[f.name], where)


def _coerce(value, tp, path: str):
    """Convert a YAML/JSON value to the annotated type `tp`, or raise ConfigError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, path)
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return from_dict(tp, value, path)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r} ({type(value).__name__})")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}: {value!r}")
            return tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        return dict(value)
    if origin is typing.Literal:
        return check_literal(value, tp, path)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{path}: expected an integer, got {value!r} ({type(value).__name__})")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML reads 1e-4 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{path}: expected a number, got {value!r} ({type(value).__name__})")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{path}: expected a string, got {value!r} ({type(value).__name__})")
    raise ConfigError(f"{path}: unsupported type {tp}")


def _coerce_union(value, args: tuple, path: str):
    """`value` as the first of the union's types that takes it; None where the union allows it."""
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return _coerce(value, arg, path)
        except ConfigError as e:
            errors.append(str(e))
    raise ConfigError(errors[0] if len(errors) == 1 else
                      f"{path}: expected {' or '.join(_type_name(a) for a in args)}, got {value!r}")


def from_dict(cls, values: dict, path: str = ""):
    """Build dataclass `cls` from a mapping, refusing unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"{path or cls.__name__}: expected a mapping of {cls.__name__} fields, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{where}'.{hint} Valid keys{' of ' + path if path else ''}: "
                              f"{', '.join(names)}")
        kwargs[key] = _coerce(value, hints[key], where)
    try:
        obj = cls(**kwargs)
    except TypeError as e:  # a required field is missing
        raise ConfigError(f"{path or cls.__name__}: {e}") from None
    _check_widths(obj, path)
    if hasattr(obj, "validate"):
        obj.validate()
    return obj


def _check_widths(obj, path: str) -> None:
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        sizes = value if isinstance(value, (list, tuple)) else [value]
        if _WIDTH_FIELD.match(f.name) and any(type(v) is int and not 1 <= v <= MAX_WIDTH for v in sizes):
            where = f"{path}.{f.name}" if path else f.name
            raise ConfigError(f"{where} is a layer width: whole numbers from 1 to {MAX_WIDTH:,}, got {value}")


def to_dict(obj) -> Any:
    """A dataclass as plain JSON/YAML data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


# ----------------------------------------------------------------------------- presets

def _preset_files() -> dict[str, Any]:
    folder = resources.files("genzoo") / "presets"
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".yaml")}


def list_presets() -> list[str]:
    return sorted(_preset_files())


def preset_text(name: str) -> str:
    files = _preset_files()
    if name not in files:
        close = difflib.get_close_matches(name, files, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown model '{name}'.{hint} Run `genzoo list` to see every model.")
    return files[name].read_text()


def load_preset(name: str) -> dict:
    return read_yaml(preset_text(name), f"preset '{name}'")


def preset_summaries() -> dict[str, dict]:
    """Each preset's top-level keys (description, paper, ...) for `genzoo list`. The files are the
    package's own, so libyaml may read them, when installed: ten times faster than the bounded loader
    that user configs need, which keeps `genzoo list` well under half a second."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {name: yaml.load(path.read_text(), Loader=loader) for name, path in sorted(_preset_files().items())}


class _BoundedLoader(yaml.SafeLoader):
    """YAML without aliases (a 'billion laughs' of nested aliases expands without bound) and at most
    MAX_YAML_DEPTH levels deep (deeper nesting exhausts Python's recursion)."""

    def compose_node(self, parent, index):
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted in genzoo "
                                              "configs; write the values out", mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(text: str, source: str) -> Any:
    """Parse trusted-or-not YAML text safely (no tags, no aliases, bounded depth); ConfigError names `source`."""
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source} is not valid YAML: {' '.join(str(e).split())}") from None


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
    from .models import get_algorithm

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
    if cfg.train.compile and getattr(cfg.model, "differentiates_gradients", False):
        raise ConfigError(f"{cfg.name} takes the gradient of a gradient (a gradient penalty or R1), which "
                          "torch.compile does not support; train it without --compile (train.compile=false)")
    return cfg


#: the sections of a run directory's config.json that genzoo reads back
RUN_RECORD_SECTIONS = ("config", "dataset", "data_spec")


def check_run_record(record: Any, path: str | Path) -> dict:
    """A run directory's config.json contents, refused in one line unless its sections have the right types
    (a record edited by hand, or not genzoo's, must not reach the model builders)."""
    if not isinstance(record, dict):
        raise ConfigError(f"'{path}' holds a JSON {type(record).__name__}, not a genzoo run record (a JSON object "
                          f"with {', '.join(RUN_RECORD_SECTIONS)})")
    for section in RUN_RECORD_SECTIONS:
        if not isinstance(record.get(section), dict):
            raise ConfigError(f"'{path}' lacks its '{section}' section (or it is not a JSON object); "
                              "was it edited by hand?")
    spec, dataset = record["data_spec"], record["dataset"]
    shape = spec.get("shape")
    counts = [spec.get("num_classes"), spec.get("vocab_size")]
    if not (isinstance(spec.get("kind"), str) and isinstance(shape, list) and 1 <= len(shape) <= 5
            and all(type(d) is int and 1 <= d <= MAX_WIDTH for d in shape)
            and all(c is None or (type(c) is int and 1 <= c <= MAX_WIDTH) for c in counts)):
        raise ConfigError(f"'{path}' has a data_spec that no genzoo run writes ({spec}); was it edited by hand?")
    if not (isinstance(dataset.get("source"), str) and type(dataset.get("size")) is int):
        raise ConfigError(f"'{path}' has a dataset section without its source and size; was it edited by hand?")
    return record


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
