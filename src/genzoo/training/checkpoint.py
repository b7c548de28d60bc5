"""Checkpoints: safetensors for tensors, JSON (in the safetensors metadata) for everything else.

No pickle anywhere: a checkpoint from a stranger cannot run code. A checkpoint is written to a
temporary name and renamed into place, so a crash never leaves a half-written file, and loading
is strict: missing or unexpected weights are an error.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import CheckpointError

FORMAT = "genzoo-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step-(\d+)\.safetensors$")


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


def _unflatten_optimizer(prefix: str, meta: dict, tensors: dict) -> dict:
    state: dict[int, dict] = {int(i): dict(plain) for i, plain in meta["state"].items()}
    for key, value in tensors.items():
        if key.startswith(prefix + "/"):
            idx, name = key[len(prefix) + 1:].split("/", 1)
            state.setdefault(int(idx), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def rng_state() -> dict[str, torch.Tensor]:
    states = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            states[f"rng/cuda/{i}"] = s
    return states


def set_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[: torch.cuda.device_count()])


def save_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizers: dict[str, torch.optim.Optimizer],
                    step: int, extra: dict | None = None, with_rng: bool = True,
                    extra_tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write model weights, optimizer states, RNG state, `extra_tensors` and JSON `extra` atomically to `path`."""
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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"genzoo": json.dumps(meta)})
    os.replace(tmp, path)
    return path


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
    meta = json.loads(meta_text)
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"'{path}' has format {meta.get('format')} v{meta.get('version')}; "
                              f"this genzoo reads {FORMAT} v{VERSION}")
    return tensors, meta


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
    wrong = [k for k in expected if expected[k].shape != state[k].shape]
    if wrong:
        k = wrong[0]
        raise CheckpointError(f"{source} does not match the model: '{k}' has shape {tuple(state[k].shape)} "
                              f"in the checkpoint but {tuple(expected[k].shape)} in the model")
    model.load_state_dict(state, strict=True)


def load_optimizer_states(optimizers: dict[str, torch.optim.Optimizer], tensors: dict, meta: dict) -> None:
    saved = meta["optimizers"]
    if set(saved) != set(optimizers):
        raise CheckpointError(f"checkpoint holds optimizers {sorted(saved)} but the model has {sorted(optimizers)}")
    for name, opt in optimizers.items():
        opt.load_state_dict(_unflatten_optimizer(f"optim/{name}", saved[name], tensors))


def checkpoint_path(folder: Path, step: int) -> Path:
    return Path(folder) / f"step-{step:07d}.safetensors"


def list_checkpoints(folder: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of the complete checkpoints in `folder`, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def prune_checkpoints(folder: Path, keep: int) -> None:
    for _, path in list_checkpoints(folder)[:-keep]:
        path.unlink(missing_ok=True)
