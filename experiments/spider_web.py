"""Spider web: spider webs need spiders; note the water drops, with reflection and refraction.

From the 2015 post's gallery; run ``python experiments/spider_web.py --help``.
"""
import sys

from figure import main

if __name__ == "__main__":
    sys.exit(main('spider_web', ['spider web'], 'Spider web: spider webs need spiders; note the water drops, with reflection and refraction.'))
