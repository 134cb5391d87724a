"""BVLC GoogLeNet, pool3/3x3_s2: mid layer: slight suspicions of animals are exaggerated into dogs.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/googlenet_pool3_3x3_s2.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('googlenet', 'pool3/3x3_s2', 'Mid layer: slight suspicions of animals are exaggerated into dogs.'))
