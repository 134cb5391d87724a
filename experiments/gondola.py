"""Gondola: Venice is apparently an integral part of gondolas.

From the 2015 post's gallery; run ``python experiments/gondola.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('gondola', ['gondola'], 'Gondola: Venice is apparently an integral part of gondolas.'))
