"""Places205-GoogLeNet, pool3/3x3_s2: mid layer: patterns combine into larger structures.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_pool3_3x3_s2.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'pool3/3x3_s2', 'Mid layer: patterns combine into larger structures.'))
