#!/usr/bin/env python3
"""Export a model to TFLite (the same as `cin-style export`, for a source checkout); --help lists every option.

Example:
  python tools/export_tflite.py --mode int8 --calibration-dir photos/ --output cin_style_int8.tflite
"""

import sys

from cin_style.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
