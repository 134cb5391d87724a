"""BVLC GoogLeNet, conv2/norm2: low layer: corners, arches and patterns of lines, no large shapes yet.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_conv2_norm2.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'conv2/norm2', 'Low layer: corners, arches and patterns of lines, no large shapes yet.'))
