"""Build ``results/index.html`` from the figure records in ``results/*.json``.

Usage: python experiments/gallery.py [--results results] [--title TEXT] [--intro HTML]

The page itself is made by ``reproduce.report.gallery`` (the sweep command uses it too).
"""
import argparse
import sys

from reproduce import paths
from reproduce.report.gallery import build

INTRO = ("Each picture: VGG-16 logits pushed up with the 2015 update rule, "
         "the Student-t patch prior and the zoom, as on the 2015 stream.")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", default=paths.RESULTS_DIR)
    p.add_argument("--title", default="The 2015 LSD neural net gallery, reproduced")
    p.add_argument("--intro", default=INTRO, help="the paragraph under the title (HTML)")
    args = p.parse_args(argv)
    out, n = build(args.results, args.title, args.intro)
    print("%s: %d figures" % (out, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
