"""Places205-GoogLeNet, inception_5b/5x5_reduce: high layer of the scene net.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_inception_5b_5x5_reduce.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'inception_5b/5x5_reduce', 'High layer of the scene net.'))
