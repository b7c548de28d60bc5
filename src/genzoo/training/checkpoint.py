"""Checkpoints: safetensors for tensors, JSON (in the safetensors metadata) for everything else.

No pickle anywhere: a checkpoint from a stranger cannot run code. A checkpoint is written to a
temporary name and renamed into place, so a crash never leaves a half-written file, and loading
is strict: missing or unexpected weights are an error.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import json
import math
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import CheckpointError
from ..permissions import as_umask_allows

FORMAT = "genzoo-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.safetensors$")
#: errors of a checkpoint write that may pass (a flaky disk, space freed meanwhile): tried once more
TRANSIENT_ERRORS = {errno.EIO, errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EINTR}
RETRY_WAIT_S = 2.0
#: the environment variable naming the folder of rescued checkpoints (see rescue_root)
RESCUE_ENV = "GENZOO_RESCUE_DIR"
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


def _describe(value) -> str:
    if torch.is_tensor(value):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return repr(value)[:60]


def _check_param_groups(where: str, saved: dict, opt: torch.optim.Optimizer) -> list[dict]:
    """The configuration's parameter groups, after checking the checkpoint's have the same parameters and settings.

    The configuration is the source of truth: the learning rate comes from it (it may be edited between
    resumes), and a checkpoint trained with other settings (betas, momentum, ...) is refused."""
    groups, current = saved.get("param_groups"), opt.state_dict()["param_groups"]
    if not (isinstance(groups, list) and len(groups) == len(current) and all(isinstance(g, dict) for g in groups)):
        raise CheckpointError(f"{where} has param_groups {_describe(groups)}; the model's optimizer has "
                              f"{len(current)} parameter group(s)")
    for saved_group, group in zip(groups, current):
        ids = saved_group.get("params")
        if not (isinstance(ids, list) and all(type(i) is int for i in ids) and ids == group["params"]):
            count = len(ids) if isinstance(ids, list) else _describe(ids)
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
            raise CheckpointError(f"{where}: '{key}' of parameter {idx} is {_describe(value)}, expected {want}")


def _unflatten_optimizer(name: str, saved: dict, tensors: dict, opt: torch.optim.Optimizer) -> dict:
    """The state_dict to load into `opt`, checked entry by entry against its parameters."""
    where = f"checkpoint optimizer '{name}'"
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
        raise CheckpointError(f"{where} is {_describe(saved)}, not a record with param_groups and state")
    groups = _check_param_groups(where, saved, opt)
    params = [p for g in opt.param_groups for p in g["params"]]
    names = [_state_names(opt, g) for g in opt.param_groups for _ in g["params"]]
    state: dict[int, dict] = {}
    for idx, plain in saved["state"].items():
        if not isinstance(plain, dict):
            raise CheckpointError(f"{where}: the state of parameter {idx} is {_describe(plain)}, not a record")
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
            raise RuntimeError(f"it is {_describe(state)}")
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
    """Write model weights, optimizer states, RNG state, `extra_tensors` and JSON `extra` atomically to `path`.

    A write that fails with an error that may pass (I/O, full disk) is tried again after RETRY_WAIT_S. If it
    still fails, the earlier checkpoints are kept and a CheckpointError says what failed; with `rescue_run`
    (the run directory) the checkpoint is first saved into a resumable copy of the run under rescue_root(),
    and the error says where and how to continue, so the weights of the steps since the last checkpoint are
    not lost."""
    path = Path(path)
    tensors = {f"model/{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    optim_meta = {}
    for name, opt in optimizers.items():
        opt_tensors: dict[str, torch.Tensor] = {}
        optim_meta[name] = _flatten_optimizer(f"optim/{name}", opt.state_dict(), opt_tensors)
        tensors.update({k: v.detach().cpu().clone().contiguous() for k, v in opt_tensors.items()})
    if with_rng:
        tensors.update(rng_state())
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra_tensors or {}).items()})
    meta = {"format": FORMAT, "version": VERSION, "step": step, "optimizers": optim_meta, "extra": extra or {}}
    bad = _first_non_finite(tensors)
    if bad is not None:
        raise CheckpointError(f"not writing a checkpoint of step {step}: '{bad}' holds NaN or infinite values "
                              f"(the run diverged); the earlier checkpoints in {path.parent} are kept")
    try:
        _write_with_retry(tensors, meta, path)
    except OSError as e:
        failed = f"could not write the checkpoint of step {step} to {path} ({e.strerror or e})"
        if rescue_run is None:
            raise CheckpointError(f"{failed}; the earlier checkpoints are kept. Free space or fix the folder, "
                                  "then resume") from None
        raise CheckpointError(_rescue(tensors, meta, step, Path(rescue_run), failed)) from None
    return path


def _write(tensors: dict[str, torch.Tensor], meta: dict, path: Path) -> None:
    """Write to a temporary file and rename it into place: a crash never leaves a half-written checkpoint."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")   # unique: two writers never share a temporary file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            save_file(tensors, str(tmp), metadata={"genzoo": json.dumps(meta)})
        except SafetensorError as e:   # a full disk arrives as "I/O error: ... (os error 28)"
            code = re.search(r"\(os error (\d+)\)", str(e))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from None
        as_umask_allows(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):   # nothing to remove, or the folder is gone: the write's error counts
            tmp.unlink()


def _write_with_retry(tensors: dict[str, torch.Tensor], meta: dict, path: Path) -> None:
    """_write, tried once more after RETRY_WAIT_S when it failed with an error that may pass (I/O, full disk)."""
    try:
        _write(tensors, meta, path)
    except OSError as e:
        if e.errno not in TRANSIENT_ERRORS:
            raise
        time.sleep(RETRY_WAIT_S)
        _write(tensors, meta, path)


def rescue_root() -> Path:
    """Where checkpoints go that their run directory cannot take: $GENZOO_RESCUE_DIR (created 0700 if missing),
    else a new folder of the user's alone (mode 0700, an unpredictable name) in the system's temporary folder,
    often another disk. A fixed name in a shared folder would let another user create it first, to block the
    rescue or to swap the rescued run. An OSError where the folder is not safe to write into."""
    chosen = os.environ.get(RESCUE_ENV)
    if not chosen:
        return Path(tempfile.mkdtemp(prefix="genzoo-rescue-"))
    root = Path(chosen)
    with contextlib.suppress(FileExistsError):
        root.mkdir(mode=0o700, parents=True)
    info = os.lstat(root)
    problem = ("it is a link, which genzoo does not follow" if stat.S_ISLNK(info.st_mode) else
               "it is not a folder" if not stat.S_ISDIR(info.st_mode) else
               "it belongs to another user" if info.st_uid != os.geteuid() else
               "others can write into it" if info.st_mode & 0o022 else None)
    if problem:
        raise OSError(errno.EPERM, f"{problem}; name a folder of your own with mode 0700")
    return root


def _rescue(tensors: dict[str, torch.Tensor], meta: dict, step: int, run_dir: Path, failed: str) -> str:
    """Write the checkpoint into a new run directory under rescue_root(), with copies of the run's config.json
    and metrics.jsonl so that `genzoo train --resume` continues from it; the message that says so."""
    root = Path(os.environ.get(RESCUE_ENV) or tempfile.gettempdir())
    try:
        root = rescue_root()
        for i in itertools.count(1):   # a new folder each time: never mix with another rescue
            target = root / (run_dir.name if i == 1 else f"{run_dir.name}-{i}")
            with contextlib.suppress(FileExistsError):
                target.mkdir()
                break
        for name in ("config.json", "metrics.jsonl"):   # what makes it a run directory (see rundir.py)
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, target / name)
        rescued = checkpoint_path(target / "checkpoints", step)
        _write(tensors, meta, rescued)
    except OSError as e:
        return (f"{failed}, also after a retry, nor into {root} ({e.strerror or e}); the earlier checkpoints in "
                f"{run_dir} are kept. Free space (or set {RESCUE_ENV} to a folder with room), then resume")
    return (f"{failed}, also after a retry; saved it to {rescued} instead. Continue with: genzoo train --resume "
            f"{target} (or, with space freed, move it into {run_dir / 'checkpoints'} and resume {run_dir})")


def _first_non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor holding NaN or infinity, or None."""
    return next((k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()), None)


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read and check a checkpoint: (tensors, metadata). Refuses pickles and foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(9)
    # safetensors: an 8-byte little-endian header length, then the JSON header. Its first byte can be
    # 0x80 (a header of 128 + 256 k bytes), so the pickle test comes only after this one fails.
    safetensors_like = len(head) == 9 and head[8:9] == b"{"
    if not safetensors_like and (head[:2] == b"PK" or head[:1] == b"\x80"):
        raise CheckpointError(f"'{path}' is a pickle (torch.save) file; genzoo never unpickles files, because "
                              "unpickling can run arbitrary code. Load weights saved with genzoo (safetensors).")
    if not safetensors_like or int.from_bytes(head[:8], "little") > size - 8:
        raise CheckpointError(f"checkpoint '{path}' is truncated or not a safetensors file ({size} bytes); "
                              "an earlier checkpoint of the run may still be readable")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get("genzoo")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # safetensors reports corruption in its own words
        raise CheckpointError(f"checkpoint '{path}' is corrupt or truncated ({e}); "
                              "an earlier checkpoint of the run may still be readable") from None
    if meta_text is None:
        raise CheckpointError(f"'{path}' is a safetensors file but not a genzoo checkpoint (no genzoo metadata)")
    return tensors, _check_metadata(path, meta_text)


def _check_metadata(path: Path, meta_text: str) -> dict:
    """The checkpoint's JSON record, refused unless it has the sections genzoo reads, of the right types."""
    try:
        meta = json.loads(meta_text)
    except (json.JSONDecodeError, RecursionError) as e:   # RecursionError: JSON nested thousands deep
        raise CheckpointError(f"checkpoint '{path}' has metadata that is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint '{path}' has metadata that is not a JSON object ({_describe(meta)})")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"'{path}' has format {meta.get('format')} v{meta.get('version')}; "
                              f"this genzoo reads {FORMAT} v{VERSION}")
    step = meta.get("step")
    if type(step) is not int or step < 0:
        raise CheckpointError(f"checkpoint '{path}' records step {_describe(step)}, not a whole number >= 0")
    for section in ("optimizers", "extra"):
        if not isinstance(meta.get(section), dict):
            raise CheckpointError(f"checkpoint '{path}' has {section} {_describe(meta.get(section))}, "
                                  "not a JSON object; it was not written by genzoo or was edited")
    return meta


def load_model_state(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Strict load: every weight of the model must be present, and nothing else."""
    state = {k[len("model/"):]: v for k, v in tensors.items() if k.startswith("model/")}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} weights (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected weights (e.g. {', '.join(unexpected[:3])})")
        raise CheckpointError(f"{source} does not match the model: {'; '.join(parts)}. "
                              "Was it written by a different model or configuration?")
    _check_alike(expected, state, "shape", source)
    bad = _first_non_finite(state)
    if bad is not None:
        raise CheckpointError(f"{source} holds NaN or infinite values in '{bad}' (its run diverged); "
                              "use an earlier checkpoint (--step N)")
    _check_alike(expected, state, "dtype", source)
    model.load_state_dict(state, strict=True)


def _check_alike(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor], what: str, source: str) -> None:
    """CheckpointError naming the first weight whose `what` ("shape" or "dtype") differs from the model's."""
    def of(t: torch.Tensor):
        return tuple(t.shape) if what == "shape" else t.dtype
    wrong = next((k for k in expected if of(expected[k]) != of(state[k])), None)
    if wrong is not None:
        raise CheckpointError(f"{source} does not match the model: '{wrong}' has {what} {of(state[wrong])} "
                              f"in the checkpoint but {of(expected[wrong])} in the model")


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


def checkpoint_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"step-{step:07d}.safetensors"


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete checkpoints in `folder`, oldest first."""
    folder = Path(folder)
    if folder.is_symlink() and not folder.exists():
        raise CheckpointError(f"'{folder}' is a link that leads nowhere or to itself; replace it with the run's "
                              "checkpoints folder")
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def prune_checkpoints(folder: Path, keep: int) -> None:
    for _, path in list_checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)


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
