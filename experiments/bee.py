"""Bee: it knows bees need wings and eyes and bodies with legs, but not yet their anatomy.

From the 2015 post's gallery; run ``python experiments/bee.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('bee', ['bee'], 'Bee: it knows bees need wings and eyes and bodies with legs, but not yet their anatomy.'))
