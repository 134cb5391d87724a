"""BVLC GoogLeNet, inception_3b/3x3_reduce: mid layer: low-level features combine into patterns that start to resemble objects (eyes).

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_inception_3b_3x3_reduce.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'inception_3b/3x3_reduce', 'Mid layer: low-level features combine into patterns that start to resemble objects (eyes).'))
