"""BVLC GoogLeNet, inception_4d/3x3_reduce: higher layer: specific micro-level hallucinations.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_inception_4d_3x3_reduce.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'inception_4d/3x3_reduce', 'Higher layer: specific micro-level hallucinations.'))
