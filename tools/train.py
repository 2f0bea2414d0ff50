#!/usr/bin/env python3
"""Train a multi-style cin-style model (same as `cin-style train`); --helpfull lists every flag.

Example:
  python tools/train.py --content_dir photos/ --style_images styles/ --output_dir runs/mine --num_steps 40000
"""

from cin_style.train_cli import run

if __name__ == "__main__":
    run()
