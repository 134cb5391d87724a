"""``judge``: the top-5 rate of a classifier that made none of the pictures,
on recorded class pictures (:mod:`reproduce.report.judge`)."""
import os

from .. import paths


def register(sub):
    p = sub.add_parser("judge", help="how often a classifier that made none of the "
                                     "pictures names their class in its top 5")
    p.add_argument("--results", default=os.path.join(paths.RESULTS_DIR, "demo"),
                   help="folder of pictures with JSON records (default %s)"
                        % paths.shown(os.path.join(paths.RESULTS_DIR, "demo")))
    p.add_argument("--judge", default=paths.JUDGE,
                   help="the judge's weights (default: EfficientNet-Lite2, "
                        "converted on first use)")
    p.set_defaults(func=run)


def run(args):
    from ..report.judge import judge_folder
    judge_folder(args.results, args.judge)
    return 0
