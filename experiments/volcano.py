"""Volcano: the colour of the lava is right, not that of the mountains.

From the 2015 post's gallery; run ``python experiments/volcano.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('volcano', ['volcano'], 'Volcano: the colour of the lava is right, not that of the mountains.'))
