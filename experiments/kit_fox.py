"""Kit fox: ginger, and living in the forest.

From the 2015 post's gallery; run ``python experiments/kit_fox.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('kit_fox', ['kit fox'], 'Kit fox: ginger, and living in the forest.'))
