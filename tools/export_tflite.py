#!/usr/bin/env python3
"""Export a model to TFLite (same as `cin-style export`); --helpfull lists every flag.

Example:
  python tools/export_tflite.py --mode int8 --calibration_dir photos/ --output cin_style_int8.tflite
"""

from cin_style.export_cli import run

if __name__ == "__main__":
    run()
