"""Pruning a tiny trained model: shapes, styles kept, and the distillation fine-tune lowers the loss."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from PIL import Image

from cin_style.train.losses import LossConfig
from cin_style.model.format import StyleInfo, save_model
from cin_style.slim.prune import describe, prune_model
from cin_style.slim.sparsity import kernel_sparsity, magnitude_prune
from cin_style.train.trainer import TrainConfig, Trainer
from tiny_models import make_tiny_model

LOSS = LossConfig(content_layer="conv2_2", style_layers=("conv1_2", "conv2_2"), style_image_size=32)


def test_pruning_keeps_styles_and_shapes():
    full = make_tiny_model(seed=2)
    slim = prune_model(full, alpha=0.0625)
    assert slim.style_names == full.style_names
    assert slim.network.get_layer("down2_conv").kernel.shape == (3, 3, 4, 8)
    assert slim.network.get_layer("out_conv").kernel.shape[-1] == 3
    assert describe(slim)["conv_parameters"] < describe(full)["conv_parameters"] / 3
    image = np.random.default_rng(0).random((1, 20, 20, 3), np.float32)
    out = slim.network([image, tf.one_hot([1], 3)]).numpy()
    assert out.shape == (1, 20, 20, 3) and np.all(np.isfinite(out))
    shallow = prune_model(full, alpha=0.125, num_residual_blocks=0)
    assert not any(layer.name.startswith("res") for layer in shallow.network.layers)
    with pytest.raises(ValueError, match="alpha"):
        prune_model(full, alpha=0.5)


def test_pruning_at_full_width_changes_nothing():
    full = make_tiny_model(seed=3)
    same = prune_model(full, alpha=full.architecture.alpha)
    image = np.random.default_rng(1).random((1, 24, 24, 3), np.float32)
    np.testing.assert_allclose(same.network([image, tf.one_hot([2], 3)]).numpy(),
                               full.network([image, tf.one_hot([2], 3)]).numpy(), atol=1e-5)


def test_distillation_fine_tune_lowers_the_loss(tmp_path):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        small = rng.random((4, 4, 3))
        Image.fromarray((small * 255).astype(np.uint8)).resize((40, 40), Image.BICUBIC).save(photos / f"{i}.png")
    full = make_tiny_model(seed=4)
    styles = []
    for name in full.style_names:
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)).save(tmp_path / f"{name}.png")
        styles.append(str(tmp_path / f"{name}.png"))
    full.styles = [StyleInfo(s.name, source_image=f"{s.name}.png") for s in full.styles]
    save_model(full, tmp_path / "teacher")
    save_model(prune_model(full, alpha=0.0625), tmp_path / "pruned")
    config = TrainConfig(content_dir=str(photos), style_images=styles, output_dir=str(tmp_path / "run"),
                         image_size=32, batch_size=2, num_steps=25, learning_rate=5e-3, loss=LOSS, alpha=0.0625,
                         num_residual_blocks=1, init_model=str(tmp_path / "pruned"),
                         teacher_model=str(tmp_path / "teacher"), distill_weight=50.0, sample_every=0)
    trainer = Trainer(config, log=lambda line: None)
    images = tf.constant(rng.random((4, 32, 32, 3)), tf.float32)

    def fixed_loss():
        total = 0.0
        for style in range(3):
            index = tf.fill([4], style)
            weights = tf.one_hot(index, 3)
            outputs = trainer.model.network([images, weights])
            targets = {k: tf.gather(v, index) for k, v in trainer.style_targets.items()}
            loss, _ = trainer.loss(outputs, trainer.loss.content_features(images), targets)
            teacher = trainer.teacher.network([images, weights])
            total += float(loss) + 50.0 * float(tf.reduce_mean(tf.square(outputs - teacher)))
        return total

    before = fixed_loss()
    trainer.run()
    assert fixed_loss() < before


def _one_shot_magnitude_prune(model, sparsity):
    """Zeroes the smallest |w| of every conv kernel, no fine-tune: the baseline tfmot must beat."""
    copy = make_tiny_model(seed=0)
    copy.network.set_weights(model.network.get_weights())
    for layer in copy.network.layers:
        if isinstance(layer, tf_keras.layers.Conv2D):
            kernel = layer.kernel.numpy()
            threshold = np.quantile(np.abs(kernel), sparsity)
            layer.kernel.assign(np.where(np.abs(kernel) <= threshold, 0.0, kernel))
    return copy


def test_magnitude_pruning_reaches_the_sparsity_and_recovers_by_distillation():
    teacher = make_tiny_model(seed=5)
    before = [w.copy() for w in teacher.network.get_weights()]
    crops = np.random.default_rng(3).random((4, 24, 24, 3)).astype(np.float32)
    sparse = magnitude_prune(teacher, crops, sparsity=0.5, steps=60, learning_rate=2e-3, seed=1)
    for old, new in zip(before, teacher.network.get_weights()):
        np.testing.assert_array_equal(old, new)  # the teacher is left alone
    for name, kernel in sparse.weights_dict().items():
        if name.endswith("_conv/kernel"):
            assert abs(float((kernel == 0).mean()) - 0.5) < 0.02, name
    assert kernel_sparsity(teacher) == 0.0 and abs(kernel_sparsity(sparse) - 0.5) < 0.01
    assert sparse.style_names == teacher.style_names
    assert sparse.training_config["magnitude_pruning"]["sparsity"] == 0.5

    def error(model):
        total = 0.0
        for style in range(3):
            weights = tf.one_hot([style] * 4, 3)
            total += float(tf.reduce_mean(tf.square(model.network([crops, weights]) -
                                                    teacher.network([crops, weights]))))
        return total

    assert error(sparse) < error(_one_shot_magnitude_prune(teacher, 0.5))
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_prune(teacher, crops, sparsity=1.0)
    with pytest.raises(ValueError, match="crops"):
        magnitude_prune(teacher, crops[0], sparsity=0.5)


def test_slim_report_table_accepts_quality_only_rows():
    """`tools/slim_report.py --quality_only full,...` compares losses without timing anything."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "slim_report.py")
    spec = importlib.util.spec_from_file_location("slim_report", path)
    slim_report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(slim_report)
    arch = {"alpha": 0.5, "num_residual_blocks": 5}
    report = {"machine": {"fp32_matmul_gflops": 300.0}, "photos": 4, "models": {
        "full": {"architecture": {"alpha": 1, "num_residual_blocks": 5}, "conv_parameters": 1000,
                 "total_loss_vs_full": 1.0},
        "slim": {"architecture": arch, "conv_parameters": 250, "total_loss_vs_full": 1.1, "psnr_vs_full_db": 23.6}}}
    table = slim_report.markdown(report)
    assert "| slim | 0.5 | 5 | 250 | - | - | 1.10 | 23.6 |" in table
    timed = dict(report["models"]["slim"], int8_bytes=2048, int8_gzip_bytes=1024,
                 latency_ms={512: {"tf_float": 50.0, "tflite_int8": 10.0}})
    report["models"]["slim"] = timed
    assert "| slim | 0.5 | 5 | 250 | 2 | 1 | 50 | 10 | 1.10 | 23.6 |" in slim_report.markdown(report)
