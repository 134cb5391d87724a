"""Places205-GoogLeNet, inception_3b/pool: mid layer: aggregates the features of the low layers.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_inception_3b_pool.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'inception_3b/pool', 'Mid layer: aggregates the features of the low layers.'))
