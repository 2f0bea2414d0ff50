#!/usr/bin/env python3
"""Make a labelled contact sheet (rows = photos, columns = photo then each style) and a blend strip.

Example:
  python tools/contact_sheet.py --photos assets/examples --output docs/contact_sheet.jpg --tile 512 \
      --blend starry_night,great_wave --blend_output docs/blend_strip.jpg
  python tools/contact_sheet.py --photos assets/examples --output docs/slim_vs_full.jpg --tile 384 \
      --compare full=bundled,slim_int8=slim.tflite --styles starry_night,great_wave,the_scream
"""

import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model directory (default: the bundled model).")
flags.DEFINE_list("photos", None, "Photo files or a folder of photos.")
flags.DEFINE_string("output", None, "Contact sheet PNG to write.")
flags.DEFINE_integer("tile", 256, "Tile side in pixels; photos are stylized at this long side.")
flags.DEFINE_list("styles", None, "Columns (names or indices; default: every style).")
flags.DEFINE_list("blend", None, "Two styles A,B: also write a blend strip from A to B.")
flags.DEFINE_string("blend_output", None, "Blend strip PNG to write.")
flags.DEFINE_integer("blend_steps", 5, "Blends in the strip, A to B inclusive.")
flags.DEFINE_integer("quality", 80, "JPEG/WebP quality of the written pictures.")
flags.DEFINE_list("compare", None, "Instead of one model's sheet, compare models side by side per style: "
                  "label=MODEL_DIR, label=FILE.tflite, label=bundled, or label=gatys / label=gatys_noise (the "
                  "evaluation's reference: L-BFGS from the photo or from white noise, with --model's loss and "
                  "styles), in column order (needs --styles).")
flags.DEFINE_integer("gatys_iterations", 100, "L-BFGS iterations of the gatys columns of --compare.")
flags.DEFINE_string("style_dir", None, "Folder of the styles' source images for the gatys columns (default: "
                    "assets/styles beside this tool).")


def main(argv):
    del argv
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    from sheets import blend_strip, contact_sheet, model_comparison
    from cin_style.files.folders import find_images
    from cin_style.files.images import IMAGE_EXTENSIONS, save_image
    from cin_style.stylization.tf_backend import Stylizer

    if not FLAGS.photos or not FLAGS.output:
        raise app.UsageError("--photos and --output are required")
    photos = []
    for item in FLAGS.photos:
        photos.extend(find_images(item, IMAGE_EXTENSIONS) if os.path.isdir(item) else [item])
    if FLAGS.compare:
        if not FLAGS.styles:
            raise app.UsageError("--compare needs --styles (names)")
        stylizers = {}
        for item in FLAGS.compare:
            label, sep, source = item.partition("=")
            if not sep or not label or not source:
                raise app.UsageError("--compare entries are label=MODEL_DIR|FILE.tflite|bundled|gatys|gatys_noise, "
                                     f"got {item!r}")
            if source in ("gatys", "gatys_noise"):
                from cin_style.quality.evaluation import GatysReference
                style_dir = FLAGS.style_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                            "assets", "styles")
                stylizers[label] = GatysReference(FLAGS.model, style_dir, iterations=FLAGS.gatys_iterations,
                                                  init="noise" if source == "gatys_noise" else "photo")
            elif source.endswith(".tflite"):
                from cin_style.stylization.tflite_backend import TFLiteStylizer
                stylizers[label] = TFLiteStylizer(source)
            else:
                stylizers[label] = Stylizer(None if source == "bundled" else source)
        sheet = model_comparison(stylizers, photos, FLAGS.styles, tile_size=FLAGS.tile)
        print(save_image(sheet, FLAGS.output, overwrite=True, quality=FLAGS.quality))
        return
    stylizer = Stylizer(FLAGS.model)
    styles = [int(s) if s.isdigit() else s for s in FLAGS.styles] if FLAGS.styles else None
    sheet = contact_sheet(stylizer, photos, styles, tile_size=FLAGS.tile)
    print(save_image(sheet, FLAGS.output, overwrite=True, quality=FLAGS.quality))
    if FLAGS.blend:
        if len(FLAGS.blend) != 2 or not FLAGS.blend_output:
            raise app.UsageError("--blend takes two styles A,B and needs --blend_output")
        strip = blend_strip(stylizer, photos[0], *FLAGS.blend, steps=FLAGS.blend_steps, tile_size=FLAGS.tile)
        print(save_image(strip, FLAGS.blend_output, overwrite=True, quality=FLAGS.quality))


if __name__ == "__main__":
    app.run(main)
