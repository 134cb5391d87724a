"""Rabbit and analog clock: two targets, the rabbit on the lower half, the clock on the upper: the white rabbit from Alice in Wonderland.

From the 2015 post's gallery; run ``python experiments/rabbit_and_analog_clock.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('rabbit_and_analog_clock', ['wood rabbit', 'analog clock'], 'Rabbit and analog clock: two targets, the rabbit on the lower half, the clock on the upper: the white rabbit from Alice in Wonderland.'))
