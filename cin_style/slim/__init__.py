"""Slim variants for phones: pruning to a width alpha (:mod:`.prune`) and weight sparsity (:mod:`.sparsity`)."""

from cin_style import _moved


def __getattr__(name: str):  # what ``cin_style.slim`` held before it became this package
    return _moved.moved_attribute(__name__, name, dict.fromkeys(("prune_model", "describe"), "cin_style.slim.prune"))
