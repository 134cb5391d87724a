"""Places205-GoogLeNet, inception_3a/pool_proj: low layer: the filter passed over the picture made visible.

From the DeepDream explainer's gallery (six octaves); run
``python experiments/deepdream/places205_inception_3a_pool_proj.py --help``.
"""
import sys

from dream_figure import main

if __name__ == "__main__":
    sys.exit(main('places205', 'inception_3a/pool_proj', 'Low layer: the filter passed over the picture made visible.'))
