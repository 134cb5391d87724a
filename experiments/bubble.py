"""Bubble: bubbles are transparent, so it put eyes and mouths in them.

From the 2015 post's gallery; run ``python experiments/bubble.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('bubble', ['bubble'], 'Bubble: bubbles are transparent, so it put eyes and mouths in them.'))
