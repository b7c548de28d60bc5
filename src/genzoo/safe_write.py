"""The one writer of the files genzoo makes besides training's own (sample grids, reports, exports,
evaluation results): a temporary file in the same folder, synced to disk, then renamed into place. A
reader, a full disk or a kill (SIGTERM) never sees, or leaves, a torn file, and an earlier file at the
path stays whole until the new one replaces it. It never writes through a link, nor over a run
directory's own files; what cannot be written is one line (GenzooError), never a traceback or abort.
read_regular_file is its reader for files of run directories that may be a stranger's."""
from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import stat
import tempfile
import threading
from pathlib import Path
from typing import Callable

from .errors import GenzooError
from .permissions import as_umask_allows

#: what makes a folder a run directory, and the files of one that only training writes
RUN_RECORD = "config.json"
RUN_OWN_FILES = ("config.json", "metrics.jsonl", ".lock", "time_budget.json")
RUN_OWN_FOLDERS = ("checkpoints",)


def _is_run_dir(folder: Path) -> bool:
    return (folder / RUN_RECORD).is_file() and ((folder / "checkpoints").is_dir()
                                                or (folder / "metrics.jsonl").is_file())


def _own_part(part: tuple[str, ...], results: bool) -> bool:
    if part and (part[0] in RUN_OWN_FOLDERS or (len(part) == 1 and part[0] in RUN_OWN_FILES)):
        return True
    return results and (part == ("eval.json",) or (len(part) == 2 and part[0] == "samples"
                                                     and re.fullmatch(r"step-\d+\.png", part[1]) is not None))


def run_file_of(path: Path, results: bool = False) -> tuple[Path, str] | None:
    """(run directory, part) when `path` is one of a run directory's own files (see RUN_OWN_FILES and
    RUN_OWN_FOLDERS; with `results`, also its eval.json and training's sample grids), else None; links on
    the way are resolved, so a path by another name is caught."""
    path = Path(os.path.abspath(path))
    folder = path.parent.resolve() if path.parent.exists() else path.parent
    target = folder / path.name
    for run in (folder, *folder.parents):
        if _is_run_dir(run):
            part = target.relative_to(run).parts
            return (run, "/".join(part)) if _own_part(part, results) else None
    return None


def check_writable_file(path, *, inside: str | Path | None = None, results: bool = False) -> Path:
    """`path` if genzoo may write a file there: not a directory, no file where a folder must be, not a link,
    not a run directory's own file (with `results`, as for export and sample, not its eval.json nor a sample
    grid of training's either) and, given `inside` (a folder genzoo chose, e.g. RUN/export), with no link
    between `inside` and the file."""
    path = Path(path)
    if path.is_symlink():
        raise GenzooError(f"cannot write '{path}': it is a link (to '{os.readlink(path)}'), and genzoo never writes "
                          "through links; remove it or choose another path")
    if path.is_dir():
        raise GenzooError(f"cannot write '{path}': it is a directory; name a file, e.g. {path / 'samples.png'}")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise GenzooError(f"cannot write '{path}': '{blocking}' is a file, not a folder; choose another path")
    if inside is not None:
        link = next((p for p in path.parents if p.is_symlink() and Path(inside) in p.parents), None)
        if link is not None:
            raise GenzooError(f"cannot write '{path}': '{link}' is a link (to '{os.readlink(link)}'), and genzoo "
                              f"writes only inside '{inside}'; replace the link with a folder")
    own = run_file_of(path, results)
    if own is not None:
        writer = "genzoo eval" if own[1] == "eval.json" else "training"
        raise GenzooError(f"cannot write '{path}': it is {own[1]} of the run directory '{own[0]}', which only "
                          f"{writer} writes; choose another path")
    return path


@contextlib.contextmanager
def _sigterm_interrupts():
    """SIGTERM raises KeyboardInterrupt while a file is written (in the main thread), so the temporary file
    is removed on the way out instead of being left behind by a killed process."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sync(fd: int) -> None:
    os.fsync(fd)


def write_atomic(path, write: Callable[[str], None], *, inside: str | Path | None = None) -> Path:
    """Call write(tmp_path) on a temporary file beside `path`, sync it, then rename it to `path`.
    A path that cannot be written (see check_writable_file; a missing or read-only folder, a full disk) is a
    GenzooError; the earlier file at `path`, if any, is then left as it was."""
    path = check_writable_file(path, inside=inside)
    tmp = None
    try:
        with _sigterm_interrupts():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            write(tmp)
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                _sync(fd)
            finally:
                os.close(fd)
            as_umask_allows(tmp)
            os.replace(tmp, path)
            tmp = None
    except OSError as e:
        raise GenzooError(f"cannot write '{path}' ({e.strerror or e}); choose another file or folder") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
    return path


def write_text(path, text: str, *, inside: str | Path | None = None) -> Path:
    """write_atomic of a UTF-8 text."""
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"), inside=inside)


def write_bytes(path, data: bytes, *, inside: str | Path | None = None) -> Path:
    """write_atomic of bytes."""
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data), inside=inside)


def read_regular_file(path, limit: int, *, follow_links: bool = False) -> tuple[bytes | None, str | None]:
    """(contents, None) of `path` if it is a regular file (not a link, FIFO or device) of at most `limit`
    bytes, else (None, why). A reader of a stranger's run directory neither follows a planted link to
    another file nor blocks on a FIFO nor reads /dev/zero until memory runs out. follow_links: a link to a
    regular file is read (a file the user names), a link to a FIFO or device still is not."""
    try:
        fd = os.open(path, os.O_RDONLY | (0 if follow_links else os.O_NOFOLLOW) | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        return None, ("a link, not a regular file" if e.errno == errno.ELOOP else e.strerror or str(e))
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):   # before fdopen, which refuses a folder with an exception
        os.close(fd)
        return None, "not a regular file"
    with os.fdopen(fd, "rb") as f:
        if info.st_size > limit:
            return None, f"over {limit:,} bytes"
        data = f.read(limit + 1)
    return (data, None) if len(data) <= limit else (None, f"over {limit:,} bytes")
