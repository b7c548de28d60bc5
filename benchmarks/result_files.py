"""A benchmark's result file: standard JSON with the numbers, the hardware, the environment and the
command that made them, written atomically under a lock so that commands filling rows of one file side
by side keep each other's rows. The command and the strings in the file name no machine's folders.

    from result_files import write_result
    write_result("benchmarks/results/dcgan-600cpu-s.json", {"protocol": "...", "rows": {"dcgan": {"fd": 18.9}}})
"""
from __future__ import annotations

import json
import math
import os
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import torch

from genzoo.machine import hardware
from genzoo.runs.record import environment


# their values name one machine's folders, not the protocol
PATH_OPTIONS = ("--data-root", "--root", "--mnist-root", "--out", "--run", "--run-dir", "--runs", "--curve-out", "--json",
                "--grids")


# their values are KEY=VALUE pairs, a VALUE of which may name a folder (--setting cache=DIR)
PAIR_OPTIONS = ("--set", "--setting")


def _folder_arguments(argv: Sequence[str]):
    """(index, folder, prefix) for each machine's folder given to PATH_OPTIONS in `argv`: `--out DIR` or
    `--out=DIR`, or as the value of a KEY=VALUE pair of PAIR_OPTIONS. A path relative to the repository
    (benchmarks/results/x.json) reads the same anywhere."""
    for i, word in enumerate(argv):
        option, has_value, value = word.partition("=")
        following = argv[i + 1] if i + 1 < len(argv) else ""
        key, _, pair_value = following.partition("=")
        if word in PATH_OPTIONS and following and _names_a_machines_folder(following):
            yield i + 1, following, ""
        elif word in PAIR_OPTIONS and pair_value and _names_a_machines_folder(pair_value):
            yield i + 1, pair_value, key + "="
        elif has_value and option in PATH_OPTIONS and _names_a_machines_folder(value):
            yield i, value, option + "="


def _names_a_machines_folder(path: str) -> bool:
    """Absolute, from the home folder, or reaching above the working folder."""
    return Path(path).is_absolute() or path.startswith("~") or ".." in Path(path).parts


def command_line(argv: Sequence[str]) -> str:
    """`python ARGV` with the folders given to PATH_OPTIONS written as DIR, so the command reads the same anywhere."""
    words = list(argv)
    for i, _, prefix in _folder_arguments(argv):
        words[i] = prefix + "DIR"
    return shlex.join(["python", *words])


def folders_given(argv: Sequence[str]) -> list[str]:
    """The folders given to PATH_OPTIONS in `argv`, longest first."""
    found = {folder.rstrip("/") for _, folder, _ in _folder_arguments(argv) if folder.strip("/")}
    return sorted(found, key=len, reverse=True)


def portable(value, folders: Sequence[str] = ()):
    """`value` as standard JSON can hold it and any machine can read it: infinite or NaN floats as None,
    and the `folders` inside strings (a data source's description names its folder) written as DIR."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        for folder in folders:
            value = value.replace(folder, "DIR")
        return value
    if isinstance(value, dict):
        return {k: portable(v, folders) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, folders) for v in value]
    return value


def write_result(path: str | Path, result: dict, *, device: torch.device | str = "cpu",
                 keep_rows: bool = False) -> Path:
    """Write `result` as standard JSON to `path` (non-finite numbers as null, the folders given on the
    command line as DIR) with the hardware, the environment and the command that made it.

    keep_rows: also keep the rows the file holds at the moment of writing that `result` does not
    replace; the read and the write happen under one lock, so that commands that write rows of one
    file side by side cannot drop each other's."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    made = {"hardware": hardware(device), "environment": environment(),
            "command": command_line(sys.argv) if sys.argv and sys.argv[0] else None}
    with results_folder_lock(path.parent):   # held only for the read and the write
        if keep_rows:
            rows = result.get("rows", {})
            result = {**result, "rows": {**rows_not_replaced(path, rows), **rows}}
        record = {**result, **made}
        return write_json(path, portable(json.loads(json.dumps(record, default=float)), folders_given(sys.argv)))


def rows_not_replaced(path: Path, rows: dict) -> dict:
    """The rows of the result file at `path` (if any) whose names are not among `rows`."""
    held = json.loads(path.read_text()).get("rows", {}) if path.exists() else {}
    return {name: row for name, row in held.items() if name not in rows}


@contextmanager
def results_folder_lock(folder: Path):
    """An exclusive lock on `folder` (flock on the folder itself, so no lock file is left behind)
    while the block runs; without fcntl (Windows) the block runs unlocked."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)   # closing the descriptor releases the lock


def write_json(path: str | Path, record: dict) -> Path:
    """`record` as a result file's JSON at `path`, replaced atomically (a crash leaves the old file);
    the temporary file is named for the process, so two writers never share it."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path
