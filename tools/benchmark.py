#!/usr/bin/env python3
"""Speed benchmarks: training throughput and inference latency, against the machine's own peak.

Every figure is a median over repeated runs after warm-up, printed beside the fp32 matmul
peak measured in the same run, so results from a shared, noisy machine stay comparable.

Examples:
  python tools/benchmark.py --what train --json bench_train.json
  python tools/benchmark.py --what inference --sizes 256,512,1024,2048 --json bench_inference.json
  python tools/benchmark.py --what interleaved --sizes 1024 --repeats 11 --tflite a=a.tflite,b=b.tflite
"""

import json
import os
import subprocess
import sys
import tempfile

from absl import app, flags

FLAGS = flags.FLAGS
MATMUL_N = 2048  # the interleaved rounds' fp32 matmul (17 GFLOP)
flags.DEFINE_enum("what", "all", ["train", "precision", "inference", "interleaved", "large", "all"],
                  "What to measure: training speed, bf16-vs-fp32 loss after equal steps, inference latency "
                  "(each figure in its own process, with its peak memory), interleaved (the TF model and every "
                  "--tflite file in one process, timed in turn each round: ratios robust to a changing load), "
                  "a large tiled image.")
flags.DEFINE_string("large_size", "6000x4000", "WxH of the large-image benchmark (tiled stylization).")
flags.DEFINE_list("large_backends", ["tf", "tflite"], "Backends of the large-image benchmark, each in its own "
                  "process: tf (TensorFlow float tiles) and tflite (the runtime: its tiles file, float16 weights; "
                  "no TensorFlow in that process).")
flags.DEFINE_integer("precision_steps", 300, "Steps of the bf16-vs-fp32 comparison.")
flags.DEFINE_integer("precision_eval_crops", 32, "Held-out 128 px crops that score the bf16-vs-fp32 comparison.")
flags.DEFINE_string("content_dir", None, "Training photos of the bf16-vs-fp32 comparison (default: synthetic noise).")
flags.DEFINE_string("eval_dir", None, "Held-out photos that score the bf16-vs-fp32 comparison (default: "
                    "--content_dir).")
flags.DEFINE_string("json", None, "Write the results as JSON here.")
flags.DEFINE_string("markdown", None, "Write a Markdown table here.")
flags.DEFINE_string("model", None, "Model directory for inference (default: the bundled model, or a random "
                    "full-size 16-style network when none is installed).")
flags.DEFINE_list("tflite", [], "TFLite files to time as well, as variant=path (e.g. int8=model_int8.tflite).")
flags.DEFINE_list("sizes", ["256", "512", "1024", "2048"], "Square image sides for inference.")
flags.DEFINE_integer("repeats", 5, "Timed runs per figure (the median is reported); rounds for interleaved.")
flags.DEFINE_integer("threads", 2, "Threads for TensorFlow and LiteRT.")
flags.DEFINE_integer("train_steps", 6, "Timed training steps per precision.")
flags.DEFINE_list("precisions", ["float32", "mixed_bfloat16"], "Training precisions to measure.")
flags.DEFINE_string("single", None, "Internal: run one inference figure (backend:variant:size:path) and print JSON.")


def _configure_threads():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def _machine():
    from benchmarking import matmul_peak_gflops
    from cin_style.train.hardware import bfloat16_training_pays
    return {"fp32_matmul_gflops": matmul_peak_gflops(), "cpu_count": os.cpu_count(), "threads": FLAGS.threads,
            "bfloat16_training_pays": bfloat16_training_pays()}


def _synthetic_training_data(root):
    import numpy as np
    from PIL import Image

    photos = os.path.join(root, "photos")
    os.makedirs(photos)
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (300, 320, 3), np.uint8)).save(os.path.join(photos, f"{i}.png"))
    styles_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "styles")
    styles = [os.path.join(styles_dir, name) for name in ("starry_night.jpg", "great_wave.jpg")]
    return photos, styles


def bench_train(peak):
    """Images/s of the real training step (full network, VGG16 to conv4_3, 256 px, batch 4)."""
    import tensorflow as tf

    from benchmarking import median_time_s, train_step_gflops_per_image
    from cin_style.model.architecture import Architecture
    from cin_style.train.trainer import TrainConfig, Trainer

    gflop = train_step_gflops_per_image(Architecture(16), 256)
    results = {"size": 256, "batch_size": 4, "gflop_per_image": gflop, "by_precision": {}}
    with tempfile.TemporaryDirectory() as root:
        photos, styles = _synthetic_training_data(root)
        for precision in FLAGS.precisions:
            config = TrainConfig(content_dir=photos, style_images=styles, output_dir=os.path.join(root, precision),
                                 image_size=256, batch_size=4, precision=precision)
            trainer = Trainer(config, log=lambda line: None)
            images = tf.random.stateless_uniform([4, 256, 256, 3], [0, 1])
            style_index = tf.constant([0, 1, 0, 1])
            step = trainer._make_step()
            seconds = median_time_s(lambda: step(images, style_index)[0]["total"].numpy(),
                                    repeats=FLAGS.train_steps, warmup=2)
            rate = 4 / seconds
            results["by_precision"][precision] = {
                "images_per_s": rate, "gflops": rate * gflop, "fraction_of_fp32_peak": rate * gflop / peak}
            print(f"train {precision}: {rate:.2f} images/s, {rate * gflop:.0f} GFLOP/s = "
                  f"{rate * gflop / peak:.0%} of the fp32 matmul peak", file=sys.stderr, flush=True)
    # The headline is the precision training uses by default here (--precision auto).
    from cin_style.train.hardware import bfloat16_training_pays
    default = "mixed_bfloat16" if bfloat16_training_pays() else "float32"
    if default not in results["by_precision"]:
        default = next(iter(results["by_precision"]))
    results.update({"default_precision": default, "images_per_s": results["by_precision"][default]["images_per_s"]})
    results["fraction_of_fp32_peak"] = results["images_per_s"] * gflop / peak
    return results


def _train(photos, styles, root, name, precision, seed):
    """Trains ``precision`` for --precision_steps; returns the Trainer and its saved model (float32)."""
    import tensorflow as tf

    from cin_style.model.format import load_model
    from cin_style.train.trainer import TrainConfig, Trainer

    config = TrainConfig(content_dir=photos, style_images=styles, output_dir=os.path.join(root, name),
                         image_size=128, batch_size=4, num_steps=FLAGS.precision_steps, precision=precision,
                         seed=seed, checkpoint_every=10**6, sample_every=0, log_every=10**6)
    trainer = Trainer(config, log=lambda line: None)
    trainer.run()
    tf.keras.mixed_precision.set_global_policy("float32")
    return trainer, load_model(os.path.join(config.output_dir, "model"))


def _score(model, scorer, eval_images):
    """Loss terms of ``model`` on ``eval_images`` averaged over its styles, by the float32 ``scorer``."""
    import tensorflow as tf

    count = int(eval_images.shape[0])
    content_features = scorer.loss.content_features(eval_images)
    sums = {}
    for style in range(model.num_styles):
        index = tf.fill([count], style)
        outputs = model.network([eval_images, tf.one_hot(index, model.num_styles)])
        targets = {k: tf.gather(v, index) for k, v in scorer.style_targets.items()}
        total, terms = scorer.loss(outputs, content_features, targets)
        for k, v in dict(terms, total=total).items():
            sums[k] = sums.get(k, 0.0) + float(v) / model.num_styles
    return sums


def bench_precision():
    """bf16 against fp32 after equal steps on the same photos from the same initialisation (full network,
    128 px, batch 4, same seed), scored on held-out crops by the saved float32 models. A second fp32 run
    with another seed gives the run-to-run spread that any two trainings show, for scale."""
    from cin_style.files.folders import find_images
    from cin_style.train.data import content_dataset

    with tempfile.TemporaryDirectory() as root:
        photos, styles = _synthetic_training_data(root)
        photos = FLAGS.content_dir or photos
        eval_dir = FLAGS.eval_dir or photos
        eval_images, _ = next(iter(content_dataset(find_images(eval_dir), 1, 128, FLAGS.precision_eval_crops,
                                                   seed=123)))
        runs = {"float32": ("float32", 5), "mixed_bfloat16": ("mixed_bfloat16", 5),
                "float32_seed6": ("float32", 6)}
        trained = {name: _train(photos, styles, root, name, precision, seed)
                   for name, (precision, seed) in runs.items()}
        scorer = trained["float32"][0]
        results = {name: _score(model, scorer, eval_images) for name, (_, model) in trained.items()}

    def relative_to_fp32(name):
        return {k: results[name][k] / results["float32"][k] - 1 for k in results["float32"]}

    relative, spread = relative_to_fp32("mixed_bfloat16"), relative_to_fp32("float32_seed6")
    headline = ("total", "content", "style", "tv")
    worst = max(headline, key=lambda k: abs(relative[k]))
    print(f"precision: after {FLAGS.precision_steps} steps, bf16 vs fp32 main loss terms differ by at most "
          f"{relative[worst]:+.1%} ({worst}); total {relative['total']:+.1%}; fp32 with another seed: total "
          f"{spread['total']:+.1%}", file=sys.stderr, flush=True)
    return {"steps": FLAGS.precision_steps, "eval_crops": FLAGS.precision_eval_crops, **results,
            "relative_difference": relative, "fp32_seed_spread": spread,
            "max_abs_relative_difference": abs(relative[worst]), "worst_term": worst}


def _inference_runner(backend, variant, size, path):
    """A callable that stylizes one random size x size image with the given backend, and the
    model's architecture (None for a .tflite without its metadata)."""
    import numpy as np

    image = np.random.default_rng(0).random((size, size, 3), np.float32)
    if backend == "tf":
        from cin_style.model.format import CinModel, StyleInfo
        from cin_style.model.architecture import Architecture
        from cin_style.stylization.tf_backend import Stylizer

        model = path or None
        if variant == "random_full":
            model = CinModel(Architecture(16), [StyleInfo(f"s{i}") for i in range(16)])
        stylizer = Stylizer(model)
        weights = np.eye(stylizer.model.num_styles, dtype=np.float32)[0]
        return (lambda: stylizer.stylize_array(image, weights)), stylizer.model.architecture
    from cin_style.stylization.tflite_backend import TFLiteStylizer

    stylizer = TFLiteStylizer(path, num_threads=FLAGS.threads)
    weights = np.eye(stylizer.num_styles, dtype=np.float32)[0]
    return (lambda: stylizer.stylize_array(image, weights)), stylizer.architecture


def _single(spec):
    """Times one (backend, variant, size) in this process; prints a JSON line."""
    from benchmarking import median_time_s, peak_rss_mb, transform_gflops

    backend, variant, size, path = spec.split(":", 3)
    size = int(size)
    run, arch = _inference_runner(backend, variant, size, path)
    seconds = median_time_s(run, repeats=FLAGS.repeats, warmup=1)
    # A .tflite without its metadata JSON still times; its work in GFLOP is then unknown.
    gflop = transform_gflops(arch, size, size) if arch is not None else None
    print(json.dumps({"backend": backend, "variant": variant, "size": size, "median_ms": seconds * 1e3,
                      "gflop": gflop, "gflops": gflop / seconds if gflop else None, "peak_rss_mb": peak_rss_mb()}))


def bench_interleaved():
    """The TF model and every --tflite file in one process, timed in turn (one run each per
    round, --repeats rounds), with the fp32 matmul peak measured in every round too: medians,
    quartiles and each variant's ratio to the TF model's median, all from the same rounds."""
    import numpy as np

    import tensorflow as tf

    from benchmarking import interleaved_times

    model_variant, model_path = _model_variant()
    rng = np.random.default_rng(0)
    a, b = (tf.constant(rng.random((MATMUL_N, MATMUL_N)), tf.float32) for _ in range(2))
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    matmul = lambda: product().numpy()  # noqa: E731
    rows = []
    for size in (int(s) for s in FLAGS.sizes):
        functions = {("tf", model_variant): _inference_runner("tf", model_variant, size, model_path)[0]}
        for item in FLAGS.tflite:
            variant, _, path = item.partition("=")
            functions[("tflite", variant)] = _inference_runner("tflite", variant, size, path)[0]
        functions[("matmul", "fp32")] = matmul
        times = interleaved_times(functions, rounds=FLAGS.repeats)
        reference = float(np.median(times[("tf", model_variant)]))
        peak = 2 * MATMUL_N ** 3 / float(np.median(times.pop(("matmul", "fp32")))) / 1e9
        print(f"{size}px rounds: fp32 matmul peak {peak:.0f} GFLOP/s", file=sys.stderr, flush=True)
        for (backend, variant), seconds in times.items():
            median = float(np.median(seconds))
            rows.append({"backend": backend, "variant": variant, "size": size, "rounds": FLAGS.repeats,
                         "median_ms": median * 1e3, "quartiles_ms": [float(np.percentile(seconds, q)) * 1e3
                                                                    for q in (25, 75)],
                         "tf_float_over_this": reference / median, "fp32_matmul_gflops_same_rounds": peak})
            print(f"interleaved {backend}/{variant} {size}px: {median * 1e3:.0f} ms, TF float / this "
                  f"{reference / median:.2f}", file=sys.stderr, flush=True)
    return rows


def _large(spec):
    """Stylizes one synthetic WxH photo in tiles in this process (``BACKEND:WxH``); prints a JSON line."""
    import time

    import numpy as np
    from PIL import Image

    from benchmarking import peak_rss_mb

    backend, size = spec.split(":")
    width, height = (int(v) for v in size.split("x"))
    small = (np.random.default_rng(0).random((height // 64, width // 64, 3)) * 255).astype(np.uint8)
    photo = Image.fromarray(small).resize((width, height), Image.BICUBIC)
    tiles = []
    if backend == "tflite":  # the bundled runtime file and its tiles file
        from cin_style.stylization.tflite_backend import TFLiteStylizer

        stylizer = TFLiteStylizer(num_threads=FLAGS.threads or None,
                                  progress=lambda done, total: tiles.append(total))
    else:
        from cin_style.model.architecture import Architecture
        from cin_style.model.format import CinModel, StyleInfo
        from cin_style.stylization.tf_backend import Stylizer

        model = FLAGS.model or None
        if model is None:
            from cin_style.errors import ModelError
            from cin_style.model.bundled import bundled_model_path

            try:
                bundled_model_path()
            except ModelError:
                model = CinModel(Architecture(16), [StyleInfo(f"s{i}") for i in range(16)])
        stylizer = Stylizer(model, progress=lambda done, total: tiles.append(total))
    before = peak_rss_mb()
    start = time.perf_counter()
    result = stylizer.stylize(photo, 0, style_scale=1)  # full resolution: the tiled path
    seconds = time.perf_counter() - start
    assert result.size == (width, height)
    peak = peak_rss_mb()
    start = time.perf_counter()
    assert stylizer.stylize(photo, 0).size == (width, height)  # the default, style_scale="auto"
    seconds_auto = time.perf_counter() - start
    print(json.dumps({"backend": backend, "size": size, "seconds": seconds, "tiles": tiles[-1] if tiles else 1,
                      "peak_rss_mb": peak, "peak_rss_mb_before": before, "seconds_style_scale_auto": seconds_auto}))


def bench_large():
    rows = []
    for backend in FLAGS.large_backends:
        command = [sys.executable, os.path.abspath(__file__), f"--single=large:{backend}:{FLAGS.large_size}",
                   f"--threads={FLAGS.threads}"] + ([f"--model={FLAGS.model}"] if FLAGS.model else [])
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"large image ({backend}): failed\n{result.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"large image {row['size']} ({backend}): {row['seconds']:.0f} s in {row['tiles']} tiles, peak RSS "
              f"{row['peak_rss_mb']:.0f} MB (style_scale 1); {row['seconds_style_scale_auto']:.1f} s with the "
              "default style_scale='auto'", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def _model_variant():
    """The TF model's variant name and path ('' for the bundled one; random weights without it)."""
    if FLAGS.model:
        return os.path.basename(os.path.normpath(FLAGS.model)), FLAGS.model
    from cin_style.errors import ModelError
    from cin_style.model.bundled import bundled_model_path

    try:
        bundled_model_path()
    except ModelError:
        return "random_full", ""
    return "bundled", ""


def bench_inference(peak):
    jobs = []
    model_variant, _ = _model_variant()
    for size in FLAGS.sizes:
        jobs.append(f"tf:{model_variant}:{size}:{FLAGS.model or ''}")
        for item in FLAGS.tflite:
            variant, _, path = item.partition("=")
            jobs.append(f"tflite:{variant}:{size}:{path}")
    rows = []
    for job in jobs:
        command = [sys.executable, os.path.abspath(__file__), f"--single={job}", f"--repeats={FLAGS.repeats}",
                   f"--threads={FLAGS.threads}"]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            print(f"inference {job}: failed\n{result.stderr[-2000:]}", file=sys.stderr)
            continue
        row = json.loads(result.stdout.strip().splitlines()[-1])
        row["fraction_of_fp32_peak"] = row["gflops"] / peak if row["gflops"] else None
        rows.append(row)
        rate = (f"{row['gflops']:.0f} GFLOP/s ({row['fraction_of_fp32_peak']:.0%} of peak)" if row["gflops"]
                else "GFLOP/s unknown (no metadata JSON)")
        print(f"inference {row['backend']}/{row['variant']} {row['size']}px: {row['median_ms']:.0f} ms, {rate}, "
              f"peak RSS {row['peak_rss_mb']:.0f} MB", file=sys.stderr, flush=True)
    return rows


def markdown(report):
    lines = [f"fp32 matmul peak measured in the same run: {report['machine']['fp32_matmul_gflops']:.0f} GFLOP/s "
             f"({report['machine']['threads']} threads).", ""]
    if "train" in report:
        t = report["train"]
        lines += ["| training (256 px, batch 4, full network, VGG16 to conv4_3) | images/s | GFLOP/s | of fp32 peak |",
                  "|---|---|---|---|"]
        for precision, r in t["by_precision"].items():
            lines.append(f"| {precision} | {r['images_per_s']:.2f} | {r['gflops']:.0f} | "
                         f"{r['fraction_of_fp32_peak']:.0%} |")
        lines.append("")
    if "precision" in report:
        p = report["precision"]
        lines += [f"bf16 vs fp32 after {p['steps']} equal steps (same seed, {p['eval_crops']} held-out crops, "
                  "scored in float32):", "",
                  "| loss term | float32 | mixed bfloat16 | bf16 vs fp32 | fp32, other seed, vs fp32 |",
                  "|---|---|---|---|---|"]
        for term, value in p["float32"].items():
            lines.append(f"| {term} | {value:.4g} | {p['mixed_bfloat16'][term]:.4g} | "
                         f"{p['relative_difference'][term]:+.1%} | {p['fp32_seed_spread'][term]:+.1%} |")
        lines.append("")
    for r in report.get("large") or []:
        what = "the runtime's float tiles" if r["backend"] == "tflite" else "TF float tiles"
        lines += [f"Large image {r['size']} at full resolution (style_scale=1, {what}): "
                  f"{r['seconds']:.0f} s, {r['tiles']} tiles, peak RSS {r['peak_rss_mb']:.0f} MB. With the default "
                  f"style_scale='auto' (stylized at 1 MP, resized back): {r['seconds_style_scale_auto']:.1f} s.", ""]
    if "inference" in report:
        lines += ["| backend | variant | size | median ms | GFLOP | of fp32 peak | peak RSS MB |",
                  "|---|---|---|---|---|---|---|"]
        for r in report["inference"]:
            work = (f"{r['gflop']:.1f} | {r['fraction_of_fp32_peak']:.0%}" if r["gflop"] else "- | -")
            lines.append(f"| {r['backend']} | {r['variant']} | {r['size']} | {r['median_ms']:.0f} | {work} | "
                         f"{r['peak_rss_mb']:.0f} |")
    if report.get("interleaved"):
        lines += ["| backend | variant | size | median ms | quartiles ms | TF float / this | fp32 peak, same rounds |",
                  "|---|---|---|---|---|---|---|"]
        for r in report["interleaved"]:
            low, high = r["quartiles_ms"]
            lines.append(f"| {r['backend']} | {r['variant']} | {r['size']} | {r['median_ms']:.0f} | "
                         f"{low:.0f}-{high:.0f} | {r['tf_float_over_this']:.2f} | "
                         f"{r['fp32_matmul_gflops_same_rounds']:.0f} GFLOP/s |")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    if (FLAGS.single or "").startswith("large:tflite:"):  # the runtime's process holds no TensorFlow
        _large(FLAGS.single[len("large:"):])
        return
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    _configure_threads()
    if FLAGS.single:
        if FLAGS.single.startswith("large:"):
            _large(FLAGS.single[len("large:"):])
        else:
            _single(FLAGS.single)
        return
    machine = _machine()
    print(f"fp32 matmul peak: {machine['fp32_matmul_gflops']:.0f} GFLOP/s", file=sys.stderr, flush=True)
    report = {"machine": machine}
    if FLAGS.what in ("train", "all"):
        report["train"] = bench_train(machine["fp32_matmul_gflops"])
    if FLAGS.what in ("precision", "all"):
        report["precision"] = bench_precision()
    if FLAGS.what in ("inference", "all"):
        report["inference"] = bench_inference(machine["fp32_matmul_gflops"])
    if FLAGS.what in ("large", "all"):
        report["large"] = bench_large()
    if FLAGS.what == "interleaved":
        report["interleaved"] = bench_interleaved()
    table = markdown(report)
    if FLAGS.json:
        with open(FLAGS.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2)
    if FLAGS.markdown:
        with open(FLAGS.markdown, "w", encoding="utf-8") as handle:
            handle.write(table)
    print(table)


if __name__ == "__main__":
    app.run(main)
