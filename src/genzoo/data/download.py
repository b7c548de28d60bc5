"""Downloading dataset files from their official mirrors, md5-checked and atomic.

A download goes to a temporary name in the destination directory and is renamed into place
only after its md5 matched, so an interrupted or bad download never leaves a file that a later
run would take for the real one. Tests point the mirror lists at a local HTTP server.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import pathlib
import tempfile
import urllib.error
import urllib.request
from collections.abc import Collection

from .. import __version__
from ..errors import ChecksumError, DataError
from ..permissions import as_umask_allows
from .files import check_md5, gunzip_if_needed, read_bytes

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
_BLOCK = 1 << 20


class _Mismatch(Exception):
    """One mirror served bytes with the wrong md5 (kept apart from network failures)."""


def fetch(filename: str, mirrors: list[str], dest_dir: os.PathLike | str, md5s: Collection[str],
          *, timeout: float = TIMEOUT_S) -> pathlib.Path:
    """Download `filename` into dest_dir from the first mirror that serves it with an md5 in `md5s`.

    Each mirror is a URL prefix (the file's URL is mirror + filename). An empty `md5s` accepts
    any bytes (only for users who turned verification off). Raises ChecksumError when a mirror
    served wrong bytes and no mirror served right ones, DataError when none could be reached;
    either way the message lists what each mirror did.
    """
    dest_dir = pathlib.Path(dest_dir)
    created = not dest_dir.exists()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the data directory {dest_dir} ({e.strerror or e}); "
                        "pass --set data.root=DIR with a writable directory") from None
    dest = dest_dir / filename
    failures: list[str] = []
    mismatch = False
    for mirror in mirrors:
        url = mirror + filename
        log.info("downloading %s", url)
        try:
            _download(url, dest, set(md5s), timeout)
            return dest
        except _Mismatch as e:
            mismatch = True
            failures.append(f"{url} ({e})")
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            failures.append(f"{url} ({_reason(e)})")
    if created:
        _remove_if_empty(dest_dir)
    tried = "; ".join(failures) if failures else "no mirror is known"
    where = f"put {filename} in {dest_dir} yourself"
    if mismatch:
        raise ChecksumError(f"could not download {filename} with the published checksum: {tried}; {where}")
    raise DataError(f"could not download {filename}: {tried}; check your network or {where}")


def _download(url: str, dest: pathlib.Path, md5s: set[str], timeout: float) -> None:
    """Stream url to a temporary file beside dest, check its md5, then rename it into place."""
    request = urllib.request.Request(url, headers={"User-Agent": f"genzoo/{__version__}"})
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = pathlib.Path(tmp_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            while block := response.read(_BLOCK):
                digest.update(block)
                out.write(block)
        actual = digest.hexdigest()
        if md5s and actual not in md5s:
            raise _Mismatch(f"md5 {actual}, expected {' or '.join(sorted(md5s))}")
        as_umask_allows(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_if_empty(folder: pathlib.Path) -> None:
    """Undo the creation of a download folder that stayed empty, leaving no trace of a failure."""
    try:
        folder.rmdir()
    except OSError:
        pass


def _reason(e: BaseException) -> str:
    """A short human reason for a failed download ("HTTP 404 Not Found", "timed out", ...)."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        if not isinstance(e.reason, BaseException):
            return str(e.reason)
        e = e.reason
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def verify_md5(path: os.PathLike | str, gz_md5: str | None = None, raw_md5: str | None = None) -> None:
    """Check a local file against its published md5s; raise ChecksumError with the fix if it fails.

    The file passes if the md5 of its bytes is `gz_md5` (the published .gz), or if the md5 of
    its decompressed content (its bytes, for an uncompressed file) is `raw_md5`: recompressed
    copies, like Debian's, differ in their gzip bytes but not in their content.
    """
    fix = "delete it so genzoo can download it again, or pass --set data.verify=false if you trust it"
    raw = read_bytes(path)
    content = gunzip_if_needed(raw, path, fix) if raw_md5 else raw
    check_md5(path, raw, content, gz_md5, raw_md5, fix)
