"""Files: decoding and encoding images safely (:mod:`.images`), atomic writes (:mod:`.atomic`),
finding image files in folders (:mod:`.folders`)."""

from __future__ import annotations

import os
from typing import Union

#: A file path, as every function that reads or writes a file takes it.
PathLike = Union[str, "os.PathLike[str]"]
