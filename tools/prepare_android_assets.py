#!/usr/bin/env python3
"""Put the int8 model, its metadata and style thumbnails into the Android sample's assets.

Example:
  python tools/prepare_android_assets.py --model runs/slim_a050/model --calibration_dir assets/examples
"""

import os
import subprocess
import sys

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model directory (default: the bundled model).")
flags.DEFINE_string("calibration_dir", None, "Photos for int8 calibration (default: assets/examples).")
flags.DEFINE_integer("thumbnail_size", 160, "Thumbnail side in pixels.")
flags.DEFINE_bool("float_ends", True, "Keep the model's 3-channel ends in float, every conv int8 (export "
                  "--float_ends: the app runs it on the CPU with XNNPACK, where it is as fast and closer to the "
                  "float model); --nofloat_ends for a fully integer model (integer-only accelerators).")
flags.DEFINE_enum("layout", "compact", ["fast", "compact", "plain"],
                  "Export layout (see cin-style export --layout). compact: the slim alpha 0.5 model in 0.60 MB "
                  "(fast: 0.67 MB, 2% faster at 1024 px on a 2-core Xeon without AMX; "
                  "docs/benchmarks/layouts_2x2.md).")

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ASSETS = os.path.join(ROOT, "android_demo", "app", "src", "main", "assets")


def main(argv):
    del argv
    from PIL import Image, ImageOps

    from cin_style.stylization.tf_backend import resolve_model

    os.makedirs(os.path.join(ASSETS, "thumbnails"), exist_ok=True)
    command = [sys.executable, os.path.join(ROOT, "tools", "export_tflite.py"), "--mode=int8", "--overwrite",
               f"--output={os.path.join(ASSETS, 'cin_style_int8.tflite')}",
               f"--calibration_dir={FLAGS.calibration_dir or os.path.join(ROOT, 'assets', 'examples')}"]
    if FLAGS.model:
        command.append(f"--model={FLAGS.model}")
    command.append("--float_ends" if FLAGS.float_ends else "--nofloat_ends")
    # the app needs the I/O names only, and stylizes photos of at most 1024 px in one piece (no tiles file)
    command += [f"--layout={FLAGS.layout}", "--notensor_names", "--notiles"]
    subprocess.run(command, check=True)
    model = resolve_model(FLAGS.model)
    for style in model.styles:
        source = os.path.join(ROOT, "assets", "styles", style.source_image or f"{style.name}.jpg")
        with Image.open(source) as image:
            thumb = ImageOps.fit(image.convert("RGB"), (FLAGS.thumbnail_size, FLAGS.thumbnail_size))
            thumb.save(os.path.join(ASSETS, "thumbnails", f"{style.name}.jpg"), quality=85)
    print(ASSETS)


if __name__ == "__main__":
    app.run(main)
