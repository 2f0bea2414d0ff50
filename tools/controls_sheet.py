#!/usr/bin/env python3
"""A picture of the image controls on one photo: strength, colour preservation, a region mask, style scale.

With ``--scale_output``, also a strip of the same photo enlarged to ``--large_side`` pixels (a stand-in
for a large camera photo) at ``style_scale=1`` and at the default ``"auto"``, next to the photo stylized
at 1 MP, all shown at the same size: with ``"auto"`` the large image looks like the same painting.

Example:
  python tools/controls_sheet.py --photo assets/examples/coffee.png --style the_scream \
      --second_style great_wave --output docs/controls.jpg --scale_output docs/style_scale.jpg \
      --strength_output docs/strength_strip.jpg
"""


from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("model", None, "Model directory (default: the bundled model).")
flags.DEFINE_string("photo", None, "A freely licensed photo.")
flags.DEFINE_string("style", "starry_night", "The style.")
flags.DEFINE_string("second_style", "great_wave", "The style of the right half in the mask example.")
flags.DEFINE_integer("tile", 384, "Tile side in pixels.")
flags.DEFINE_string("output", None, "Image to write.")
flags.DEFINE_string("scale_output", None, "Also write the style-scale strip here.")
flags.DEFINE_string("strength_output", None, "Also write a strip of strengths 0, 0.25, 0.5, 0.75, 1 here.")
flags.DEFINE_integer("large_side", 4800, "Long side of the enlarged photo in the style-scale strip.")


def main(argv):
    del argv
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    import numpy as np
    from PIL import Image

    from sheets import grid
    from cin_style.files.images import save_image
    from cin_style.stylization.tf_backend import Stylizer

    if not FLAGS.photo or not FLAGS.output:
        raise app.UsageError("--photo and --output are required")
    photo = Image.open(FLAGS.photo).convert("RGB")
    scale = FLAGS.tile / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    stylizer = Stylizer(FLAGS.model)
    mask = np.zeros((photo.height, photo.width), np.float32)
    mask[:, : photo.width // 2] = 1.0
    columns = [
        ("photo", photo),
        (f"{FLAGS.style}", stylizer.stylize(photo, FLAGS.style)),
        ("strength 0.5", stylizer.stylize(photo, FLAGS.style, strength=0.5)),
        ("preserve_color", stylizer.stylize(photo, FLAGS.style, preserve_color=True)),
        (f"mask: left / {FLAGS.second_style}", stylizer.stylize(
            photo, None, regions=[(mask, FLAGS.style), (1 - mask, FLAGS.second_style)], feather_px=12)),
        ("style_scale 2", stylizer.stylize(photo, FLAGS.style, style_scale=2.0)),
    ]
    sheet = grid([[image for _, image in columns]], [label for label, _ in columns], FLAGS.tile)
    print(save_image(sheet, FLAGS.output, overwrite=True))
    if FLAGS.strength_output:
        strengths = [0.0, 0.25, 0.5, 0.75, 1.0]
        strip = grid([[stylizer.stylize(photo, FLAGS.style, strength=v) for v in strengths]],
                     [f"strength {v:g}" for v in strengths], FLAGS.tile)
        print(save_image(strip, FLAGS.strength_output, overwrite=True))
    if FLAGS.scale_output:
        print(save_image(_scale_strip(stylizer, Image.open(FLAGS.photo).convert("RGB")), FLAGS.scale_output,
                         overwrite=True))


def _scale_strip(stylizer, photo):
    from PIL import Image

    from sheets import grid
    from cin_style.stylization.controls import AUTO_STYLE_SCALE_PIXELS

    factor = FLAGS.large_side / max(photo.size)
    large = photo.resize((round(photo.width * factor), round(photo.height * factor)), Image.LANCZOS)
    megapixels = large.width * large.height / 1e6
    factor = (AUTO_STYLE_SCALE_PIXELS / (photo.width * photo.height)) ** 0.5
    one_mp = photo.resize((round(photo.width * factor), round(photo.height * factor)), Image.LANCZOS)
    columns = [
        (f"1 MP ({one_mp.width}x{one_mp.height})", stylizer.stylize(one_mp, FLAGS.style)),
        (f"{megapixels:.0f} MP, style_scale=1", stylizer.stylize(large, FLAGS.style, style_scale=1)),
        (f"{megapixels:.0f} MP, style_scale='auto'", stylizer.stylize(large, FLAGS.style)),
    ]
    return grid([[image for _, image in columns]], [label for label, _ in columns], FLAGS.tile)


if __name__ == "__main__":
    app.run(main)
