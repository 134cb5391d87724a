"""Stream bench: do the in-between frames keep up with 25 frames a second
while the optimiser runs beside them?

The live page interpolates between key frames while the optimiser runs in
another process.  This starts that optimiser (the stream's default: the
embedded EfficientNet-Lite0 with the fourier-zoom recipe at 336x192; the
tiny test net with ``--tiny``) and, while it makes key frames, times on
one thread what the stream does for each frame:

* interpolation: :func:`reproduce.stream.interpolate.in_between` (two
  bilinear warps and a blend) for the 17 frames between two key frames,
  both ways: exact (the default, within 1 level of the reference) and
  OpenCV's fixed-point ``warpAffine`` (``exact=False``), and the reference
  :func:`reproduce.lsd2015.frames.in_between` (scikit-image, float64) for
  comparison, interleaved;
* the whole frame: interpolation, then the overlay and the JPEG the page
  receives (:func:`reproduce.stream.keyframes.compose`, ``encode_jpeg``),
  both ways; "keeps up" is the default's (exact) whole frame.

Sizes: 336x192 (our CPU default), 840x472 and 1024x576 (the 2015
optimised and stream sizes), from a 336x192 key frame scaled up as the
stream does.  It prints the load (``os.getloadavg``): on a shared machine
the numbers are what was left over.

Run: ``python -m bench stream`` (``make bench``) or
``python -m bench.bench_stream [--sizes ...] [--repeats 3] [--no-optimiser]``.
"""
import argparse
import os
import threading
import time

import numpy as np

from reproduce.fileio import to_uint8
from reproduce.lsd2015 import frames as reference
from reproduce.lsd2015.profiles import STREAM2015
from reproduce.stream import interpolate
from reproduce.stream.keyframes import compose, encode_jpeg

OVERLAY = "rabbit & analog clock"
KEY_SIZE = (336, 192)


#: the columns: (exact, whole frame: overlay + JPEG too); None: the reference
HOWS = {"reference": None, "exact": (True, False), "exact whole": (True, True),
        "fixed": (False, False), "fixed whole": (False, True)}


def frames_per_second(previous, following, out_shape, how, profile=STREAM2015):
    """Stream frames a second for one run of ``frames_per_key`` frames."""
    n = profile.frames_per_key
    started = time.perf_counter()
    if HOWS[how] is None:
        for frame in reference.in_between(previous, following, n, profile, out_shape):
            to_uint8(frame)
    else:
        exact, whole = HOWS[how]
        for frame in interpolate.in_between(previous, following, n, profile, out_shape,
                                            exact=exact):
            if whole:
                encode_jpeg(compose(frame, OVERLAY))
    return n / (time.perf_counter() - started)


def start_optimiser(tiny):
    """The stream's optimiser process, making key frames."""
    from reproduce.job import StreamJob
    from reproduce.paths import EMBEDDED_CLASSIFIER
    from reproduce.stream.keyframes import KeyFrameWorker
    from reproduce.stream.setup import prepare
    if tiny or not os.path.exists(EMBEDDED_CLASSIFIER):
        # the tests' tiny model, from the repository root (``python -m bench`` runs there)
        from tests.helpers.models import tiny_vgg
        job = StreamJob(weights=tiny_vgg(), recipe="lsd2015", prior="none", size=KEY_SIZE)
    else:  # the stream's default: fourier-zoom on the embedded classifier
        job = StreamJob(weights=EMBEDDED_CLASSIFIER, recipe="fourier-zoom", size=KEY_SIZE)
    setup = prepare(job)
    worker = KeyFrameWorker(job, setup.profile, setup.image, setup.start.classes)
    worker.start()
    name = getattr(job.weights, "model_name", os.path.basename(str(job.weights)))
    return worker, "%s on %s" % (job.recipe, name)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_stream")
    parser.add_argument("--sizes", nargs="+", default=["336x192", "840x472", "1024x576"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-optimiser", action="store_true",
                        help="time the frames alone, without the optimiser beside them")
    parser.add_argument("--tiny", action="store_true",
                        help="run the tiny test net as the optimiser (fast to compile)")
    args = parser.parse_args(argv)
    fps = STREAM2015.fps
    worker, what = (None, "none") if args.no_optimiser else start_optimiser(args.tiny)
    done, keys = threading.Event(), [0]

    def drain():  # take its key frames as the stream would, so it never waits
        while not done.is_set():
            keys[0] += worker.get(0.2) is not None

    if worker is not None:
        threading.Thread(target=drain, daemon=True).start()
    try:
        rng = np.random.RandomState(0)
        from scipy import ndimage
        texture = ndimage.gaussian_filter(rng.rand(KEY_SIZE[1], KEY_SIZE[0], 3) * 255,
                                          (1, 1, 0))
        previous = np.float32(np.clip((texture - texture.mean()) * 4 + 128, 0, 255))
        following = reference.zoom(previous, STREAM2015)
        print("stream frames from %dx%d key frames, one thread, best of %d runs of %d "
              "frames (the stream needs %d a second); optimiser beside: %s; "
              "load average %.1f on %d cores" % (
                  KEY_SIZE[0], KEY_SIZE[1], args.repeats, STREAM2015.frames_per_key,
                  fps, what, os.getloadavg()[0], os.cpu_count()))
        print("%-10s %10s %10s %20s %12s %20s %8s" % (
            "size", "reference", "exact", "exact+overlay+JPEG", "fixed-point",
            "fixed+overlay+JPEG", "keeps up"))
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            best = dict.fromkeys(HOWS, 0.0)
            for _ in range(args.repeats):  # interleaved: the load changes under us
                for how in best:
                    best[how] = max(best[how], frames_per_second(
                        previous, following, (height, width), how))
            print("%-10s %6.1f fps %6.1f fps %16.1f fps %8.1f fps %16.1f fps %8s" % (
                size, best["reference"], best["exact"], best["exact whole"], best["fixed"],
                best["fixed whole"], "yes" if best["exact whole"] >= fps else "no"), flush=True)
        if worker is not None:
            print("the optimiser made %d key frames meanwhile (still running: %s)"
                  % (keys[0], worker.alive))
    finally:
        done.set()
        if worker is not None:
            worker.stop()
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
