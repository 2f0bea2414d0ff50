#!/usr/bin/env python3
"""Prune a trained model to width alpha and fine-tune it with distillation (the same as `cin-style slim`,
for a source checkout); --help lists every option.

Example:
  python tools/slim.py --alpha 0.5 --content-dir photos/ --style-dir assets/styles --output-dir runs/slim_a050
"""

import sys

from cin_style.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["slim", *sys.argv[1:]]))
