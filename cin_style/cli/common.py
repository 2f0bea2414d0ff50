"""What every ``cin-style`` command shares: exit codes, the usage error, bounded number types, the
help layout and the one spelling of options."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from typing import TypeAlias, TypeVar

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# The sub-command table each command module registers its parser in.
SubCommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Number = TypeVar("Number", int, float)


class UsageError(Exception):
    """A command-line mistake: printed, then exit code 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Descriptions as written; each option's default after its help."""


def bounded(kind: Callable[[str], Number], low: Number, high: Number) -> Callable[[str], Number]:
    """An argparse type: a ``kind`` (int or float) number in [low, high], else a usage error naming the range."""
    def parse(text: str) -> Number:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed {low}..{high}")
        return value
    return parse


def comma_list(text: str) -> list[str]:
    """An argparse type: ``a,b,c`` -> ["a", "b", "c"] (blanks dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_parser(commands: SubCommands, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A sub-command parser with the shared help layout; ``description``'s paragraphs are wrapped, its
    indented lines (examples) kept as written."""
    paragraphs = [p if p.startswith("  ") else textwrap.fill(p, 100) for p in description.split("\n\n")]
    return commands.add_parser(name, help=help, description="\n\n".join(paragraphs), formatter_class=HelpFormatter)


def canonical_options(argv: list[str], negatable: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Options spelled the one way: ``--content_dir`` -> ``--content-dir`` (the spelling of earlier releases
    and of older notes keeps working) and, for the boolean options in ``negatable``, ``--noequalize`` ->
    ``--no-equalize``. Values and positional arguments are left alone; so is everything after ``--``."""
    out: list[str] = []
    for index, token in enumerate(argv):
        if token == "--":
            return out + argv[index:]
        if token.startswith("--") and len(token) > 2:
            name, sep, value = token[2:].partition("=")
            name = name.replace("_", "-")
            if name.startswith("no") and not name.startswith("no-") and name[2:] in negatable:
                name = "no-" + name[2:]
            token = f"--{name}{sep}{value}"
        out.append(token)
    return out


def log_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


DEVICES = ("auto", "cpu", "gpu")


def choose_device(device: str, backend: str) -> None:
    """Applies ``--device`` before any model loads: ``cpu`` hides GPUs from TensorFlow, ``gpu`` insists on one;
    the runtime (LiteRT) runs on the CPU only, so ``gpu`` there is a usage error saying what would work."""
    if device == "auto":
        return
    if backend == "tflite":
        if device == "gpu":
            raise UsageError("--device gpu: the runtime (LiteRT) runs on the CPU; the TensorFlow backend uses a GPU "
                             "where TensorFlow sees one (--backend tf or --model, the [train] extra)")
        return
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise UsageError("--device gpu: TensorFlow sees no GPU on this machine (a CUDA GPU with its driver is "
                         "needed); use --device cpu or auto")
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")


def show_fit_progress(done: int, total: int) -> None:
    """Progress of fitting a --style-image (one line on stderr, rewritten on a terminal)."""
    if done % 10 and done != total:
        return
    width = 30
    bar = "#" * (width * done // total) + "." * (width - width * done // total)
    end = "\n" if done == total or not sys.stderr.isatty() else ""
    print(f"\r  learning the style picture [{bar}] {done}/{total}", end=end, file=sys.stderr, flush=True)
