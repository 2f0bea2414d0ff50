"""Old module paths of the flat layout (before the sub-packages), importable for one release with a
DeprecationWarning: ``import cin_style.stylizer`` gives a copy of :mod:`cin_style.stylization.tf_backend`."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "atomic": "files.atomic", "images": "files.images",
    "ops": "model.ops", "layers": "model.layers", "network": "model.network", "model_format": "model.format",
    "styles": "model.styles", "style_packs": "model.packs",
    "controls": "stylization.controls", "stylizer": "stylization.tf_backend",
    "tflite_backend": "stylization.tflite_backend",
    "data": "train.data", "vgg": "train.vgg", "losses": "train.losses", "trainer": "train.trainer",
    "distillation": "train.distillation", "hardware": "train.hardware",
    "calibration": "export.calibration", "qat": "export.qat", "sparsity": "slim.sparsity",
    "gatys": "quality.gatys", "evaluation": "quality.evaluation", "tf_startup": "quiet_start",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``cin_style.<old name>`` and fills it with the names of the module's new home."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == "cin_style" and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # the default module object

    def exec_module(self, module):
        new_name = "cin_style." + MOVED[module.__name__.rpartition(".")[2]]
        warnings.warn(f"{module.__name__} moved to {new_name}; the old path goes in the next release",
                      DeprecationWarning, stacklevel=2)
        new = importlib.import_module(new_name)
        module.__dict__.update({key: value for key, value in vars(new).items() if not key.startswith("__")})
        module.__doc__ = new.__doc__


def install() -> None:
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())


def moved_attribute(package: str, name: str, homes: dict[str, str]) -> object:
    """For a package's ``__getattr__``: ``name`` of the flat module this package replaced, taken from its
    new home in ``homes`` (name -> module), with a DeprecationWarning."""
    if name not in homes:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    warnings.warn(f"{package}.{name} moved to {homes[name]}.{name}; the old path goes in the next release",
                  DeprecationWarning, stacklevel=3)
    return getattr(importlib.import_module(homes[name]), name)
