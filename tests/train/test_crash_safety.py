"""kill -9 a short training run at random moments: every time, the checkpoint loads, no weight
is ever NaN, and --resume continues."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from cin_style.model.format import load_model
from cin_style.model.architecture import Architecture
from cin_style.model.network import build_transform_network

# Each kill costs a process start (~12 s on 2 cores, ~18 s on a 2-core AVX2-only machine);
# CIN_STYLE_KILLS=50 for a longer soak.
KILLS = int(os.environ.get("CIN_STYLE_KILLS", "4"))


def _write_data(root):
    rng = np.random.default_rng(0)
    photos = root / "photos"
    photos.mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(photos / f"{i}.png")
    style = root / "style.png"
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), np.uint8)).save(style)
    return photos, style


def _check_run(output_dir):
    """The latest checkpoint (if any) restores with finite weights; so does the model snapshot."""
    latest = tf.train.latest_checkpoint(str(output_dir / "checkpoints"))
    step = 0
    if latest:
        network = build_transform_network(Architecture(1, alpha=0.125, num_residual_blocks=1))
        step_variable = tf.Variable(0, dtype=tf.int64)
        tf.train.Checkpoint(network=network, step=step_variable).restore(latest).expect_partial()
        assert all(np.all(np.isfinite(w)) for w in network.get_weights())
        step = int(step_variable.numpy())
    if (output_dir / "model").exists():
        model = load_model(output_dir / "model")
        assert all(np.all(np.isfinite(w)) for w in model.network.get_weights())
    return step


def test_kill_9_at_random_moments(tmp_path):
    photos, style = _write_data(tmp_path)
    output_dir = tmp_path / "run"
    tool = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "train.py")
    command = [sys.executable, tool, f"--content_dir={photos}", f"--style_images={style}",
               f"--output_dir={output_dir}", "--image_size=24", "--batch_size=2", "--num_steps=100000",
               "--alpha=0.125", "--num_residual_blocks=1", "--checkpoint_every=3", "--log_every=1",
               "--sample_every=0", "--content_layer=conv2_2", "--style_layers=conv1_2,conv2_2",
               "--style_image_size=24", "--resume"]
    rng = random.Random(0)
    steps = []
    for _ in range(KILLS):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Wait until it trains, then kill at a random moment (mid-step, mid-checkpoint, ...).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if line.startswith("step ") or process.poll() is not None:
                break
        time.sleep(rng.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        steps.append(_check_run(output_dir))
    assert steps == sorted(steps)  # resuming never goes backwards
    assert steps[-1] > 0
