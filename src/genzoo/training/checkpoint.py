"""The trainer's side of a checkpoint: optimizer states (flattened into tensors and JSON, and checked entry by
entry before they are loaded), the random state, saving a model with its optimizers, and restoring them to resume.

The file itself (its format, the atomic write, reading and checking it, the model's strict load) is
genzoo.runs.checkpoint's.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from ..errors import CheckpointError
from ..runs.checkpoint import describe_value, load_model_state, read_checkpoint, write_checkpoint

#: optimizer state entries that are running means of squares: never negative in a real run
SQUARES = ("exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum", "acc_delta")
#: an optimizer's step count far beyond any run's (Adam divides by 1 - beta ** step)
MAX_OPTIMIZER_STEP = 2.0 ** 40


def _flatten_optimizer(prefix: str, state: dict, tensors: dict) -> dict:
    """Tensors of an optimizer state_dict go to `tensors`; the rest is returned as JSON data."""
    meta: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for idx, per_param in state["state"].items():
        plain = {}
        for key, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}/{idx}/{key}"] = value
            else:
                plain[key] = value
        meta["state"][str(idx)] = plain
    return meta


#: optimizer settings that choose an implementation, not the update: they may differ between machines
_IMPLEMENTATION_SETTINGS = {"params", "lr", "foreach", "fused", "capturable", "differentiable"}


def _state_names(opt: torch.optim.Optimizer, group: dict) -> set[str] | None:
    """The per-parameter state `opt` keeps with the settings of `group` (None: an optimizer genzoo does not build)."""
    if isinstance(opt, torch.optim.Adam):
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group.get("amsgrad") else set())
    if isinstance(opt, torch.optim.RMSprop):
        return ({"step", "square_avg"} | ({"momentum_buffer"} if group.get("momentum") else set())
                | ({"grad_avg"} if group.get("centered") else set()))
    if isinstance(opt, torch.optim.SGD):
        return {"momentum_buffer"} if group.get("momentum") else set()
    return None


def _check_param_groups(where: str, saved: dict, opt: torch.optim.Optimizer) -> list[dict]:
    """The configuration's parameter groups, after checking the checkpoint's have the same parameters and settings.

    The configuration is the source of truth: the learning rate comes from it (it may be edited between
    resumes), and a checkpoint trained with other settings (betas, momentum, ...) is refused."""
    groups, current = saved.get("param_groups"), opt.state_dict()["param_groups"]
    if not (isinstance(groups, list) and len(groups) == len(current) and all(isinstance(g, dict) for g in groups)):
        raise CheckpointError(f"{where} has param_groups {describe_value(groups)}; the model's optimizer has "
                              f"{len(current)} parameter group(s)")
    for saved_group, group in zip(groups, current):
        ids = saved_group.get("params")
        if not (isinstance(ids, list) and all(type(i) is int for i in ids) and ids == group["params"]):
            count = len(ids) if isinstance(ids, list) else describe_value(ids)
            raise CheckpointError(f"{where} holds a group of {count} parameters where the model has "
                                  f"{len(group['params'])}; was it written by another model?")
        for key in sorted(set(group) & set(saved_group) - _IMPLEMENTATION_SETTINGS):
            want = list(group[key]) if isinstance(group[key], tuple) else group[key]
            if saved_group[key] != want or type(saved_group[key]) is not type(want):
                raise CheckpointError(f"{where} was trained with {key}={saved_group[key]} but the configuration "
                                      f"says {key}={want}; resume with the settings the run was trained with")
    return current


def _param_index(where: str, idx: str, n_params: int) -> int:
    if not (idx.isdecimal() and int(idx) < n_params):
        raise CheckpointError(f"{where} has state for parameter '{idx}' but the optimizer has {n_params} parameters")
    return int(idx)


def _check_param_state(where: str, idx: int, entries: dict, param: torch.Tensor, names: set[str] | None) -> None:
    """Refuse state that does not fit its parameter: fused kernels trust these shapes and dtypes blindly."""
    if names is not None and set(entries) != names:
        lacks, extra = sorted(names - set(entries)), sorted(set(entries) - names)
        raise CheckpointError(f"{where}: the state of parameter {idx} " + "; ".join(
            ([f"lacks {', '.join(lacks)}"] if lacks else []) + ([f"has unexpected {', '.join(extra)}"] if extra else []))
            + "; was it written by another optimizer?")
    for key, value in entries.items():
        if key == "step":
            fits = (torch.is_tensor(value) and value.shape == () and value.is_floating_point()
                    and math.isfinite(value.item()) and 0 <= value.item() <= MAX_OPTIMIZER_STEP
                    and value.item() == int(value.item()))
            want = "a whole number from 0 to 2**40 in a scalar float tensor"
        else:
            fits = torch.is_tensor(value) and value.shape == param.shape and value.dtype == param.dtype
            want = f"a {param.dtype} tensor of shape {tuple(param.shape)} like the parameter"
            if fits and value.is_floating_point():   # what no run reaches: the optimizer would divide by it
                fits = bool(torch.isfinite(value).all()) and not (key in SQUARES and bool((value < 0).any()))
                want = "finite values" + (", none negative (a running mean of squares)" if key in SQUARES else "")
        if not fits:
            raise CheckpointError(f"{where}: '{key}' of parameter {idx} is {describe_value(value)}, expected {want}")


def _unflatten_optimizer(name: str, saved: dict, tensors: dict, opt: torch.optim.Optimizer) -> dict:
    """The state_dict to load into `opt`, checked entry by entry against its parameters."""
    where = f"checkpoint optimizer '{name}'"
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        raise CheckpointError(f"{where} is {describe_value(saved)}, not a record with param_groups and state")
    groups = _check_param_groups(where, saved, opt)
    params = [p for g in opt.param_groups for p in g["params"]]
    names = [_state_names(opt, g) for g in opt.param_groups for _ in g["params"]]
    state: dict[int, dict] = {}
    for idx, plain in saved["state"].items():
        if not isinstance(plain, dict):
            raise CheckpointError(f"{where}: the state of parameter {idx} is {describe_value(plain)}, not a record")
        state[_param_index(where, idx, len(params))] = dict(plain)
    prefix = f"optim/{name}/"
    for key, value in tensors.items():
        if key.startswith(prefix):
            idx, _, entry = key[len(prefix):].partition("/")
            state.setdefault(_param_index(where, idx, len(params)), {})[entry] = value
    for idx, entries in state.items():
        _check_param_state(where, idx, entries, params[idx], names[idx])
    return {"state": state, "param_groups": groups}


def rng_state() -> dict[str, torch.Tensor]:
    states = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            states[f"rng/cuda/{i}"] = s
    return states


def set_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    """Restore the random state saved by rng_state(), after trying it on a spare generator."""
    state = tensors.get("rng/torch")
    try:
        if not (torch.is_tensor(state) and state.dtype == torch.uint8):
            raise RuntimeError(f"it is {describe_value(state)}")
        torch.Generator().set_state(state)
    except RuntimeError as e:
        raise CheckpointError(f"the checkpoint's random state (rng/torch) cannot be restored ({e}); "
                              "a checkpoint written by genzoo holds it") from None
    torch.set_rng_state(state)
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    step: int, extra: dict | None = None, with_rng: bool = True,
                    extra_tensors: dict[str, torch.Tensor] | None = None,
                    rescue_run: str | Path | None = None) -> Path:
    """Write model weights, optimizer states, RNG state, `extra_tensors` and JSON `extra` atomically to `path`
    (genzoo.runs.checkpoint.write_checkpoint: a failed write is retried once, and with `rescue_run`, the run
    directory, saved into a resumable copy of the run elsewhere, so the steps since the last checkpoint are
    not lost)."""
    tensors = {f"model/{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    optim_meta = {}
    for name, opt in optimizers.items():
        opt_tensors: dict[str, torch.Tensor] = {}
        optim_meta[name] = _flatten_optimizer(f"optim/{name}", opt.state_dict(), opt_tensors)
        tensors.update({k: v.detach().cpu().clone().contiguous() for k, v in opt_tensors.items()})
    if with_rng:
        tensors.update(rng_state())
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra_tensors or {}).items()})
    return write_checkpoint(path, tensors, step=step, optimizers=optim_meta, extra=extra, rescue_run=rescue_run)


def load_optimizer_states(optimizers: dict[str, torch.optim.Optimizer], tensors: dict, meta: dict) -> None:
    """Load every optimizer's state after checking each tensor's shape, dtype and count against its parameters
    (all of them before any is loaded); settings other than the learning rate must match the configuration's."""
    saved = meta["optimizers"]
    if set(saved) != set(optimizers):
        raise CheckpointError(f"checkpoint holds optimizers {sorted(saved)} but the model has {sorted(optimizers)}")
    stray = sorted({k.split("/")[1] for k in tensors if k.startswith("optim/")} - set(optimizers))
    if stray:
        raise CheckpointError(f"checkpoint holds state of optimizer '{stray[0]}', which the model does not have")
    states = {name: _unflatten_optimizer(name, saved[name], tensors, opt) for name, opt in optimizers.items()}
    for name, opt in optimizers.items():
        opt.load_state_dict(states[name])
        _match_memory_format(opt)


def _match_memory_format(opt: torch.optim.Optimizer) -> None:
    """Give each loaded state tensor its parameter's memory format (load_state_dict returns contiguous
    tensors): a channels-last run's moments must be laid out as its weights are to resume bitwise."""
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if torch.is_tensor(value) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def restore(path: str | Path, model: torch.nn.Module,
            optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    """Load the checkpoint at `path` into `model`, `optimizers` and the random state; (tensors, metadata).
    Every part is checked before it is loaded (a CheckpointError otherwise), so an untrusted file cannot
    crash the process or hand fused kernels tensors of the wrong size."""
    tensors, meta = read_checkpoint(path)
    load_model_state(model, tensors, source=str(path))
    load_optimizer_states(optimizers, tensors, meta)
    set_rng_state(tensors)
    return tensors, meta


def _leaves(node, prefix: str = "") -> dict:
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _leaves(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: node}


def check_same_model(saved, configured: dict, source) -> None:
    """Refuse to resume a checkpoint under another model's configuration (config.json replaced by another
    preset's, e.g. lsgan's over a dcgan run: the same networks, another loss), which would train a hybrid.
    Learning rates may differ (editing them between resumes is how a run's rate is changed); a checkpoint
    written before its model was recorded is not checked."""
    if not isinstance(saved, dict):
        return
    before, now = _leaves(saved), _leaves(json.loads(json.dumps(configured)))   # tuples as JSON keeps them
    for key in sorted(before.keys() | now.keys()):
        if key.rsplit(".", 1)[-1] != "lr" and before.get(key) != now.get(key):
            name = key if key == "algorithm" else f"model.{key.removeprefix('model.')}"
            raise CheckpointError(f"{source} was trained with {name}={before.get(key)!r} but config.json says "
                                  f"{now.get(key)!r}; resuming would train a mix of two models. Put back the run's "
                                  "own config.json, or start a new run")
