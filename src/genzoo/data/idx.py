"""The IDX format of MNIST, Fashion-MNIST and KMNIST (http://yann.lecun.com/exdb/mnist/).

Layout, all integers big-endian:
    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4*d bytes   the size of each dimension (uint32)
    then        prod(sizes) elements, row-major (the last index changes fastest)
A file must hold exactly that many bytes: fewer means it was cut short, more means it is not
the file its header describes. Either is an error, never a silent reshape.
"""
from __future__ import annotations

import math
import os
import struct

import numpy as np

from ..errors import DataError
from .files import read_content

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_DEFAULT_FIX = "delete it or replace it with a good copy"


def read_idx(path: os.PathLike | str, fix: str = _DEFAULT_FIX) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw, told apart by the gzip magic) into a numpy array.

    The array is writable, in native byte order, with the shape the header declares.
    `fix` ends every error message: what the user should do about a bad file.
    """
    return parse_idx(read_content(path, fix), path, fix)


def parse_idx(data: bytes, path: os.PathLike | str = "<bytes>", fix: str = _DEFAULT_FIX) -> np.ndarray:
    """Decode the bytes of an uncompressed IDX file (see the module docstring for the layout)."""
    def corrupt(why: str) -> DataError:
        return DataError(f"corrupt IDX file {path}: {why}; {fix}")

    if len(data) < 4:
        raise corrupt(f"it holds {len(data)} bytes, too few for the 4-byte magic number")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code not in IDX_TYPES:
        raise corrupt(f"bad magic number 0x{data[:4].hex()} (expected 0x0000 then a type code among "
                      f"{', '.join(f'0x{t:02X}' for t in IDX_TYPES)} and the number of dimensions)")
    if ndim == 0:
        raise corrupt("the header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise corrupt(f"the header declares {ndim} dimensions but the file ends after {len(data)} bytes")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = math.prod(dims) * dtype.itemsize
    held = len(data) - header
    if held != expected:
        shape = "x".join(map(str, dims))
        problem = "it is truncated" if held < expected else "it has trailing bytes"
        raise corrupt(f"header says {shape} = {expected} bytes of data but the file holds {held} "
                      f"after the {header}-byte header ({problem})")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)  # writable, native order
