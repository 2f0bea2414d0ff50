"""Running the absl-flag tools (train, export, slim) with the exit codes of the `cin-style` CLI."""

from __future__ import annotations

import sys

from absl import app

_HELP_FLAGS = {"-?", "-h", "--help", "--helpfull", "--helpshort"}


def run_absl(main, argv: list[str] | None = None) -> None:
    """``app.run(main)``, but help exits 0 (absl exits 1 after printing help)."""
    argv = list(sys.argv if argv is None else argv)
    try:
        app.run(main, argv=argv)
    except SystemExit as exc:
        if exc.code == 1 and _HELP_FLAGS.intersection(argv[1:]):
            raise SystemExit(0) from None
        raise
