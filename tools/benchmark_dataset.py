#!/usr/bin/env python3
"""`cin-style dataset` on Beam's local runner against the plain CLI on the same folder, in one run: process
start to last file written, rounds interleaved, medians.

Variants: `cin-style stylize FOLDER` (one process, the runtime on every core); `cin-style dataset FOLDER`
(DirectRunner, one worker, the runtime on every core); and the dataset job with N single-threaded worker
processes (`--threads 1 --pipeline-options '--direct_num_workers=N --direct_running_mode=multi_processing'`).

Example:
  python tools/benchmark_dataset.py --photos /data/photos --count 24 --rounds 3 --json docs/benchmarks/dataset.json
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("photos", None, "Folder of photos (the first --count, resized to --size on the long side).")
flags.DEFINE_integer("count", 24, "Photos in the benchmark folder.")
flags.DEFINE_integer("size", 512, "Long side of each photo, pixels.")
flags.DEFINE_integer("rounds", 3, "Interleaved rounds.")
flags.DEFINE_integer("workers", os.cpu_count() or 1, "Worker processes of the multi-process variant.")
flags.DEFINE_string("style", "udnie", "Style.")
flags.DEFINE_string("json", None, "Write the figures here.")


def _prepare(folder: str) -> None:
    from PIL import Image

    from cin_style.files.folders import find_images

    for index, path in enumerate(find_images(FLAGS.photos)[: FLAGS.count]):
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((FLAGS.size, FLAGS.size))
            image.save(os.path.join(folder, f"{index:04d}.jpg"), quality=92)


def main(argv):
    del argv
    if not FLAGS.photos:
        raise app.UsageError("--photos is required")
    cli = os.path.join(os.path.dirname(sys.executable), "cin-style")
    work = tempfile.mkdtemp(prefix="cin-style-dataset-bench-")
    photos = os.path.join(work, "photos")
    os.makedirs(photos)
    _prepare(photos)
    variants = {
        "cli stylize": lambda out: [cli, "stylize", photos, "--style", FLAGS.style, "--out-dir", out],
        "dataset, 1 worker": lambda out: [cli, "dataset", photos, "--style", FLAGS.style, "-o", out],
        f"dataset, {FLAGS.workers} worker processes x 1 thread": lambda out: [
            cli, "dataset", photos, "--style", FLAGS.style, "-o", out, "--threads", "1", "--pipeline-options",
            f"--direct_num_workers={FLAGS.workers} --direct_running_mode=multi_processing"],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for round_index in range(FLAGS.rounds):
        for name, command in variants.items():
            out = os.path.join(work, f"out-{round_index}-{len(times[name])}-{abs(hash(name))}")
            start = time.perf_counter()
            result = subprocess.run(command(out), capture_output=True, text=True)
            seconds = time.perf_counter() - start
            written = sum(1 for _, _, files in os.walk(out) for f in files if f.endswith(".jpg"))
            if result.returncode != 0 or written != FLAGS.count:
                print(result.stdout[-2000:], result.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{name}: exit {result.returncode}, {written} outputs")
            times[name].append(seconds)
            print(f"round {round_index + 1} {name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    base = statistics.median(times["cli stylize"])
    rows = [{"variant": name, "median_s": statistics.median(t), "images_per_s": FLAGS.count / statistics.median(t),
             "cli_over_this": base / statistics.median(t), "runs_s": t} for name, t in times.items()]
    for row in rows:
        print(f"{row['variant']}: median {row['median_s']:.1f} s, {row['images_per_s']:.2f} images/s, "
              f"CLI time / this {row['cli_over_this']:.2f}")
    report = {"machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
              "photos": FLAGS.count, "long_side": FLAGS.size, "rounds": FLAGS.rounds, "rows": rows}
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    app.run(main)
