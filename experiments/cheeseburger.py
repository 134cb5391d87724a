"""Cheeseburger: something one would eat.

From the 2015 post's gallery; run ``python experiments/cheeseburger.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('cheeseburger', ['cheeseburger'], 'Cheeseburger: something one would eat.'))
