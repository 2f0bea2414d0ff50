#!/usr/bin/env python3
"""Train a multi-style cin-style model (the same as `cin-style train`, for a source checkout);
--help lists every option.

Example:
  python tools/train.py --content-dir photos/ --style-images styles/ --output-dir runs/mine --num-steps 40000
"""

import sys

from cin_style.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
