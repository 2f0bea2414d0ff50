"""Atomic file writes: a temporary file in the destination folder, flushed, then renamed.

A reader never sees a half-written file, and a failure leaves nothing behind. Without overwrite the
file is published with a hard link, which fails if the name exists: two writers racing for one new
name cannot both succeed. Folders are published with :func:`rename_no_replace` and swapped with
:func:`exchange` (Linux ``renameat2``: one step, no moment without a folder at the name).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import socket
import sys
import tempfile
from collections.abc import Iterator

from cin_style.files import PathLike
from typing import BinaryIO

__all__ = ["atomic_write", "ordinary_mode", "rename_no_replace", "exchange"]

_RENAME_NOREPLACE, _RENAME_EXCHANGE, _AT_FDCWD = 1, 2, -100


def _renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).renameat2
    except (OSError, AttributeError):  # no libc, or a glibc older than 2.28
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def _renameat2_call(source: str, target: str, flags: int) -> bool:
    """True when done; False when this system or filesystem lacks the call (the caller falls back)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), flags) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), target)


def rename_no_replace(source: str, target: str) -> None:
    """Renames ``source`` to ``target``; FileExistsError if ``target`` exists (atomically on Linux)."""
    if _renameat2_call(source, target, _RENAME_NOREPLACE):
        return
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "already exists", target)
    os.rename(source, target)


def exchange(first: str, second: str) -> bool:
    """Swaps two existing paths in one step; False where the system cannot (then nothing changed)."""
    return _renameat2_call(first, second, _RENAME_EXCHANGE)


def ordinary_mode(base: int) -> int:
    """``base`` (0o666 for files, 0o777 for folders) under the process umask, as open()/mkdir() would give.

    mkstemp and mkdtemp create 0600/0700 entries; outputs should be ordinary ones.
    """
    umask = os.umask(0)
    os.umask(umask)
    return base & ~umask


def _temporary_prefix(pid: int | None = None) -> str:
    """Temporary files name their host and process, so a later save can tell a killed writer's leftovers."""
    host = "".join(c if c.isalnum() or c in "-_" else "_" for c in socket.gethostname())[:40]
    return f".cin-style-{host}-{os.getpid() if pid is None else pid}-"


_swept_folders: set[str] = set()


def _remove_stale_temporaries(folder: str) -> None:
    """Deletes temporary files that a process of this host left when it was killed (SIGKILL, power loss)
    before it could tidy up: once per folder and process. A file of a process that still runs, or of
    another host, is never touched."""
    if folder in _swept_folders:
        return
    _swept_folders.add(folder)
    prefix = _temporary_prefix(0)[:-2]  # ".cin-style-<host>-"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _process_runs(int(pid_text)):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            pass


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep the file
    return True


@contextlib.contextmanager
def atomic_write(path: PathLike, suffix: str = "", *,
                 overwrite: bool = True) -> Iterator[BinaryIO]:
    """Context manager yielding a binary handle; on success the data replaces ``path`` at once.

    With ``overwrite=False`` an existing ``path``, even one created while the data was being written,
    raises FileExistsError and is left as it was.

    Example::

        with atomic_write("out.png", ".png") as handle:
            image.save(handle, format="PNG")
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    _remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(), suffix=suffix, dir=folder)
    os.fchmod(fd, ordinary_mode(0o666))
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _publish_new(tmp: str, path: str) -> None:
    """Gives the finished ``tmp`` the name ``path`` only if no file has it (a hard link is exclusive)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: rename without replacing, where the system can
        rename_no_replace(tmp, path)
        return
    os.unlink(tmp)
