"""Stream bench: can the in-between frames keep up with 25 frames a second?

The live page interpolates between key frames on the CPU while the
optimiser runs in another process.  This times, on one thread, what the
stream does for each frame:

* interpolation: :func:`reproduce.lsd2015.frames.in_between` (two bilinear warps
  and a blend) for the 17 frames between two key frames;
* the whole frame: interpolation, then the overlay text and the JPEG the
  page receives (:func:`reproduce.stream.keyframes.compose`, ``encode_jpeg``).

Sizes: 336x192 (our CPU default) and 1024x576 (the 2015 stream, for
reference; 2015 spread it over several processes).  Key frames are random
images zoomed the 2015 way, so the warps sample real data.

Run: ``python -m bench stream`` (``make bench``) or
``python -m bench.bench_stream [--sizes 336x192 1024x576] [--repeats 3]``.
"""
import argparse
import time

import numpy as np

from reproduce.fileio import to_uint8
from reproduce.lsd2015.frames import in_between, zoom
from reproduce.lsd2015.profiles import STREAM2015
from reproduce.stream.keyframes import compose, encode_jpeg

OVERLAY = "rabbit & analog clock"


def frames_per_second(width, height, whole, repeats, profile=STREAM2015):
    """Best of ``repeats`` runs: stream frames a second, on one thread."""
    rng = np.random.RandomState(0)
    previous = (rng.rand(height, width, 3) * 255).astype(np.float32)
    following = zoom(previous, profile)
    n = profile.frames_per_key
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        for frame in in_between(previous, following, n, profile, (height, width)):
            if whole:
                encode_jpeg(compose(frame, OVERLAY))
            else:
                to_uint8(frame)
        best = max(best, n / (time.perf_counter() - started))
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_stream")
    parser.add_argument("--sizes", nargs="+", default=["336x192", "1024x576"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    fps = STREAM2015.fps
    print("stream frames, one thread (best of %d runs of %d frames; the stream "
          "needs %d a second)" % (args.repeats, STREAM2015.frames_per_key, fps))
    print("%-10s %14s %22s %8s" % ("size", "interpolation", "+ overlay + JPEG", "keeps up"))
    for size in args.sizes:
        width, height = (int(v) for v in size.split("x"))
        interp = frames_per_second(width, height, False, args.repeats)
        whole = frames_per_second(width, height, True, args.repeats)
        print("%-10s %10.1f fps %18.1f fps %8s" % (size, interp, whole,
                                                   "yes" if whole >= fps else "no"))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
