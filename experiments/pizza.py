"""Pizza: it mixes the object with its surroundings: distorted mouths at the bottom left.

From the 2015 post's gallery; run ``python experiments/pizza.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('pizza', ['pizza'], 'Pizza: it mixes the object with its surroundings: distorted mouths at the bottom left.'))
