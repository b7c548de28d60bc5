"""Typed dataclasses from YAML/JSON data: `from_dict` builds a dataclass from a mapping, refusing unknown
keys (with a close-match suggestion) and wrong types; `check_literal` checks a value against a `Literal`;
`read_yaml` parses YAML safely; `to_dict` turns a dataclass back into plain data.

The ground floor of genzoo's configuration: it knows no run, model or preset.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any

import yaml

from .errors import ConfigError

#: Config fields that are layer widths: whole numbers from 1 (a zero width builds an empty net that trains
#: silently) to MAX_WIDTH (a wider layer would need gigabytes before the first step)
MAX_WIDTH = 65_536
_WIDTH_FIELD = re.compile(r"^(latent_dim|w_dim|width|\w*hidden)$")
#: deeper YAML is refused (parsing it recurses; no genzoo config is deeper than 4)
MAX_YAML_DEPTH = 50


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

