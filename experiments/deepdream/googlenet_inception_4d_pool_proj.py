"""BVLC GoogLeNet, inception_4d/pool_proj: higher layer: a combination of many features across the image.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_inception_4d_pool_proj.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'inception_4d/pool_proj', 'Higher layer: a combination of many features across the image.'))
