"""What a dataset run does, before any engine starts: one job per input (where its output goes, which style),
minus what earlier runs' manifests record as done; and the manifest's records. No Beam here.

A manifest is JSON Lines files ``manifest-<run>-*.jsonl`` in the output folder, one record per input tried:
``{"input", "output", "style": {name: weight}, "status": "done" | "failed", "error", "seconds"}``. A rerun skips
inputs with a ``done`` record whose output exists, and tries the rest again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import posixpath
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from cin_style.model.styles import StyleSpec, style_weights

__all__ = ["Job", "plan_jobs", "relative_names", "random_style", "fixed_style", "latest_records", "MANIFEST_PATTERN",
           "summarize"]

#: The manifest files of every run in an output folder (glob, relative to the folder).
MANIFEST_PATTERN = "manifest-*.jsonl"


@dataclasses.dataclass(frozen=True)
class Job:
    """One input to stylize: where it is and goes (paths or URIs) and its style (weights by name, summing to 1)."""

    input: str
    output: str
    style: dict[str, float]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def relative_names(inputs: Sequence[str]) -> list[str]:
    """Each input's path below the deepest folder all inputs share (``/`` separated; URIs keep their scheme
    out of it): the output tree mirrors the input tree."""
    if not inputs:
        return []
    parts = [uri.replace("\\", "/").split("/") for uri in inputs]
    common = 0
    shortest = min(len(p) for p in parts) - 1  # the file name itself is never part of the common folder
    while common < shortest and all(p[common] == parts[0][common] for p in parts):
        common += 1
    return ["/".join(p[common:]) for p in parts]


def _weights_by_name(weights: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    return {name: round(float(w), 6) for name, w in zip(names, weights) if w > 0}


def fixed_style(style: StyleSpec, names: Sequence[str]) -> dict[str, float]:
    """The weights (by name, summing to 1) of one style argument for every input."""
    return _weights_by_name(style_weights(style, names), names)


def random_style(uri: str, names: Sequence[str], seed: int, pool: Sequence[str] | None = None) -> dict[str, float]:
    """One style for ``uri``, drawn from ``pool`` (default: every style) by ``seed`` and the input alone: the
    same input gets the same style in every run, on every worker, whatever the order."""
    choices = list(pool) if pool else list(names)
    digest = hashlib.sha256(f"{seed}\0{uri}".encode()).digest()
    pick = choices[int.from_bytes(digest[:8], "big") % len(choices)]
    return {pick: 1.0}


def plan_jobs(inputs: Sequence[str], output_dir: str, extension: str, style_of: Callable[[str], dict[str, float]],
              done: Iterable[str] = ()) -> tuple[list[Job], list[str]]:
    """Jobs for ``inputs`` not in ``done``; returns (jobs, skipped inputs).

    Args:
      inputs: input paths or URIs (their relative names below their common folder name the outputs, with the
        extension replaced, or kept before the new one where two inputs differ only in it).
      output_dir: the output folder (a path or URI).
      extension: the outputs' file extension (``.jpg``, ``.png``, ...).
      style_of: input -> its style weights by name (:func:`fixed_style` or :func:`random_style`).
      done: inputs whose output exists and a manifest records as done.
    """
    finished = set(done)
    names = relative_names(inputs)
    stems = [posixpath.splitext(name)[0] for name in names]
    clashing = {stem for stem, count in Counter(stems).items() if count > 1}  # photo.jpg and photo.png: keep both
    jobs, skipped = [], []
    for uri, name, stem in zip(inputs, names, stems):
        if uri in finished:
            skipped.append(uri)
            continue
        output = posixpath.join(output_dir.rstrip("/"), (name if stem in clashing else stem) + extension)
        jobs.append(Job(uri, output, style_of(uri)))
    return jobs, skipped


def latest_records(lines: Iterable[str]) -> dict[str, dict]:
    """The record that counts per input from manifest lines (any order of runs): a ``done`` one wins over
    ``failed`` ones; unreadable lines (a run killed while writing) are ignored."""
    records: dict[str, dict] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("input"), str):
            continue
        previous = records.get(record["input"])
        if previous is None or previous.get("status") != "done":
            records[record["input"]] = record
    return records


def summarize(records: Iterable[dict]) -> dict[str, int]:
    """Counts by status."""
    counts: dict[str, int] = {}
    for record in records:
        counts[record.get("status", "unknown")] = counts.get(record.get("status", "unknown"), 0) + 1
    return counts
