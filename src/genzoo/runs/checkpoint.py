"""Checkpoint files: safetensors for tensors, JSON (in the safetensors metadata) for everything else.

No pickle anywhere: a checkpoint from a stranger cannot run code. A checkpoint is written to a
temporary name and renamed into place, so a crash never leaves a half-written file, and loading
is strict: missing or unexpected weights are an error. What goes into a checkpoint from the
trainer (optimizer states, the random state) is genzoo.training.checkpoint's.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

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


def describe_value(value) -> str:
    if torch.is_tensor(value):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return repr(value)[:60]


def write_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], *, step: int,
                     optimizers: dict | None = None, extra: dict | None = None,
                     rescue_run: str | Path | None = None) -> Path:
    """Write `tensors` with the JSON record (format, `step`, the optimizers' JSON part, `extra`) atomically to `path`.

    A write that fails with an error that may pass (I/O, full disk) is tried again after RETRY_WAIT_S. If it
    still fails, the earlier checkpoints are kept and a CheckpointError says what failed; with `rescue_run`
    (the run directory) the checkpoint is first saved into a resumable copy of the run under rescue_root(),
    and the error says where and how to continue."""
    path = Path(path)
    meta = {"format": FORMAT, "version": VERSION, "step": step, "optimizers": optimizers or {}, "extra": extra or {}}
    bad = first_non_finite(tensors)
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
        for name in ("config.json", "metrics.jsonl"):   # what makes it a run directory (see record.py)
            if (run_dir / name).is_file():
                shutil.copyfile(run_dir / name, target / name)
        rescued = checkpoint_path(target / "checkpoints", step)
        _write(tensors, meta, rescued)
    except OSError as e:
        return (f"{failed}, also after a retry, nor into {root} ({e.strerror or e}); the earlier checkpoints in "
                f"{run_dir} are kept. Free space (or set {RESCUE_ENV} to a folder with room), then resume")
    return (f"{failed}, also after a retry; saved it to {rescued} instead. Continue with: genzoo train --resume "
            f"{target} (or, with space freed, move it into {run_dir / 'checkpoints'} and resume {run_dir})")


def first_non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
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
        raise CheckpointError(f"checkpoint '{path}' has metadata that is not a JSON object ({describe_value(meta)})")
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"'{path}' has format {meta.get('format')} v{meta.get('version')}; "
                              f"this genzoo reads {FORMAT} v{VERSION}")
    step = meta.get("step")
    if type(step) is not int or step < 0:
        raise CheckpointError(f"checkpoint '{path}' records step {describe_value(step)}, not a whole number >= 0")
    for section in ("optimizers", "extra"):
        if not isinstance(meta.get(section), dict):
            raise CheckpointError(f"checkpoint '{path}' has {section} {describe_value(meta.get(section))}, "
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
    bad = first_non_finite(state)
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


def newest_readable_checkpoint(found: list[tuple[int, Path]], log=print) -> tuple[int, Path, dict, dict]:
    """(step, path, tensors, metadata) of the newest checkpoint that reads back. A newer one that does not
    (truncated by a full disk or an interrupted copy) is reported and skipped: training resumes from the
    one before it and redoes the lost steps, exactly as it first ran them."""
    errors = []
    for step, path in reversed(found):
        try:
            tensors, meta = read_checkpoint(path)
        except CheckpointError as e:
            errors.append(str(e))
            continue
        for e in errors:
            log(f"genzoo: notice: skipped an unreadable checkpoint: {e}")
        return step, path, tensors, meta
    raise CheckpointError("no checkpoint of this run can be read:\n  " + "\n  ".join(errors))
