"""A dataset stylized on Apache Beam: inputs from folders, globs or list files of URIs (any filesystem Beam
reads: local, gs://, s3://, hdfs://), one output per input, a manifest that lets a rerun skip finished work.
Runs on Beam's local runner here and on Dataflow, Flink or Spark with their pipeline options.

Each worker loads the runtime model once (Beam's RunInference) and never starts TensorFlow; an input that
cannot be read or stylized is a ``failed`` record in the manifest, never the end of the job.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import posixpath
import time
import types
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cin_style.errors import ImageError, MissingExtra
from cin_style.files.images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, image_bytes, load_image_bytes
from cin_style.dataset.plan import MANIFEST_PATTERN, latest_records, plan_jobs

__all__ = ["DatasetOptions", "import_beam", "list_inputs", "finished_inputs", "stylize_dataset", "DATASET_EXTRA"]

DATASET_EXTRA = "pip install 'cin-style[dataset]'"

#: Input files larger than this are refused before they are read into memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024


def import_beam() -> types.ModuleType:
    """``apache_beam``, imported without its start-up warnings about cloud clients it does not need, or
    MissingExtra naming the extra."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import apache_beam
    except ImportError as exc:
        raise MissingExtra(f"dataset needs Apache Beam, which the plain install leaves out: {DATASET_EXTRA}") from exc
    finally:
        root.setLevel(level)
    return apache_beam


class _BeamNoise(logging.Filter):
    """Drops RunInference's warning, per batch, that it cannot measure memory (it imports its model manager
    beside the ``resource`` module and loses both when the manager's optional dependencies are missing)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Resource module is not available")


@dataclasses.dataclass(frozen=True)
class DatasetOptions:
    """How every input is stylized and written (the same for all workers)."""

    tflite_model: str | None = None  # None: the bundled runtime model
    num_threads: int | None = None
    strength: float = 1.0
    preserve_color: bool = False
    style_scale: float | str = "auto"
    max_pixels: int = DEFAULT_MAX_PIXELS
    quality: int = 95


def list_inputs(sources: Sequence[str]) -> list[str]:
    """Input URIs from ``sources``: a folder (its images, recursively), a ``.txt`` list file (one path or URI a
    line; ``#`` comments), or a file, glob or URI. Sorted, without duplicates.

    Raises:
      ImageError: a source that matches nothing.
    """
    import_beam()
    from apache_beam.io.filesystems import FileSystems

    found: list[str] = []
    for source in sources:
        if source.endswith(".txt"):
            with FileSystems.open(source) as handle:
                lines = handle.read().decode("utf-8", errors="replace").splitlines()
            found.extend(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
            continue
        pattern = source.rstrip("/") + "/**" if _is_folder(source) else source
        matched = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
        if pattern.endswith("/**"):
            matched = [p for p in matched if p.lower().endswith(IMAGE_EXTENSIONS)
                       and not any(part.startswith(".") for part in p.split("/"))]
        if not matched:
            raise ImageError(f"{source}: matches no {'images' if pattern.endswith('/**') else 'files'}")
        found.extend(matched)
    return sorted(dict.fromkeys(found))


def _is_folder(source: str) -> bool:
    import os

    return os.path.isdir(source) or (("://" in source) and source.endswith("/"))


def finished_inputs(output_dir: str) -> tuple[set[str], set[str], dict[str, dict]]:
    """What earlier runs left in ``output_dir``: (inputs done with their output present, every file present,
    the counting record per input)."""
    import_beam()
    from apache_beam.io.filesystems import FileSystems

    root = output_dir.rstrip("/")
    present = {m.path for m in FileSystems.match([root + "/**"])[0].metadata_list}
    records = latest_records(_lines_of(posixpath.join(root, MANIFEST_PATTERN)))
    done = {uri for uri, r in records.items() if r.get("status") == "done" and r.get("output") in present}
    return done, present, records


def stylize_job(stylizer: Any, job: dict, options: DatasetOptions) -> dict:
    """Stylizes one job's input into its output (written under a temporary name, then renamed); the manifest
    record, with the error where it failed. Never raises for a bad input."""
    from apache_beam.io.filesystems import FileSystems

    start = time.perf_counter()
    record = {**job, "status": "failed", "error": None}
    temporary = None
    try:
        sizes = FileSystems.match([job["input"]])[0].metadata_list
        if not sizes:
            raise ImageError(f"{job['input']}: no such file")
        if sizes[0].size_in_bytes > MAX_INPUT_BYTES:
            raise ImageError(f"{job['input']}: {sizes[0].size_in_bytes} bytes is more than an image input may "
                             f"have ({MAX_INPUT_BYTES})")
        with FileSystems.open(job["input"]) as handle:
            loaded = load_image_bytes(handle.read(), job["input"], options.max_pixels)
        picture = stylizer.stylize(loaded, job["style"], strength=options.strength,
                                   preserve_color=options.preserve_color, style_scale=options.style_scale)
        data = image_bytes(picture, posixpath.splitext(job["output"])[1], options.quality)
        temporary = f"{job['output']}.{uuid.uuid4().hex[:8]}.partial"
        with FileSystems.create(temporary) as handle:
            handle.write(data)
        FileSystems.rename([temporary], [job["output"]])
        temporary = None
        record["status"] = "done"
    except Exception as exc:  # noqa: BLE001 - a bad input is a record, never the end of the job
        record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        if temporary is not None:
            try:
                FileSystems.delete([temporary])
            except Exception:  # noqa: BLE001 - nothing was written, or it is already gone
                pass
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def _handler(options: DatasetOptions):
    import_beam()
    from apache_beam.ml.inference.base import ModelHandler

    class StylizeHandler(ModelHandler):
        """RunInference's model handler: the runtime model, loaded once per worker; one image at a time
        (inputs differ in size)."""

        def load_model(self):
            from cin_style.stylization.tflite_backend import TFLiteStylizer

            return TFLiteStylizer(options.tflite_model, num_threads=options.num_threads,
                                  max_pixels=options.max_pixels)

        def run_inference(self, batch, model, inference_args=None):
            return [stylize_job(model, job, options) for job in batch]

        def batch_elements_kwargs(self):
            return {"max_batch_size": 1}

    return StylizeHandler()


def stylize_dataset(inputs: Sequence[str], output_dir: str, style_of: Callable[[str], dict[str, float]],
                    extension: str = ".jpg", options: DatasetOptions = DatasetOptions(),
                    pipeline_args: Iterable[str] = (), overwrite: bool = False) -> dict:
    """Stylizes ``inputs`` into ``output_dir`` on Beam; returns a summary.

    Args:
      inputs: input URIs (:func:`list_inputs`).
      output_dir: the output folder or URI; outputs mirror the inputs' tree below their common folder, and
        the run's manifest lands there as ``manifest-<run>-*.jsonl``.
      style_of: input URI -> style weights by name (:func:`cin_style.dataset.plan.fixed_style`,
        :func:`cin_style.dataset.plan.random_style`).
      options: how each image is stylized and written.
      pipeline_args: Beam pipeline options (``--runner=DataflowRunner --project=...``; default: the local
        DirectRunner).
      overwrite: replace files in ``output_dir`` that no manifest records as this run's outputs; otherwise
        such an input fails with "exists".

    Returns:
      ``{"run", "manifest", "inputs", "skipped", "done", "failed", "seconds"}``.
    """
    beam = import_beam()
    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    start = time.perf_counter()
    done, present, records = finished_inputs(output_dir)
    earlier_outputs = {r.get("output") for r in records.values()}
    inputs = [uri for uri in inputs if uri not in earlier_outputs]  # earlier outputs inside an input folder
    jobs, skipped = plan_jobs(inputs, output_dir, extension, style_of, done)
    inputs_set = set(inputs)
    refused = []
    runnable = []
    for job in jobs:
        if job.output in inputs_set:
            refused.append({**job.as_dict(), "status": "failed", "error": "the output would replace an input"})
        elif job.output in present and not overwrite:
            refused.append({**job.as_dict(), "status": "failed",
                            "error": "the output file exists and no manifest records it (pass --overwrite)"})
        else:
            runnable.append(job.as_dict())
    run = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    prefix = posixpath.join(output_dir.rstrip("/"), f"manifest-{run}")
    noise = _BeamNoise()
    logging.getLogger().addFilter(noise)
    try:
        with beam.Pipeline(options=PipelineOptions(list(pipeline_args))) as pipeline:
            stylized = (pipeline | "inputs" >> beam.Create(runnable) | "spread" >> beam.Reshuffle()
                        | "stylize" >> RunInference(_handler(options)))
            refusals = pipeline | "refused" >> beam.Create(refused)
            ((stylized, refusals) | "records" >> beam.Flatten() | "json" >> beam.Map(json.dumps)
             | "manifest" >> beam.io.WriteToText(prefix, file_name_suffix=".jsonl"))
    finally:
        logging.getLogger().removeFilter(noise)
    this_run = [json.loads(line) for line in _lines_of(prefix + "-*.jsonl") if line.strip()]
    failures = [{"input": r["input"], "error": r["error"]} for r in this_run if r["status"] != "done"]
    return {"run": run, "manifest": prefix + "-*.jsonl", "inputs": len(inputs), "skipped": len(skipped),
            "done": len(this_run) - len(failures), "failed": len(failures), "failures": failures,
            "seconds": round(time.perf_counter() - start, 2)}


def _lines_of(pattern: str) -> list[str]:
    """The lines of every file matching ``pattern`` (any Beam filesystem)."""
    from apache_beam.io.filesystems import FileSystems

    lines: list[str] = []
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(metadata.path) as handle:
            lines.extend(handle.read().decode("utf-8", errors="replace").splitlines())
    return lines
