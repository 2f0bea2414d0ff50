"""Turning a user's style argument into a style-weight vector.

Accepted forms of ``style`` (N = number of styles of the model):

- ``int``: a style index in ``0..N-1``.
- ``str``: a style name (``"starry_night"``), an index as text (``"3"``), or a
  blend ``"starry_night=0.7,great_wave=0.3"`` (names or indices; as on the CLI).
- a mapping ``{name_or_index: weight}``; styles not named get weight 0.
- a sequence or 1-D array of N non-negative weights.

Weights must be finite, non-negative and not all zero; they are divided by their
sum, so ``{"a": 2, "b": 2}`` is the same 50/50 blend as ``{"a": 0.5, "b": 0.5}``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np

from cin_style.errors import StyleError

__all__ = ["StyleSpec", "style_weights", "resolve_style_index"]

#: What every style argument accepts: an index, a name (or an index as text), a blend as text
#: ("starry_night=0.7,great_wave=0.3"), a {name or index: weight} mapping, or one weight per style.
StyleSpec = Union[int, str, Mapping[Any, float], Sequence[float], np.ndarray]  # Mapping keys: names or indices


def resolve_style_index(key: int | str, style_names: Sequence[str]) -> int:
    """Index of ``key`` (an int index, a name, or an index as text) in ``style_names``.

    Raises:
      StyleError: unknown name (with the closest known names) or index out of range.
    """
    n = len(style_names)
    if isinstance(key, bool):
        raise StyleError(f"style {key!r}: a bool is not a style; use an index 0..{n - 1} or a name")
    if isinstance(key, numbers.Integral):
        index = int(key)
        if not 0 <= index < n:
            raise StyleError(f"style index {index} is out of range; this model has {n} styles (0..{n - 1})")
        return index
    if isinstance(key, str):
        text = key.strip()
        if re.fullmatch(r"-?[0-9]+", text):  # ASCII digits only: "²".isdigit() is True
            return resolve_style_index(int(text), style_names)
        if text in style_names:
            return list(style_names).index(text)
        close = difflib.get_close_matches(text, list(style_names), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise StyleError(f"unknown style {text!r}{hint or '.'} Known styles: {', '.join(style_names)}")
    raise StyleError(f"style key {key!r} of type {type(key).__name__}: use an index 0..{n - 1} or a style name")


def _parse_weight(value, label: str) -> float:
    if isinstance(value, bool):
        raise StyleError(f"weight of {label} is a bool ({value}); use a number")
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise StyleError(f"weight of {label} is {value!r}, not a number") from None
    if not math.isfinite(weight):
        raise StyleError(f"weight of {label} is {weight}; weights must be finite")
    if weight < 0:
        raise StyleError(f"weight of {label} is {weight}; weights must be >= 0")
    return weight


def _parse_blend_text(text: str) -> dict[str, float]:
    blend = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise StyleError(f"style blend {text!r}: write it as name=weight,name=weight (for example a=0.7,b=0.3)")
        try:
            blend[name] = float(value)
        except ValueError:
            raise StyleError(f"style blend {text!r}: weight {value.strip()!r} of {name!r} is not a number") from None
    return blend


def _finish(weights: np.ndarray, description: str) -> np.ndarray:
    if not np.all(np.isfinite(weights)):  # weights that add up past the float range
        raise StyleError(f"style weights {description} overflow when added; give weights of a sensible size")
    peak = float(weights.max())
    if peak <= 0:
        raise StyleError(f"style weights {description} are all zero; at least one weight must be positive")
    weights = weights / peak  # first, so that their sum cannot overflow (1e308 + 1e308)
    return (weights / weights.sum()).astype(np.float32)


def style_weights(style: StyleSpec, style_names: Sequence[str]) -> np.ndarray:
    """Normalized style weights [N] float32 (sum 1) for a style argument.

    Raises:
      StyleError: the argument does not fit the model's styles (see module docstring).
    """
    n = len(style_names)
    if isinstance(style, str) and "=" in style:
        return style_weights(_parse_blend_text(style), style_names)
    if isinstance(style, (bool, numbers.Integral, str)):
        weights = np.zeros(n, np.float32)
        weights[resolve_style_index(style, style_names)] = 1.0
        return weights
    if isinstance(style, Mapping):
        if not style:
            raise StyleError("style mapping is empty; give at least one {name_or_index: weight}")
        weights = np.zeros(n, np.float64)
        for key, value in style.items():
            index = resolve_style_index(key, style_names)
            weights[index] += _parse_weight(value, f"style {style_names[index]!r}")
        return _finish(weights, str(dict(style)))
    if isinstance(style, (Sequence, np.ndarray)):
        array = np.asarray(style, dtype=object)
        if array.ndim != 1:
            raise StyleError(f"style weights must be a 1-D sequence of {n} numbers, got shape {array.shape}")
        if len(array) != n:
            raise StyleError(f"style weights have length {len(array)}; this model has {n} styles")
        weights = np.array([_parse_weight(v, f"style {i} ({style_names[i]!r})") for i, v in enumerate(array)])
        return _finish(weights, "given as a sequence")
    raise StyleError(
        f"style of type {type(style).__name__} is not understood; use an index, a name, "
        "'name=w,name=w', a mapping {name: weight} or a sequence of weights")
