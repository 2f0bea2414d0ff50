"""Error types raised by cin-style for bad user input.

Every error a user can cause by passing a bad argument or a bad file is one of
these classes.  They subclass :class:`ValueError`, so code that already catches
``ValueError`` keeps working.

- :class:`CinStyleError`: base class of the three below.
- :class:`ImageError`: an image file or array that cannot be read or used
  (missing, empty, truncated, corrupt, unsupported format, too many pixels,
  wrong shape or dtype).
- :class:`StyleError`: a style argument that does not fit the model (unknown
  name, index out of range, negative / NaN / infinite / all-zero weights,
  wrong length, a mask of the wrong size).
- :class:`ModelError`: a saved model that cannot be loaded (missing files,
  truncated or corrupt weights, unknown format version, weights that do not
  match the architecture or the style manifest), or no bundled model.
"""

from __future__ import annotations

__all__ = ["CinStyleError", "ImageError", "StyleError", "ModelError", "MissingExtra", "VideoError"]


class CinStyleError(ValueError):
    """Base class of every user-facing cin-style error."""


class ImageError(CinStyleError):
    """An image input that cannot be decoded or used."""


class StyleError(CinStyleError):
    """A style argument (index, name, weights or mask) that does not fit the model."""


class ModelError(CinStyleError):
    """A saved model directory that cannot be loaded."""


class MissingExtra(CinStyleError):
    """A feature needs the packages of an extra that is not installed (the message names it)."""


class VideoError(CinStyleError):
    """A video input that cannot be read or used, or an output that cannot be written."""
