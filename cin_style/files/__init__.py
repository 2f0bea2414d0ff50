"""Files: decoding and encoding images safely (:mod:`.images`), video (:mod:`.video`), atomic writes
(:mod:`.atomic`), finding image files in folders (:mod:`.folders`)."""

from __future__ import annotations

import os
import stat
from typing import Union

#: A file path, as every function that reads or writes a file takes it.
PathLike = Union[str, "os.PathLike[str]"]


def check_input_file(path: str, kind: str, error: type[Exception]) -> None:
    """Raises ``error`` naming ``path`` unless it is a non-empty regular file (``kind``: "image", "video")."""
    if not os.path.exists(path):
        raise error(f"{path}: no such file")
    article = "an" if kind[0] in "aeiou" else "a"
    if os.path.isdir(path):
        raise error(f"{path}: is a directory, not {article} {kind} file")
    if not stat.S_ISREG(os.stat(path).st_mode):  # opening a pipe would wait for a writer forever
        raise error(f"{path}: not a regular file (a pipe, device or socket); give {article} {kind} file")
    if os.path.getsize(path) == 0:
        raise error(f"{path}: empty file (0 bytes)")
