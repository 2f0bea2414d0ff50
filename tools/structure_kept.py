"""How much of each photo's structure the outputs in a ``tools/compare_peer.py`` work folder keep.

For every output ``<label>/<photo>__<style>.png`` beside ``photos/<photo>.png``: the relative squared error between
the Laplacian of the output's and the photo's luminance after p x p average pooling (the training loss's
Laplacian term, ``cin_style.train.losses.laplacian_loss``, one pool at a time). Small p sees the brushwork, large
p the outlines, eyes and large letters that make a face or a word readable; 0 is the photo's structure exactly.
Prints the median over photos and styles per label and pool (a diagnostic beside looking, not a judge of style:
the training loss can contain the same term).

    python tools/structure_kept.py --work_dir /tmp/compare --labels ours,peer_512
"""

from __future__ import annotations

import glob
import os

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", None, "A tools/compare_peer.py --work_dir (with photos/ and one folder per label).")
flags.DEFINE_list("labels", ["ours"], "Output folders in --work_dir to measure, e.g. ours,peer_512.")
flags.DEFINE_list("pools", ["1", "2", "4", "8"], "Pooling sizes.")


def _load(path: str, size: tuple[int, int] | None = None) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if size is not None and image.size != size:
            image = image.resize(size, Image.LANCZOS)
        return np.asarray(image, np.float32)[None] / 255.0


def structure_errors(work_dir: str, label: str, pools: list[int]) -> np.ndarray:
    """[outputs, pools] relative Laplacian errors of every output in ``work_dir/label`` against its photo."""
    import tensorflow as tf

    from cin_style.train.losses import laplacian_loss

    outputs = sorted(glob.glob(os.path.join(work_dir, label, "*__*.png")))
    if not outputs:
        raise ValueError(f"{os.path.join(work_dir, label)}: no <photo>__<style>.png outputs")
    errors = []
    for path in outputs:
        photo_path = os.path.join(work_dir, "photos", os.path.basename(path).split("__")[0] + ".png")
        if not os.path.isfile(photo_path):
            raise ValueError(f"{path}: its photo {photo_path} is missing")
        output = _load(path)
        photo = _load(photo_path, (output.shape[2], output.shape[1]))
        errors.append([float(laplacian_loss(tf.constant(output), tf.constant(photo), (p,))[0]) for p in pools])
    return np.array(errors)


def main(argv):
    del argv
    if not FLAGS.work_dir:
        raise app.UsageError("--work_dir is required")
    try:
        pools = [int(p) for p in FLAGS.pools]
    except ValueError:
        raise app.UsageError(f"--pools must be whole numbers, got {','.join(FLAGS.pools)}") from None
    if min(pools) < 1:
        raise app.UsageError(f"--pools must be >= 1, got {','.join(FLAGS.pools)}")
    print(f"{'label':24s}" + "".join(f"{f'p={p}':>8s}" for p in pools) + "   outputs")
    for label in FLAGS.labels:
        try:
            errors = structure_errors(FLAGS.work_dir, label, pools)
        except ValueError as error:
            raise app.UsageError(str(error)) from None
        medians = np.median(errors, axis=0)
        print(f"{label:24s}" + "".join(f"{m:8.2f}" for m in medians) + f"   {len(errors)}")


if __name__ == "__main__":
    app.run(main)
