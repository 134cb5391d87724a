"""Broccoli: definitely green.

From the 2015 post's gallery; run ``python experiments/broccoli.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('broccoli', ['broccoli'], 'Broccoli: definitely green.'))
