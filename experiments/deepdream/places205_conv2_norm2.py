"""Places205-GoogLeNet, conv2/norm2: low layer of the scene net: patterns at the base of the Inception architecture.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_conv2_norm2.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'conv2/norm2', 'Low layer of the scene net: patterns at the base of the Inception architecture.'))
