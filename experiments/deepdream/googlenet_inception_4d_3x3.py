"""BVLC GoogLeNet, inception_4d/3x3: higher layer: the explainer's title picture.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_inception_4d_3x3.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'inception_4d/3x3', "Higher layer: the explainer's title picture."))
