"""Does bfloat16 change the pictures?  Pictures in float32 and in bf16, judged.

For each recipe, class and seed, one picture on the torch backend in
float32 and one in bf16 (docs/precision.md), from the same seed, on the
embedded EfficientNet-Lite0:

* ``lsd2015``: the 2015 recipe (the stream2015 profile: a zoom every 10
  steps, ``--steps`` steps) from seeded grey noise, with our Student-t prior;
* ``fourier``: the Fourier recipe's loop in PyTorch
  (``bench.bench_fourier.TorchLoop``: the decorrelated Fourier image, pad,
  jitter, scale, rotate, jitter, Adam on the spectrum), ``--fourier-steps``
  steps at 224x224.  The recipe itself runs on Theano in float32; this loop
  is its PyTorch twin, the one place its net can run in bf16.

Each picture is judged by :class:`reproduce.report.judge.ViewJudge`
(EfficientNet-Lite2 on the picture and on views that remove texture): the
target's rank as it is (None: not in the top 5) and whether it is in the top
5 of every view.  Printed, and written with the pictures to
``results/precision_judge/`` (``rates.json``).

Usage: python experiments/precision_judge.py [--recipes fourier lsd2015]
           [--classes volcano bee broccoli] [--seeds 0 1] [--size 224x224]
           [--steps 200] [--fourier-steps 256] [--results DIR]
"""
import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = ("volcano", "bee", "broccoli")
PRECISIONS = ("float32", "bf16")
RECIPES = ("fourier", "lsd2015")


def fourier_picture(cls, seed, precision, steps):
    """(image, seconds, class index) of the Fourier loop in PyTorch at 224x224."""
    import torch
    from bench.bench_fourier import TorchLoop
    from reproduce.nets.weights import load_model
    from reproduce.paths import EMBEDDED_CLASSIFIER
    from reproduce.nets.classes import find_class
    model = load_model(EMBEDDED_CLASSIFIER)
    target = find_class(cls, model.descriptions)
    loop = TorchLoop(model, torch.get_num_threads(), precision=precision, target=target,
                     seed=seed)
    start = time.perf_counter()
    loop.steps(steps)
    return loop.picture(), time.perf_counter() - start, target


def picture(cls, seed, precision, size, steps, empty_dir):
    """(image, seconds, class index) of one 2015-recipe picture on the torch backend."""
    from reproduce.job import PictureJob
    from reproduce.paths import EMBEDDED_CLASSIFIER
    from reproduce.recipes import dream_picture
    job = PictureJob(weights=EMBEDDED_CLASSIFIER, classes=(cls,), profile="stream2015",
                     overrides=(("image_size", size), ("steps", steps),
                                ("precision", precision)),
                     prior_dir=empty_dir,  # no 2015 start image: seeded grey noise
                     seed=seed, backend="torch", device="cpu")
    result = dream_picture(job, progress=False)
    return result.image, result.seconds, result.classes[0]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    p.add_argument("--classes", nargs="+", default=list(CLASSES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--size", default="224x224")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--fourier-steps", type=int, default=256)
    p.add_argument("--results", default=os.path.join(HERE, "..", "results",
                                                     "precision_judge"))
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(HERE))
    from reproduce.commands._options import parse_size
    from reproduce.fileio import save_image
    from reproduce.report.judge import ViewJudge
    size = parse_size(args.size)
    os.makedirs(args.results, exist_ok=True)
    judge = ViewJudge.load()
    rows = []
    with tempfile.TemporaryDirectory() as empty:
        for recipe in args.recipes:
            for cls in args.classes:
                for seed in args.seeds:
                    for precision in PRECISIONS:
                        if recipe == "fourier":
                            image, seconds, target = fourier_picture(
                                cls, seed, precision, args.fourier_steps)
                        else:
                            image, seconds, target = picture(cls, seed, precision, size,
                                                             args.steps, empty)
                        name = "%s_%s_seed%d_%s.png" % (recipe, cls.replace(" ", "_"),
                                                        seed, precision)
                        save_image(image, os.path.join(args.results, name))
                        v = judge.verdict(image, target)
                        rows.append({"recipe": recipe, "class": cls, "seed": seed,
                                     "precision": precision, "seconds": round(seconds, 1),
                                     "rank": v.rank, "views": v.views, "hit": v.hit,
                                     "picture": name})
                        print("%-8s %-10s seed %d %-7s %6.1f s  rank as is %-4s every "
                              "view %s" % (recipe, cls, seed, precision, seconds, v.rank,
                                           v.hit), flush=True)
    summary = {}
    for recipe in args.recipes:
        for precision in PRECISIONS:
            mine = [r for r in rows if r["precision"] == precision and r["recipe"] == recipe]
            summary["%s %s" % (recipe, precision)] = got = {
                "top5_as_is": sum(r["rank"] is not None for r in mine) / len(mine),
                "top5_every_view": sum(r["hit"] for r in mine) / len(mine),
                "seconds": sum(r["seconds"] for r in mine) / len(mine)}
            print("%-8s %-7s top 5 as is %.0f%%, in every view %.0f%%, %.1f s a picture" % (
                recipe, precision, 100 * got["top5_as_is"], 100 * got["top5_every_view"],
                got["seconds"]))
    with open(os.path.join(args.results, "rates.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "size": list(size),
                   "steps": args.steps, "fourier_steps": args.fourier_steps, "load": os.getloadavg(), "rows": rows,
                   "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    from reproduce.errors import exit_status
    sys.exit(exit_status(main))
