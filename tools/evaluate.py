#!/usr/bin/env python3
"""Evaluate a model per style: perceptual losses of its outputs and the ratio to Gatys-100.

Example:
  python tools/evaluate.py --content_dir photos/ --style_dir assets/styles --max_images 20 \
      --gatys_images 2 --json eval.json --markdown eval.md
"""

import json
import os
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model directory (default: the bundled model).")
flags.DEFINE_string("content_dir", None, "Folder of evaluation photos.")
flags.DEFINE_string("style_dir", None, "Folder of the styles' source images (default: assets/styles beside "
                    "this tool).")
flags.DEFINE_integer("max_images", None, "Use at most this many photos (sorted by name).")
flags.DEFINE_integer("size", 256, "Photos are center-cropped to size x size.")
flags.DEFINE_integer("short_side", None, "Resize photos to this short side before the center crop (default: "
                     "--size, the whole short side; training's --photo_short_side zooms in the same way).")
flags.DEFINE_integer("gatys_images", 2, "Photos per style that also get the Gatys reference (0: none).")
flags.DEFINE_integer("gatys_iterations", 100, "L-BFGS iterations of the reference.")
flags.DEFINE_enum("gatys_init", "photo", ["photo", "noise"], "Where the reference's optimization starts: the "
                  "photo, or uniform white noise (Gatys et al.'s start).")
flags.DEFINE_list("styles", None, "Evaluate only these styles.")
flags.DEFINE_string("gatys_cache", None, "JSON file of Gatys reference losses (keyed by photo, style, iterations "
                    "and loss configuration): read if present, extended after each style. The reference does not "
                    "depend on the model, so scoring successive checkpoints pays for L-BFGS once.")
flags.DEFINE_string("tflite", None, "Also measure this .tflite model's fidelity (PSNR, SSIM) to the float model.")
flags.DEFINE_integer("tflite_size", 512, "Crop size of the TFLite fidelity measurement.")
flags.DEFINE_integer("tflite_images", None, "Photos for the fidelity measurement (default: all selected).")
flags.DEFINE_string("json", None, "Write the report as JSON here.")
flags.DEFINE_string("markdown", None, "Write a Markdown summary here.")


def _load_cache(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            cache = json.load(handle)
    except (OSError, ValueError) as exc:
        raise app.UsageError(f"--gatys_cache {path} is not a readable JSON file: {exc}")
    if not isinstance(cache, dict) or not all(_is_reference(v) for v in cache.values()):
        raise app.UsageError(f"--gatys_cache {path} must hold a JSON object of reference losses (numbers, or "
                             "objects with a numeric 'total' and a list 'curve')")
    return cache


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_reference(value) -> bool:
    if isinstance(value, dict):
        curve = value.get("curve", [])
        return _is_number(value.get("total")) and isinstance(curve, list) and all(map(_is_number, curve))
    return _is_number(value)


def _save_text(path, text: str, suffix: str):
    from cin_style.files.atomic import atomic_write

    with atomic_write(path, suffix) as handle:
        handle.write(text.encode("utf-8"))


def _save_json(path, data):
    _save_text(path, json.dumps(data, indent=2), ".json")


def main(argv):
    del argv
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    from cin_style.files.folders import find_images
    from cin_style.quality.evaluation import evaluate_model, markdown_summary
    from cin_style.stylization.tf_backend import Stylizer

    if not FLAGS.content_dir:
        raise app.UsageError("--content_dir is required")
    photos = find_images(FLAGS.content_dir)[: FLAGS.max_images]
    style_dir = FLAGS.style_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "styles")
    stylizer = Stylizer(FLAGS.model)
    cache = _load_cache(FLAGS.gatys_cache) if FLAGS.gatys_cache else None

    def log(line):
        print(line, file=sys.stderr, flush=True)
        if cache is not None:  # each style's references are saved as soon as they exist
            _save_json(FLAGS.gatys_cache, cache)

    report = evaluate_model(stylizer, photos, style_dir, size=FLAGS.size, short_side=FLAGS.short_side,
                            gatys_images=FLAGS.gatys_images, gatys_iterations=FLAGS.gatys_iterations,
                            gatys_init=FLAGS.gatys_init, styles=FLAGS.styles, reference_cache=cache, log=log)
    if FLAGS.tflite:
        from cin_style.quality.evaluation import tflite_fidelity
        from cin_style.stylization.tflite_backend import TFLiteStylizer

        report["tflite"] = tflite_fidelity(stylizer, TFLiteStylizer(FLAGS.tflite, num_threads=2),
                                           photos[: FLAGS.tflite_images], size=FLAGS.tflite_size,
                                           styles=FLAGS.styles,
                                           log=lambda line: print(line, file=sys.stderr, flush=True))
        report["tflite"]["model"] = FLAGS.tflite
    if FLAGS.json:
        _save_json(FLAGS.json, report)
    summary = markdown_summary(report)
    if FLAGS.markdown:
        _save_text(FLAGS.markdown, summary, ".md")
    print(summary)


if __name__ == "__main__":
    app.run(main)
