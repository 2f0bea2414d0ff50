#!/usr/bin/env python3
"""Package a trained model as the bundled default: float16 weights, full style manifest.

Reads titles, artists and years from assets/styles/CREDITS.md, stores the weights as float16
(after checking the outputs barely change) and writes cin_style/pretrained/, then the runtime's
.tflite file of the same weights to cin_style/pretrained_tflite/ (what the plain install runs).

With several comma-separated --model directories (snapshots of one run), the package holds
their weight average (tools/averaging.py). --invert_input flips a model that paints the photo's
negative (tools/polarity.py; check `luminance corr.` in tools/evaluate.py's report).

Example:
  python tools/package_model.py --model runs/bundled/model
  python tools/package_model.py --model snaps/step_12350,snaps/step_12850,snaps/step_13350
"""

import os
import re
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_list("model", None, "Trained model directory, or several snapshots of one run to average.")
flags.DEFINE_string("output", None, "Destination (default: cin_style/pretrained in this checkout).")
flags.DEFINE_bool("invert_input", False, "Negate the first conv so the network sees the photo's negative "
                  "(for a model whose luminance correlation with the photo is negative; tools/polarity.py).")
flags.DEFINE_float("min_psnr", 40.0, "Refuse float16 storage if outputs change more than this PSNR allows.")
flags.DEFINE_string("runtime_output", None, "Where the runtime's .tflite file goes (default: "
                    "cin_style/pretrained_tflite/cin_style.tflite in this checkout, when --output is not given).")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def credits():
    """{file stem: (title, artist, year)} from the CREDITS table."""
    table = {}
    with open(os.path.join(ROOT, "assets", "styles", "CREDITS.md"), encoding="utf-8") as handle:
        for line in handle:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[0].endswith(".jpg"):
                artist = re.sub(r"\s*\(\d{4}\)$", "", cells[2])
                table[cells[0][:-4]] = (cells[1], artist, cells[3])
    return table


def main(argv):
    del argv
    import numpy as np

    from averaging import average_models
    from cin_style.model.format import StyleInfo, load_model, save_model
    from polarity import invert_input

    if not FLAGS.model:
        raise app.UsageError("--model is required")
    models = [load_model(path) for path in FLAGS.model]
    model = models[0] if len(models) == 1 else average_models(models)
    if FLAGS.invert_input:
        model = invert_input(model)
    table = credits()
    model.styles = [StyleInfo(s.name, *table.get(s.name, ("", "", "")), source_image=s.source_image)
                    for s in model.styles]
    output = FLAGS.output or os.path.join(ROOT, "cin_style", "pretrained")
    save_model(model, output, dtype="float16", overwrite=True)
    half = load_model(output)
    rng = np.random.default_rng(0)
    image = rng.random((1, 128, 128, 3), np.float32)
    worst = np.inf
    for style in range(model.num_styles):
        weights = np.eye(model.num_styles, dtype=np.float32)[style:style + 1]
        a, b = model.network([image, weights]).numpy(), half.network([image, weights]).numpy()
        worst = min(worst, 10 * np.log10(1 / max(float(np.mean((a - b) ** 2)), 1e-12)))
    if worst < FLAGS.min_psnr:
        save_model(model, output, dtype="float32", overwrite=True)
        print(f"float16 changed outputs (worst PSNR {worst:.1f} dB); stored float32", file=sys.stderr)
    size = sum(os.path.getsize(os.path.join(output, f)) for f in os.listdir(output))
    print(f"{output}: {model.num_styles} styles, step {model.training_config.get('step')}, "
          f"{size / 1e6:.2f} MB, float16 worst-style PSNR vs float32 {worst:.1f} dB")
    runtime = FLAGS.runtime_output or (None if FLAGS.output else
                                       os.path.join(ROOT, "cin_style", "pretrained_tflite", "cin_style.tflite"))
    if runtime:
        from cin_style.export.tflite import export_runtime_model

        os.makedirs(os.path.dirname(os.path.abspath(runtime)), exist_ok=True)
        metadata = export_runtime_model(half, runtime, log=lambda line: print(line, file=sys.stderr, flush=True))
        print(f"{runtime}: {metadata['size_bytes'] / 1e6:.2f} MB, the runtime's int8 file with float ends")


if __name__ == "__main__":
    app.run(main)
