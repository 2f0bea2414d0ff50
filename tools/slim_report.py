#!/usr/bin/env python3
"""The slim models' trade-off table: size, speed and quality against the full model.

For the full model and each variant: conv parameters, the int8 TFLite file (exported here, with
calibration photos) and its gzip size, latency of TF float and TFLite int8 at each size (median of
repeated runs in separate processes, via tools/benchmark.py), the total perceptual loss on
evaluation photos relative to the full model's, and PSNR of the variant's output against the full
model's output.

Example:
  python tools/slim_report.py --variants slim_a050=runs/slim_a050/model,slim_a025_r3=runs/slim_a025/model \\
      --content_dir photos/eval --calibration_dir photos/train --json docs/benchmarks/slim.json \\
      --markdown docs/benchmarks/slim.md
"""

import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("full", None, "The full model (default: the bundled model).")
flags.DEFINE_list("variants", [], "Slim models to compare, as name=model_dir.")
flags.DEFINE_string("content_dir", None, "Evaluation photos (loss and PSNR).")
flags.DEFINE_integer("max_images", 8, "At most this many evaluation photos.")
flags.DEFINE_string("calibration_dir", None, "Photos for int8 calibration (not the evaluation photos).")
flags.DEFINE_integer("calibration_images", 8, "Calibration photos (each crossed with every style).")
flags.DEFINE_list("sizes", ["512", "1024"], "Square image sides for latency.")
flags.DEFINE_integer("repeats", 5, "Timed runs per latency figure.")
flags.DEFINE_integer("psnr_size", 512, "Crop side of the PSNR comparison.")
flags.DEFINE_list("quality_only", [], "Variants measured for loss and PSNR only (same architecture as another "
                  "row, for example a from-scratch baseline).")
flags.DEFINE_list("int8_files", [], "Already exported int8 models to time instead of exporting again, as "
                  "name=FILE.tflite (for example full=full_int8.tflite).")
flags.DEFINE_string("json", None, "Write the results as JSON here.")
flags.DEFINE_string("markdown", None, "Write the Markdown table here.")

_BENCHMARK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmark.py")


def _photos(folder, limit):
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png", ".webp")))
    return [os.path.join(folder, n) for n in names[:limit]]


def _latency_ms(backend, variant, size, path):
    command = [sys.executable, _BENCHMARK, f"--single={backend}:{variant}:{size}:{path}",
               f"--repeats={FLAGS.repeats}"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"latency {backend} {variant} {size}: {result.stderr[-1500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["median_ms"]


def main(argv):
    del argv
    if not FLAGS.content_dir or not FLAGS.calibration_dir:
        raise app.UsageError("--content_dir and --calibration_dir are required")
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    from benchmarking import matmul_peak_gflops
    from cin_style.quality.evaluation import evaluate_model, tflite_fidelity
    from cin_style.export.tflite import export_tflite, representative_images
    from cin_style.slim.prune import describe
    from cin_style.stylization.tf_backend import Stylizer

    style_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "styles")
    photos = _photos(FLAGS.content_dir, FLAGS.max_images)
    calibration = _photos(FLAGS.calibration_dir, FLAGS.calibration_images)
    full = Stylizer(FLAGS.full)
    models = [("full", FLAGS.full or "", full)]
    for item in FLAGS.variants:
        name, _, path = item.partition("=")
        if not path:
            raise app.UsageError(f"--variants takes name=model_dir, got {item!r}")
        models.append((name, path, Stylizer(path)))
    given_int8 = {}
    for item in FLAGS.int8_files:
        name, _, path = item.partition("=")
        if not path or not os.path.isfile(path):
            raise app.UsageError(f"--int8_files takes name=FILE.tflite of an existing file, got {item!r}")
        given_int8[name] = path
    report = {"machine": {"fp32_matmul_gflops": matmul_peak_gflops()}, "photos": len(photos), "models": {}}
    full_loss = None
    with tempfile.TemporaryDirectory() as scratch:
        for name, path, stylizer in models:
            log = lambda line, name=name: print(f"[{name}] {line}", file=sys.stderr, flush=True)  # noqa: E731
            row = describe(stylizer.model)
            losses = evaluate_model(stylizer, photos, style_dir, gatys_images=0, log=log)["styles"]
            row["total_loss"] = statistics.mean(r["total_loss"] for r in losses.values())
            full_loss = full_loss or row["total_loss"]
            row["total_loss_vs_full"] = row["total_loss"] / full_loss
            if name != "full":
                fidelity = tflite_fidelity(full, stylizer, photos, size=FLAGS.psnr_size, log=log)
                row["psnr_vs_full_db"] = fidelity["median_psnr"]
            if name in FLAGS.quality_only:
                report["models"][name] = row
                continue
            int8_path = given_int8.get(name) or os.path.join(scratch, f"{name}_int8.tflite")
            if name not in given_int8:
                export_tflite(stylizer.model, int8_path, "int8",
                              representative=representative_images(calibration, stylizer.model.num_styles))
            with open(int8_path, "rb") as handle:
                content = handle.read()
            row["int8_bytes"] = len(content)
            row["int8_gzip_bytes"] = len(gzip.compress(content, 9))
            row["latency_ms"] = {}
            for size in FLAGS.sizes:
                row["latency_ms"][size] = {"tf_float": _latency_ms("tf", name, size, path),
                                           "tflite_int8": _latency_ms("tflite", "int8", size, int8_path)}
                log(f"{size} px: {row['latency_ms'][size]}")
            report["models"][name] = row
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    text = markdown(report)
    print(text)
    if FLAGS.markdown:
        with open(FLAGS.markdown, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")


def markdown(report):
    timed_rows = [r for r in report["models"].values() if "latency_ms" in r]
    sizes = list(timed_rows[0]["latency_ms"]) if timed_rows else []
    head = ["model", "alpha", "blocks", "conv params", "int8 KB", "int8 gzip KB"]
    head += [f"TF float {s} ms" for s in sizes] + [f"int8 {s} ms" for s in sizes]
    head += ["loss vs full", "PSNR vs full dB"]
    lines = [f"fp32 matmul peak measured in the same run: {report['machine']['fp32_matmul_gflops']:.0f} GFLOP/s; "
             f"{report['photos']} evaluation photos x every style.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in report["models"].items():
        arch = r["architecture"]
        timed = "latency_ms" in r
        cells = [name, f"{arch['alpha']:g}", str(arch["num_residual_blocks"]), f"{r['conv_parameters']:,}",
                 f"{r['int8_bytes'] / 1024:.0f}" if timed else "-",
                 f"{r['int8_gzip_bytes'] / 1024:.0f}" if timed else "-"]
        cells += [f"{r['latency_ms'][s]['tf_float']:.0f}" if timed else "-" for s in sizes]
        cells += [f"{r['latency_ms'][s]['tflite_int8']:.0f}" if timed else "-" for s in sizes]
        cells += [f"{r['total_loss_vs_full']:.2f}", f"{r['psnr_vs_full_db']:.1f}" if "psnr_vs_full_db" in r else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
