"""How recognisable is the stream?  Key frames of a recording, judged.

For each recipe and class, the stream's optimiser runs as ``python -m
reproduce stream`` records (the embedded EfficientNet-Lite0, the default
size 336x192, fixed span of ``frames_per_key`` frames per key frame, so
``--seconds`` of video are seconds * fps / frames_per_key key frames), and
every key frame is saved to ``results/stream_judge/`` and judged by
:class:`reproduce.report.judge.ViewJudge` (EfficientNet-Lite2 on the
picture and on views that remove texture).  Printed and written to
``results/stream_judge/rates.json``: the fraction of key frames with the
requested class in the judge's top 5, from the third key frame on, and a
strip of frames per recipe (``strip_<recipe>.png``).

Usage: python experiments/stream_classes.py [--seconds 30] [--classes volcano
           bee broccoli] [--recipes fourier-zoom lsd2015] [--results DIR]
"""
import argparse
import json
import os
import sys
import time

from reproduce.errors import UserError

HERE = os.path.dirname(os.path.abspath(__file__))

CLASSES = ("volcano", "bee", "broccoli")
RECIPES = ("fourier-zoom", "lsd2015")
FROM_KEY = 2          # judged from the third key frame on (index 2)


def key_frames_of(recipe_name, cls, seconds, weights, size, seed=0, keys=None, overrides=()):
    """Yield the recording's key frames: (index, image); ``overrides`` are
    (setting, value) pairs, as ``--set`` gives them."""
    from reproduce.job import StreamJob
    from reproduce.recipes import build_dreamer, check_job
    from reproduce.stream.keyframes import Pace, key_frames
    from reproduce.stream.setup import prepare
    setup = prepare(StreamJob(weights=weights, recipe=recipe_name, classes=(cls,),
                              size=size, seed=seed, overrides=tuple(overrides)))
    profile = setup.profile
    dreamer = build_dreamer(setup.job, profile)
    # each class starts afresh from the seed, as a new stream does (the
    # compiled dreamer is shared between classes)
    check_job(setup.job).begin(dreamer, setup.image, seed)
    count = keys or int(round(seconds * profile.fps / float(profile.frames_per_key)))
    pace = Pace(profile, adaptive=False)
    for k, key in enumerate(key_frames(dreamer, profile, lambda: setup.start.classes,
                                       pace.frames)):
        yield k, key.image
        if k + 1 >= count:
            return


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--classes", nargs="+", default=list(CLASSES))
    p.add_argument("--recipes", nargs="+", default=list(RECIPES))
    p.add_argument("--size", default="336x192")
    p.add_argument("--keys", type=int, default=None,
                   help="key frames per class instead of --seconds (a quick run)")
    p.add_argument("--skip-existing", action="store_true",
                   help="keep a recipe and class whose key frames are already there")
    p.add_argument("--weights", default=os.path.join(os.path.dirname(HERE), "weights",
                                                     "efficientnet_lite0.h5"))
    p.add_argument("--results", default=os.path.join(os.path.dirname(HERE), "results",
                                                     "stream_judge"))
    p.add_argument("--judge-only", action="store_true",
                   help="judge the key frames already in --results")
    args = p.parse_args(argv)
    try:
        return run(args)
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2


def run(args):
    import numpy as np

    from reproduce.fileio import load_image, save_image
    from reproduce.nets.classes import find_class
    from reproduce.report.judge import ViewJudge

    os.makedirs(args.results, exist_ok=True)
    size = tuple(int(v) for v in args.size.split("x"))
    if not args.judge_only:
        for recipe in args.recipes:
            for cls in args.classes:
                if args.skip_existing and os.path.exists(os.path.join(
                        args.results, "%s_%s_k%03d.png" % (recipe, cls, FROM_KEY))):
                    continue
                started = time.time()
                for k, image in key_frames_of(recipe, cls, args.seconds, args.weights,
                                              size, keys=args.keys):
                    save_image(image, os.path.join(args.results, "%s_%s_k%03d.png"
                                                   % (recipe, cls, k)))
                print("%s %s: %d key frames in %.0f s" % (recipe, cls, k + 1,
                                                          time.time() - started),
                      flush=True)
    judge = ViewJudge.load()
    rates = {}
    for recipe in args.recipes:
        hits, per_class = [], {}
        for cls in args.classes:
            target = find_class(cls, judge.model.descriptions)
            names = sorted(f for f in os.listdir(args.results)
                           if f.startswith("%s_%s_k" % (recipe, cls)) and f.endswith(".png"))
            verdicts = [judge.verdict(load_image(os.path.join(args.results, f)), target)
                        for f in names]
            judged = [v.hit for v in verdicts[FROM_KEY:]]
            per_class[cls] = {"key_frames": len(verdicts), "judged": len(judged),
                              "hits": int(sum(judged)),
                              "as_is_hits": int(sum(v.as_is for v in verdicts[FROM_KEY:]))}
            hits += judged
        rates[recipe] = {"rate": float(np.mean(hits)) if hits else 0.0,
                         "judged": len(hits), "classes": per_class}
        print("%s: requested class in the judge's top 5 (every view) for %d of %d "
              "key frames from the third on (%.0f%%); %s" % (
                  recipe, sum(hits), len(hits), 100 * rates[recipe]["rate"],
                  ", ".join("%s %d/%d" % (c, v["hits"], v["judged"])
                            for c, v in per_class.items())), flush=True)
        strip(args.results, recipe, args.classes)
    rates["judge"] = judge.describe()
    with open(os.path.join(args.results, "rates.json"), "w") as f:
        json.dump(rates, f, indent=1)
    return 0


def strip(folder, recipe, classes, keys=(2, 10, 30)):
    """strip_<recipe>.png: rows of classes, key frames ``keys`` (where present)."""
    from PIL import Image
    rows = []
    for cls in classes:
        row = [os.path.join(folder, "%s_%s_k%03d.png" % (recipe, cls, k)) for k in keys]
        rows.append([Image.open(f) for f in row if os.path.exists(f)])
    if not rows or not rows[0]:
        return
    w, h = rows[0][0].size
    out = Image.new("RGB", (w * max(len(r) for r in rows), h * len(rows)))
    for i, row in enumerate(rows):
        for j, im in enumerate(row):
            out.paste(im, (j * w, i * h))
    out.save(os.path.join(folder, "strip_%s.png" % recipe))


if __name__ == "__main__":
    sys.exit(main())
