#!/usr/bin/env python3
"""Prune a trained model to width alpha and fine-tune it with distillation (same as `cin-style slim`).

Example:
  python tools/slim.py --alpha 0.5 --content_dir photos/ --output_dir runs/slim_a050 --num_steps 2000
"""

from cin_style.slim_cli import run

if __name__ == "__main__":
    run()
