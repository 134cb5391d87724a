"""Shared runner for the figure scripts: one picture of the 2015 gallery.

Each ``experiments/<figure>.py`` names its classes and the post's caption
and calls :func:`main`.  The picture is made with the 2015 stream settings
(the gallery was taken from the Twitch stream) and written, with a JSON
record of its classes, settings and run time, to ``results/``;
``experiments/gallery.py`` then builds ``results/index.html``.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from reproduce.commands.dream import add_dream_arguments  # noqa: E402
from reproduce.errors import UserError  # noqa: E402
from reproduce.fileio import save_image  # noqa: E402
from reproduce.report.gallery import write_record  # noqa: E402

# QUICK=1: the same recipe at a small size with few steps, to check the pipeline.
QUICK = ["image_size=256x224", "steps=6", "steps_per_zoom=3"]


def parse(argv, classes):
    p = argparse.ArgumentParser(description="one figure of the 2015 gallery")
    add_dream_arguments(p)
    p.add_argument("--results", default=os.path.join(os.path.dirname(HERE), "results"))
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    p.set_defaults(profile="stream2015")
    args = p.parse_args(argv)
    args.classes = args.classes or list(classes)
    if args.quick:
        args.set = QUICK + list(args.set)
    return args


def main(name, classes, caption, argv=None):
    """Make figure ``name`` for ``classes``; exit 2 with one line on bad input."""
    from reproduce.pipeline import dream_picture
    from reproduce.recipes import get_recipe
    args = parse(sys.argv[1:] if argv is None else argv, classes)
    try:
        if not os.path.exists(args.weights):
            raise UserError("%s not found; run `make weights` first (or pass "
                            "--weights / make figures WEIGHTS=...)" % args.weights)
        result = dream_picture(args)
        image_path = os.path.join(args.results, name + ".png")
        save_image(result.image, image_path)
        record = {"name": name, "image": name + ".png", "classes": args.classes,
                  "caption": caption, "seconds": round(result.seconds, 1),
                  "steps": result.steps, "interrupted": result.interrupted,
                  "quick": args.quick, "weights": os.path.basename(args.weights),
                  "prior": get_recipe(args.recipe).prior_label(args),
                  "settings": {k: list(v) if isinstance(v, tuple) else v
                               for k, v in result.profile.settings().items()}}
        write_record(record, os.path.join(args.results, name + ".json"))
        print("%s: %s (%d steps, %.1f s)" % (name, image_path, result.steps,
                                            result.seconds))
        return 130 if result.interrupted else 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
