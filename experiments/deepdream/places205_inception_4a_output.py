"""Places205-GoogLeNet, inception_4a/output: high layer: buildings and landscape features, no animals.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_inception_4a_output.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'inception_4a/output', 'High layer: buildings and landscape features, no animals.'))
