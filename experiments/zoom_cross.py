"""Is there a cross at the zoom centre?  The stream's key frames, measured.

Every zoom maps the rows and columns through its fixed point onto
themselves at the same sampling phase, so the interpolation never blurs
them while it blurs every other row a little (docs/stream.md, "On the
page").  For each recipe and ``zoom_dither`` setting, the stream's
optimiser makes ``--keys`` key frames (as ``stream`` records them: the
embedded EfficientNet-Lite0, 336x192, seed 0) and the last ``--last`` of
them are measured: the mean neighbour difference of the 12 rows (and
columns) about the centre over the median row's (column's).  1.0 is no
cross.  Also judged (ViewJudge, every view) from the third key frame on.
Printed, and the last key frame of each run saved to ``--results``.

Usage: python experiments/zoom_cross.py [--recipes fourier-zoom lsd2015]
           [--classes bee] [--keys 40] [--last 10] [--results DIR]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DITHERS = ("none", "subpixel")
BAND = 6  # rows (columns) each side of the centre


def centre_contrast(image):
    """(rows, columns): the centre band's neighbour difference over the median's."""
    rows = np.abs(np.diff(image, axis=0)).mean(axis=(1, 2))
    cols = np.abs(np.diff(image, axis=1)).mean(axis=(0, 2))
    r, c = image.shape[0] // 2, image.shape[1] // 2
    return (float(rows[r - BAND:r + BAND].mean() / np.median(rows)),
            float(cols[c - BAND:c + BAND].mean() / np.median(cols)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipes", nargs="+", default=["fourier-zoom", "lsd2015"])
    p.add_argument("--classes", nargs="+", default=["bee"])
    p.add_argument("--keys", type=int, default=40)
    p.add_argument("--last", type=int, default=10)
    p.add_argument("--results", default=os.path.join(HERE, "..", "results", "zoom_cross"))
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.dirname(HERE))
    from stream_classes import key_frames_of
    from reproduce.fileio import save_image
    from reproduce.paths import EMBEDDED_CLASSIFIER
    from reproduce.nets.classes import find_class
    from reproduce.report.judge import ViewJudge
    os.makedirs(args.results, exist_ok=True)
    judge = ViewJudge.load()
    rows = []
    for recipe in args.recipes:
        for cls in args.classes:
            target = find_class(cls, judge.model.descriptions)
            for dither in DITHERS:
                start = time.perf_counter()
                frames = [np.asarray(image, np.float32) for _, image in key_frames_of(
                    recipe, cls, None, EMBEDDED_CLASSIFIER, (336, 192), keys=args.keys,
                    overrides=(("zoom_dither", dither),))]
                seconds = time.perf_counter() - start
                measured = np.array([centre_contrast(f) for f in frames[-args.last:]])
                hits = [judge.verdict(f, target).hit for f in frames[2:]]
                name = "%s_%s_%s.png" % (recipe, cls.replace(" ", "_"), dither)
                save_image(frames[-1], os.path.join(args.results, name))
                row = {"recipe": recipe, "class": cls, "zoom_dither": dither,
                       "keys": len(frames), "rows": float(measured[:, 0].mean()),
                       "columns": float(measured[:, 1].mean()),
                       "judged": "%d/%d" % (sum(hits), len(hits)),
                       "seconds": round(seconds, 1), "last_key_frame": name}
                rows.append(row)
                print("%-12s %-8s %-8s centre rows %.2fx, columns %.2fx the median "
                      "(last %d of %d key frames); every view %s; %.0f s"
                      % (recipe, cls, dither, row["rows"], row["columns"], args.last,
                         len(frames), row["judged"], seconds), flush=True)
    with open(os.path.join(args.results, "cross.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "load": os.getloadavg(),
                   "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    from reproduce.errors import exit_status
    sys.exit(exit_status(main))
