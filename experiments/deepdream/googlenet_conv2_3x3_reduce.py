"""BVLC GoogLeNet, conv2/3x3_reduce: low layer: lines and flows, a brush-like effect.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_conv2_3x3_reduce.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'conv2/3x3_reduce', 'Low layer: lines and flows, a brush-like effect.'))
