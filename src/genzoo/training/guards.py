"""What keeps a run's directory consistent: one run at a time, interrupts only between steps, and
run-directory parts that stay inside the run directory."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import stat
import tempfile
import threading
import time
from pathlib import Path

from ..errors import ConfigError, GenzooError

LOCK_FILE = ".lock"
#: the parts of a run directory that training writes into (and prunes)
WRITTEN_PARTS = ("checkpoints", "samples", "config.json", "metrics.jsonl")
FOLDERS = ("checkpoints", "samples")


def _owner(handle) -> str:
    """The PID a lock file names (its holder, or the run that last held it), or '' if none."""
    handle.seek(0)
    text = handle.read(32).strip()
    return text if text.isdecimal() else ""


def lock_run_dir(run_dir: Path, log=print):
    """An exclusive lock on `run_dir` for as long as the returned file stays open (the whole run).
    A second training into the same directory gets a GenzooError naming the holder's PID instead of
    interleaving its files. The lock file keeps its holder's PID until release_run_dir() empties it, so a
    PID found in a free lock is a run that was killed or crashed: its lock is taken over with a note."""
    handle = _open_lock_file(run_dir / LOCK_FILE)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _owner(handle)
        handle.close()
        raise GenzooError(f"another genzoo process{f' (PID {owner})' if owner else ''} is training into "
                          f"'{run_dir}'; wait for it to end, or choose another --out") from None
    stale = _owner(handle)
    if stale and stale != str(os.getpid()):
        log(f"genzoo: note: took over the lock of '{run_dir}' from PID {stale}, which ended without releasing it "
            "(killed or crashed); its checkpoints are kept")
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
    except OSError as e:   # a full disk at start
        with contextlib.suppress(OSError):   # closing flushes the same buffered PID again, and fails again
            handle.close()
        raise GenzooError(f"cannot write into the run directory '{run_dir}' ({e.strerror or e}); free space or "
                          "choose another --out") from None
    return handle


def _open_lock_file(path: Path):
    """`path` opened for reading and writing, created if missing, but never through a link and only if it is a
    regular file with no other name: a stranger's `.lock` that links (or is hard-linked) to a file of the
    user's would otherwise be emptied when the lock is taken."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise GenzooError(f"'{path}' is a link; genzoo never locks a run through a link (it would empty the "
                              "file it points to). Check who made it, remove it, and run again") from None
        raise GenzooError(f"cannot write into the run directory '{path.parent}' ({e.strerror or e}); "
                          "fix its permissions or choose another --out") from None
    info = os.fstat(fd)
    problem = ("is not a regular file" if not stat.S_ISREG(info.st_mode) else
               "has other names (a hard link to another file)" if info.st_nlink != 1 else None)
    if problem:
        os.close(fd)
        raise GenzooError(f"'{path}' {problem}; genzoo would empty it to lock the run. Check who made it, remove "
                          "it, and run again")
    return os.fdopen(fd, "r+")


def release_run_dir(handle) -> None:
    """Release the lock of lock_run_dir(), emptied first: only a run that ended uncleanly leaves its PID."""
    try:
        handle.seek(0)
        handle.truncate()
    finally:
        handle.close()


def _check_writable(folder: Path) -> None:
    """Create and remove a file in `folder`: unlike os.access, this sees what the kernel really allows this
    process (its effective user's permissions, a read-only mount)."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise GenzooError(f"cannot write into '{folder}' ({e.strerror or e}), where the run keeps its files; "
                          "fix its permissions or choose another --out") from None


def check_run_dir(run_dir: Path) -> None:
    """Refuse, before training starts, a run directory that is a file, cannot be written, or whose parts are of
    the wrong kind (a file where a folder goes, a broken link) or resolve outside it (a `checkpoints` link into
    another run would write into, and prune, that run's checkpoints)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"'{run_dir}' is a file; choose a new directory with --out")
    if run_dir.is_dir():
        _check_writable(run_dir)
    root = run_dir.resolve()
    for part in WRITTEN_PARTS:
        path = run_dir / part
        try:
            target = path.resolve()
        except (OSError, RuntimeError):   # a link that loops
            raise GenzooError(f"'{path}' is a link that loops; replace it with the run's {part}") from None
        if path.is_symlink() and root not in target.parents:
            raise GenzooError(f"'{path}' is a link to '{target}', outside the run directory; genzoo "
                              "writes and prunes there, so it refuses. Replace the link with a folder")
        if (path.exists() or path.is_symlink()) and path.is_dir() != (part in FOLDERS):
            kind = "a broken link" if not path.exists() else "a folder" if path.is_dir() else "a file"
            raise GenzooError(f"'{path}' is {kind} where the run writes its {part}; move it away or choose "
                              "another --out")
        if part not in FOLDERS and path.exists() and not path.is_file():   # reading a FIFO would block
            raise GenzooError(f"'{path}' is not a regular file (a FIFO or a device) where the run writes its {part}; "
                              "move it away or choose another --out")
        if part in FOLDERS and path.is_dir():
            _check_writable(path)


def claim_run_dir(run_dir: Path, log=print):
    """Check `run_dir` (check_run_dir), create it, and lock it (lock_run_dir); the lock's open file."""
    check_run_dir(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GenzooError(f"cannot create the run directory '{run_dir}' ({e.strerror or e})") from None
    return lock_run_dir(run_dir, log)


class InterruptNow(KeyboardInterrupt):
    """A second stop signal: the user wants the run to end at once, in the middle of a step."""


class DeferredInterrupt:
    """Ctrl-C (SIGINT) and SIGTERM (what schedulers and `kill` send) take effect only between steps: the
    handler only records the signal, and the trainer stops at the next step boundary, so a checkpoint never
    holds half a step (a GAN's D update without its G update). A second signal interrupts at once
    (InterruptNow). Under several processes, signals within `same_stop` seconds of the first are that same
    stop: Ctrl-C reaches every process from the terminal and again from torchrun, which forwards it, and an
    interrupt in the middle of a step would leave the other processes waiting for this one. Once the processes
    agree to stop (`settle`), the stop holds until the process exits: after the block the signals are ignored
    while it saves and leaves the group (torchrun's kill still ends a process that hangs)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, same_stop: float = 0.0):
        self.received: int | None = None
        self.same_stop = same_stop
        self._first_at = 0.0
        self._previous: dict = {}
        self.settled = False

    def _handle(self, signum, frame):
        if self.received is None:
            self.received, self._first_at = signum, time.monotonic()
        elif time.monotonic() - self._first_at >= self.same_stop:
            raise InterruptNow

    def __enter__(self) -> "DeferredInterrupt":
        if threading.current_thread() is threading.main_thread():   # handlers can only be set there
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def settle(self) -> None:
        """Every process stops at this step: the copies of the signal still on their way (the terminal's and
        torchrun's, to this process or another) must not interrupt leaving the group or the interpreter's exit."""
        self.settled = True

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, signal.SIG_IGN if self.settled else handler)
