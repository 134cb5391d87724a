"""Shared runner for the figure scripts: one picture of the 2015 gallery.

Each ``experiments/<figure>.py`` names its classes and the post's caption
and calls :func:`main`.  The picture is made with the 2015 stream settings
(the gallery was taken from the Twitch stream) and written, with a JSON
record of its classes, settings and run time, to ``results/``;
``experiments/gallery.py`` then builds ``results/index.html``.
"""
import argparse
import dataclasses
import os
import sys

from reproduce import paths
from reproduce.commands._options import add_dream_arguments, picture_job
from reproduce.errors import UserError
from reproduce.fileio import save_image
from reproduce.report.gallery import write_record

# QUICK=1: the same recipe at a small size with few steps, to check the pipeline.
QUICK = (("image_size", (256, 224)), ("steps", 6), ("steps_per_zoom", 3))


def parse(argv, classes):
    """The script's options -> (options, the picture's job)."""
    p = argparse.ArgumentParser(description="one figure of the 2015 gallery")
    add_dream_arguments(p)
    p.add_argument("--results", default=paths.RESULTS_DIR)
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    p.set_defaults(profile="stream2015")
    args = p.parse_args(argv)
    job = picture_job(args)
    job = dataclasses.replace(job, classes=job.classes or tuple(classes),
                              overrides=(QUICK if args.quick else ()) + job.overrides)
    return args, job


def main(name, classes, caption, argv=None):
    """Make figure ``name`` for ``classes``; exit 2 with one line on bad input."""
    from reproduce.recipes import dream_picture, get_recipe
    try:
        args, job = parse(sys.argv[1:] if argv is None else argv, classes)
        if not os.path.exists(job.weights):
            raise UserError("%s not found; run `make weights` first (or pass "
                            "--weights / make figures WEIGHTS=...)" % job.weights)
        result = dream_picture(job, progress=not args.no_progress)
        image_path = os.path.join(args.results, name + ".png")
        save_image(result.image, image_path)
        record = {"name": name, "image": name + ".png", "classes": list(job.classes),
                  "caption": caption, "seconds": round(result.seconds, 1),
                  "steps": result.steps, "interrupted": result.interrupted,
                  "quick": args.quick, "weights": os.path.basename(job.weights),
                  "prior": get_recipe(job.recipe).prior_label(job),
                  "settings": {k: list(v) if isinstance(v, tuple) else v
                               for k, v in result.profile.settings().items()}}
        write_record(record, os.path.join(args.results, name + ".json"))
        print("%s: %s (%d steps, %.1f s)" % (name, image_path, result.steps,
                                            result.seconds))
        return 130 if result.interrupted else 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
