"""Atomic file writes: a temporary file in the destination folder, flushed, then renamed.

A reader never sees a half-written file, and a failure leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

__all__ = ["atomic_write", "ordinary_mode"]


def ordinary_mode(base: int) -> int:
    """``base`` (0o666 for files, 0o777 for folders) under the process umask, as open()/mkdir() would give.

    mkstemp and mkdtemp create 0600/0700 entries; outputs should be ordinary ones.
    """
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


@contextlib.contextmanager
def atomic_write(path, suffix: str = ""):
    """Context manager yielding a binary handle; on success the data replaces ``path`` at once.

    Example::

        with atomic_write("out.png", ".png") as handle:
            image.save(handle, format="PNG")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cin-style-", suffix=suffix, dir=folder)
    os.fchmod(fd, ordinary_mode(0o666))
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
