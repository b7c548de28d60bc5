"""Files genzoo writes get the permissions the user's umask gives new files (0644 under the usual 022),
as every other tool's do. Temporary files from tempfile.mkstemp and safetensors are created 0600;
each writer calls `as_umask_allows` on its temporary file before renaming it into place."""
from __future__ import annotations

import os


def current_umask() -> int:
    """The process's umask (os.umask can only be read by setting it, so set it straight back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def as_umask_allows(path: str | os.PathLike) -> None:
    """Give `path` the mode open() would give a new file: 0o666 minus the umask."""
    os.chmod(path, 0o666 & ~current_umask())
