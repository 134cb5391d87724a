"""The class pictures of ``make demo``: the embedded classifier, both recipes.

For each class, EfficientNet-Lite0 (weights/efficientnet_lite0.h5, made by
``make setup``) paints it twice at 224x224:

* ``<class>_fourier``: decorrelated Fourier image + random transforms +
  Adam, 256 steps -- the recipe that makes it recognisable;
* ``<class>_lsd2015``: the 2015 recipe (pixels, Student-t patch prior, the
  2015 update rule, zoom; the stream settings) beside it, for comparison.

Each picture gets a JSON record in the format of ``experiments/figure.py``
(plus ``recipe``, ``seed`` and the judge's verdict) in ``results/demo/``;
``python experiments/gallery.py --results results/demo`` builds the page.
``--judge`` (default on) asks EfficientNet-Lite2, which made none of the
pictures, for its top 5 of the picture and of views that remove texture
(``ViewJudge``, reproduce/report/judge.py): a class counts only if it
survives every view.

Usage: python experiments/demo_classes.py [--quick] [--classes volcano ...]
           [--recipes fourier lsd2015] [--seeds 1] [--results results/demo]
"""
import argparse
import os
import sys

from reproduce import paths
from reproduce.errors import UserError
from reproduce.job import PictureJob

CLASSES = ("volcano", "bee", "broccoli")
RECIPES = ("fourier", "lsd2015")

# The settings of each recipe for the demo, and their --quick variants.
PROFILES = {"fourier": "image2015", "lsd2015": "stream2015"}  # fourier: its own
SETTINGS = {
    "fourier": (),
    "lsd2015": (("image_size", (224, 224)),),
}
QUICK = {
    "fourier": (("image_size", (96, 96)), ("steps", 8)),
    "lsd2015": (("image_size", (96, 96)), ("steps_per_zoom", 3), ("steps", 6)),
}
CAPTIONS = {
    "fourier": "%s: decorrelated Fourier image, random pad/jitter/scale/rotate, "
               "Adam (EfficientNet-Lite0)",
    "lsd2015": "%s: the 2015 recipe -- pixels, Student-t patch prior, the 2015 "
               "update rule, zoom (EfficientNet-Lite0)",
}


def demo_prior():
    """The 2015 recipe's prior: our fitted one (None), else the 2015 files."""
    if os.path.exists(paths.PRIOR):
        return None
    if os.path.exists(os.path.join(paths.LSD2015_DIR, "student_prior_filters.npy")):
        return "lsd2015"
    raise UserError("%s: no fitted prior, and no 2015 prior files in %s; fit one "
                    "with `python -m reproduce fit-prior` (or run with "
                    "--recipes fourier)" % (paths.PRIOR, paths.LSD2015_DIR))


def demo_job(recipe, cls, seed, options):
    """The job of one picture."""
    return PictureJob(weights=options.weights, classes=(cls,), recipe=recipe,
                      profile=PROFILES[recipe], seed=seed,
                      overrides=SETTINGS[recipe] + (QUICK[recipe] if options.quick else ()),
                      prior=demo_prior() if recipe == "lsd2015" else None)


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=paths.EMBEDDED_CLASSIFIER)
    p.add_argument("--classes", nargs="+", default=list(CLASSES), metavar="NAME")
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=RECIPES)
    p.add_argument("--seeds", type=int, default=1, help="pictures per class and recipe")
    p.add_argument("--results", default=os.path.join(paths.RESULTS_DIR, "demo"))
    p.add_argument("--quick", action="store_true", help="tiny and short: a smoke run")
    p.add_argument("--no-judge", dest="judge", action="store_false",
                   help="skip the verdicts of EfficientNet-Lite2")
    return p.parse_args(argv)


def picture_name(cls, recipe, seed):
    base = "%s_%s" % (cls.replace(" ", "_"), recipe)
    return base if seed == 0 else "%s_seed%d" % (base, seed)


def make(options, judge=None):
    """Make and record every picture; returns [(recipe, name, hit or None)]."""
    from reproduce.nets.classes import find_class
    from reproduce.fileio import save_image
    from reproduce.report.gallery import write_record
    from reproduce.recipes import dream_picture, get_recipe
    from reproduce.nets.weights import load_model

    model = load_model(options.weights)
    done = []
    for recipe in options.recipes:          # recipe outermost: one compile each
        for cls in options.classes:
            for seed in range(options.seeds):
                job = demo_job(recipe, cls, seed, options)
                result = dream_picture(job, model, progress=False)
                name = picture_name(cls, recipe, seed)
                save_image(result.image, os.path.join(options.results, name + ".png"))
                record = {"name": name, "image": name + ".png", "classes": [cls],
                          "caption": CAPTIONS[recipe] % cls.capitalize(),
                          "seconds": round(result.seconds, 1), "steps": result.steps,
                          "interrupted": result.interrupted, "quick": options.quick,
                          "weights": os.path.basename(options.weights),
                          "prior": get_recipe(recipe).prior_label(job),
                          "recipe": recipe, "seed": seed,
                          "settings": {k: list(v) if isinstance(v, tuple) else v
                                       for k, v in result.profile.settings().items()}}
                hit = None
                if judge is not None:
                    target = find_class(cls, judge.model.descriptions)
                    v = judge.verdict(result.image, target)
                    hit, rank, names = v.hit, v.rank, v.names
                    record["judge"] = {"model": judge.model.model_name, "hit": hit,
                                       "rank": rank, "top5": names, "as_is": v.as_is,
                                       "views": v.views}
                    record["caption"] += "; %s top 5: %s" % (
                        judge.model.model_name, ", ".join(names))
                write_record(record, os.path.join(options.results, name + ".json"))
                print("%s: %.1f s, %d steps%s" % (
                    name, result.seconds, result.steps,
                    "" if hit is None else "; judge %s" % ("#%d" % rank if hit else "miss")),
                    flush=True)
                done.append((recipe, name, hit))
                if result.interrupted:
                    return done
    return done


def main(argv=None):
    options = parse(sys.argv[1:] if argv is None else argv)
    try:
        if not os.path.exists(options.weights):
            raise UserError("%s not found; run `make setup` (it converts the "
                            "embedded classifier)" % options.weights)
        if "lsd2015" in options.recipes:
            demo_prior()  # fail before the first picture, not after it
        judge = None
        if options.judge:
            from reproduce.report.judge import ViewJudge
            judge = ViewJudge.load()  # the picture and its texture-free views
        done = make(options, judge)
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    if judge is not None:
        from reproduce.report.judge import TOP, rate
        for recipe in options.recipes:
            hits = [hit for r, _, hit in done if r == recipe]
            print("%s: %s top-%d rate %d/%d (%.0f%%)" % (
                recipe, judge.model.model_name, TOP, sum(hits), len(hits),
                100 * rate(hits)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
