"""Tree frog: mostly a horrid blob of liquid frog.

From the 2015 post's gallery; run ``python experiments/tree_frog.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('tree_frog', ['tree frog'], 'Tree frog: mostly a horrid blob of liquid frog.'))
