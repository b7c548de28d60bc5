"""CIFAR-10 from its binary version (cifar-10-binary.tar.gz), never the pickled python version.

Each batch file is a sequence of 3,073-byte records: 1 label byte (0..9), then 3,072 pixel bytes,
the 32x32 red plane, then green, then blue (so a record is already C, H, W). Train is
data_batch_1..5.bin (50,000 images), test is test_batch.bin (10,000).

Where the files are looked for, in order, in each of <root>/, <root>/cifar10/ (or
default_data_root()/cifar10/ without a root): the batch files themselves, a
cifar-10-batches-bin/ folder holding them, then cifar-10-binary.tar.gz. The archive is read in
memory (its md5 checked, member names checked: no absolute paths or '..'), and all six batch
files are then written beside it under cifar-10-batches-bin/ (when the folder is writable) so
that later loads skip the decompression. Missing data is downloaded (when allowed) from the official site.
"""
from __future__ import annotations

import io
import pathlib
import posixpath
import tarfile
import zlib

import numpy as np
import torch

from ..errors import DataError
from .base import Dataset, DatasetInfo, Request, download_dir, register, search_dirs, show_dirs
from .download import fetch
from .files import check_md5, read_bytes, write_atomic

ARCHIVE = "cifar-10-binary.tar.gz"
ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
BATCH_DIR = "cifar-10-batches-bin"
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]  # module-level so tests can replace it
BATCHES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}
RECORD = 1 + 3 * 32 * 32
CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

_FIX = "delete it so genzoo can download it again, or pass --set data.root=DIR with good files"


def load_cifar10(req: Request) -> Dataset:
    """Load a split of CIFAR-10 from batch files or the binary archive (see the module docstring)."""
    dirs = search_dirs(req)
    names = BATCHES[req.split]
    for d in dirs:
        for folder in (d, d / BATCH_DIR):
            if all((folder / n).is_file() for n in names):
                blobs = {n: read_bytes(folder / n) for n in names}
                return _dataset(req, blobs, folder, f"CIFAR-10 binary batches in {folder}")
    archive = next((d / ARCHIVE for d in dirs if (d / ARCHIVE).is_file()), None)
    if archive is None:
        if not req.download:
            raise DataError(f"CIFAR-10 not found in {show_dirs(dirs)} and downloads are off; put {ARCHIVE} "
                            f"(the binary version) in {download_dir(req)} or allow downloads")
        archive = fetch(ARCHIVE, MIRRORS, download_dir(req), {ARCHIVE_MD5} if req.verify else set())
    blobs = read_archive(archive, BATCHES["train"] + BATCHES["test"], req.verify)
    _cache_batches(archive.parent / BATCH_DIR, blobs)  # both splits: the archive is decompressed once
    return _dataset(req, {n: blobs[n] for n in names}, archive, f"CIFAR-10 binary version from {archive}")


def read_archive(path: pathlib.Path, names: list[str], verify: bool = True) -> dict[str, bytes]:
    """The named batch files from the archive, read in memory after checking md5 and member names."""
    raw = read_bytes(path)
    if verify:
        check_md5(path, raw, raw, ARCHIVE_MD5, None,
                  "delete it so genzoo can download it again, or pass --set data.verify=false if you trust it")
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            for member in tar:
                _check_member_name(path, member.name)
                base = posixpath.basename(member.name)
                if base in names and posixpath.dirname(member.name).endswith(BATCH_DIR):
                    if not member.isfile():
                        raise DataError(f"unsafe archive {path}: {member.name} is a link or special file, "
                                        f"not a regular file; {_FIX}")
                    blobs[base] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"corrupt archive {path} ({e}); {_FIX}") from None
    missing = [n for n in names if n not in blobs]
    if missing:
        raise DataError(f"{path} does not contain {BATCH_DIR}/{', '.join(missing)}; it is not the binary version "
                        f"of CIFAR-10 ({ARCHIVE}); {_FIX}")
    return blobs


def _check_member_name(archive: pathlib.Path, name: str) -> None:
    """Refuse archives with absolute member paths or '..' in them (path traversal)."""
    if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name.split("/")[0]:
        raise DataError(f"unsafe archive {archive}: member '{name}' points outside the archive's folder; "
                        f"delete it and download {ARCHIVE} from the official site")


def _cache_batches(folder: pathlib.Path, blobs: dict[str, bytes]) -> None:
    """Best effort: write the batches beside the archive so the next load reads them directly."""
    try:
        folder.mkdir(exist_ok=True)
        for name, blob in blobs.items():
            if not (folder / name).is_file():
                write_atomic(folder / name, blob)
    except OSError:
        pass  # a read-only data directory: the archive is simply read again next time


def _dataset(req: Request, blobs: dict[str, bytes], where: pathlib.Path, source: str) -> Dataset:
    """Decode batch files (checked: whole records, labels 0..9) into one dataset."""
    parts = []
    for name, blob in blobs.items():
        if len(blob) == 0 or len(blob) % RECORD:
            raise DataError(f"corrupt CIFAR-10 batch {name} in {where}: {len(blob)} bytes is not a whole number of "
                            f"{RECORD}-byte records (1 label byte + 3,072 pixel bytes); {_FIX}")
        records = np.frombuffer(blob, dtype=np.uint8).reshape(-1, RECORD)
        if records[:, 0].max() > 9:
            raise DataError(f"corrupt CIFAR-10 batch {name} in {where}: label {records[:, 0].max()} is not 0..9; "
                            f"is it the CIFAR-100 binary version? {_FIX}")
        parts.append(records)
    records = np.concatenate(parts)
    return Dataset(name=req.name, source=source, split=req.split, kind="image",
                   x=torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy()),
                   y=torch.from_numpy(records[:, 0].astype(np.int64)), num_classes=10,
                   class_names=list(CLASS_NAMES))


register(DatasetInfo("cifar10", "CIFAR-10 32x32 color images, 10 classes, binary version; standard split "
                     "50,000 train / 10,000 test",
                     "Krizhevsky 2009, Learning Multiple Layers of Features from Tiny Images; "
                     "https://www.cs.toronto.edu/~kriz/cifar.html"),
         load_cifar10, aliases=("cifar-10", "cifar"))
