"""Reading local data files: gzip detection, md5 checks and finding a file among directories.

Every failure is a DataError naming the file and the fix, never a raw gzip/zlib/OS traceback.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import pathlib
import tempfile
import zlib

from ..errors import ChecksumError, DataError
from ..permissions import as_umask_allows

GZIP_MAGIC = b"\x1f\x8b"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def read_bytes(path: os.PathLike | str) -> bytes:
    """The bytes of a file, as stored (possibly gzip-compressed)."""
    try:
        return pathlib.Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}; check that it is a readable file") from None


def gunzip_if_needed(raw: bytes, path: os.PathLike | str, fix: str) -> bytes:
    """The content of a file: decompressed if it starts with the gzip magic, else as is."""
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"corrupt gzip file {path}: it ends before the compressed stream does "
                        f"(an interrupted download?); {fix}") from None
    except (OSError, zlib.error) as e:
        raise DataError(f"corrupt gzip file {path}: {e}; {fix}") from None


def read_content(path: os.PathLike | str, fix: str = "delete it or replace it with a good copy") -> bytes:
    """The decompressed content of a .gz file, or the bytes of an uncompressed one."""
    return gunzip_if_needed(read_bytes(path), path, fix)


def check_md5(path: os.PathLike | str, raw: bytes, content: bytes, gz_md5: str | None,
              raw_md5: str | None, fix: str) -> None:
    """Accept a file whose stored bytes match the known .gz md5 or whose content matches the content md5.

    Both are needed: Debian and others recompress the published files, so the gzip bytes (and
    their md5) change while the data inside is identical. When neither md5 applies to the file's
    form (say an uncompressed file of a dataset with only a .gz md5) there is nothing to check.
    """
    compressed = raw.startswith(GZIP_MAGIC)
    if compressed:
        known = [(gz_md5, raw), (raw_md5, content)]
        labels = ("of the gzip file", "of its content")
    else:
        known = [(raw_md5, raw)]
        labels = ("of the file",)
    checks = [(expected, md5_hex(data), label) for (expected, data), label in zip(known, labels) if expected]
    if not checks or any(expected == actual for expected, actual, _ in checks):
        return
    found = " and ".join(f"{actual} {label} (expected {expected})" for expected, actual, label in checks)
    raise ChecksumError(f"checksum mismatch for {path}: md5 {found}; {fix}")


def find_file(dirs: list[pathlib.Path], filename: str) -> pathlib.Path | None:
    """The first of dir/filename or dir/filename-without-.gz that exists, over dirs in order."""
    names = [filename]
    if filename.endswith(".gz"):
        names.append(filename[:-3])
    for d in dirs:
        for name in names:
            candidate = d / name
            if candidate.is_file():
                return candidate
    return None


def write_atomic(path: pathlib.Path, data: bytes) -> None:
    """Write to a temporary name beside `path`, then rename into place: never a half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        as_umask_allows(tmp)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
