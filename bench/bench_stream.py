"""Stream bench: do the in-between frames keep up with 25 frames a second
while the optimiser runs beside them?

The live page interpolates between key frames while the optimiser runs in
another process.  This starts that optimiser (the stream's default: the
embedded EfficientNet-Lite0 with the fourier-zoom recipe at 336x192; the
tiny test net with ``--tiny``) and, while it makes key frames, times what
the stream does for each frame (the exact path's C splits its rows over
``reproduce.backend.thread_budget()`` threads, the fixed-point path is
OpenCV's own threading):

* interpolation: :func:`reproduce.stream.interpolate.in_between` (two
  bilinear warps and a blend) for the 17 frames between two key frames,
  both ways: exact (the default, the in-between C Op, within 1 level of
  the reference) and OpenCV's fixed-point ``warpAffine`` (``exact=False``),
  and the reference
  :func:`reproduce.lsd2015.frames.in_between` (scikit-image, float64) for
  comparison, interleaved;
* the whole frame: interpolation, then the overlay and the JPEG the page
  receives (:func:`reproduce.stream.keyframes.compose`, ``encode_jpeg``),
  both ways; "keeps up" is the default's (exact) whole frame.

Sizes: 336x192 (our CPU default), 840x472 and 1024x576 (the 2015
optimised and stream sizes), from a 336x192 key frame scaled up as the
stream does.  It prints the load (``os.getloadavg``): on a shared machine
the numbers are what was left over.

``--candidates``: instead, the ways to make one bilinear warp that were
weighed for the exact path (OpenCV, Pillow, scipy, numpy, scikit-image,
PyTorch when installed), ms per warp and max error against scikit-image's
float64 warp, interleaved (docs/stream.md).

Run: ``python -m bench stream`` (``make bench``) or
``python -m bench stream [--sizes ...] [--repeats 3] [--no-optimiser] [--candidates]``.
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


def warp_candidates(image, scale, degrees, out_shape):
    """{name: function()} making ``frames.warp(image, scale, degrees,
    out_shape, order=1)`` each way; what can be kept across frames of one
    geometry (positions, matrices) is made here, outside the timing."""
    from concurrent.futures import ThreadPoolExecutor
    import cv2
    from PIL import Image
    from scipy import ndimage, sparse
    (rows, cols), size = image.shape[:2], (out_shape[1], out_shape[0])
    m = interpolate.affine(image.shape, out_shape, scale, degrees)
    # Pillow: pixel centres at +0.5, and an edge-padded copy for the edge rule
    padded = cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    data = [m[r, c] for r in (0, 1) for c in (0, 1)]
    data = (data[0], data[1], m[0, 2] + 1.5 - 0.5 * (data[0] + data[1]),
            data[2], data[3], m[1, 2] + 1.5 - 0.5 * (data[2] + data[3]))
    planes = [Image.fromarray(np.ascontiguousarray(padded[..., c]), "F") for c in range(3)]
    pool = ThreadPoolExecutor(2)

    def pillow(plane):
        return np.asarray(plane.transform(size, Image.AFFINE, data, resample=Image.BILINEAR))

    # kept 4-tap indices and weights (clamped: the edge rule)
    x = np.arange(out_shape[1], dtype=np.float64)
    y = np.arange(out_shape[0], dtype=np.float64)[:, None]
    sx = np.clip(m[0, 0] * x + m[0, 1] * y + m[0, 2], 0, cols - 1)
    sy = np.clip(m[1, 0] * x + m[1, 1] * y + m[1, 2], 0, rows - 1)
    x0, y0 = np.minimum(np.floor(sx), cols - 2), np.minimum(np.floor(sy), rows - 2)
    fx, fy = (sx - x0).ravel(), (sy - y0).ravel()
    at = (y0 * cols + x0).astype(np.int64).ravel()
    weights = np.float32(np.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1))
    taps = np.stack([at, at + 1, at + cols, at + cols + 1], 1)
    matrix = sparse.csr_matrix((weights.ravel(), taps.ravel(), np.arange(0, taps.size + 1, 4)),
                               shape=(at.size, rows * cols))
    flat = image.reshape(-1, 3)
    found = {
        "cv2.warpAffine (fixed point)": lambda: interpolate.warp_linear(image, scale, degrees,
                                                                       out_shape),
        "in-between Op (exact, default)": lambda: interpolate.warp_exact(image, scale,
                                                                        degrees, out_shape),
        "scipy.sparse, matrix kept": lambda: (matrix @ flat).reshape(out_shape + (3,)),
        "Pillow mode F x 3": lambda: cv2.merge([pillow(p) for p in planes]),
        "Pillow mode F x 3, 2 threads": lambda: cv2.merge(list(pool.map(pillow, planes))),
        "numpy gather, taps kept": lambda: sum(
            flat[taps[:, k]] * weights[:, k:k + 1] for k in range(4)).reshape(out_shape + (3,)),
        "scikit-image warp (reference)": lambda: reference.warp(image, scale, degrees,
                                                                out_shape, order=1),
        "scipy.ndimage.affine_transform": lambda: cv2.merge([ndimage.affine_transform(
            np.ascontiguousarray(image[..., c]), m[1::-1, 1::-1], m[1::-1, 2],
            output_shape=out_shape, order=1, mode="nearest", prefilter=False)
            for c in range(3)]),
    }
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return found
    grid = np.dstack([(m[0, 0] * x + m[0, 1] * y + m[0, 2]) / (cols - 1),
                      (m[1, 0] * x + m[1, 1] * y + m[1, 2]) / (rows - 1)]) * 2 - 1
    grid = torch.from_numpy(np.float32(grid))[None]
    planar = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
    found["torch grid_sample (not a stream dependency)"] = lambda: F.grid_sample(
        planar, grid, mode="bilinear", padding_mode="border",
        align_corners=True)[0].numpy().transpose(1, 2, 0)
    return found


def compare_warps(repeats):
    """Print ms per warp and max error of :func:`warp_candidates`, interleaved,
    on uniform noise (the hardest case for the weights) at the three sizes."""
    slow = ("numpy", "scikit-image", "scipy.ndimage")
    print("one bilinear warp of a 3-channel float32 frame of uniform noise, best of %d "
          "(2 for the slowest); load average %.1f on %d cores"
          % (repeats, os.getloadavg()[0], os.cpu_count()))
    for key, out_shape in (((192, 336), (192, 336)), ((472, 840), (472, 840)),
                           ((472, 840), (576, 1024))):
        image = np.float32(np.random.RandomState(0).rand(*key, 3) * 255)
        fit = min(out_shape[0] / key[0], out_shape[1] / key[1])
        scale = fit * STREAM2015.zoom_speed ** (5.0 / STREAM2015.fps)
        degrees = 5 * STREAM2015.rotation_per_frame
        expected = reference.warp(image, scale, degrees, out_shape, order=1)
        found = warp_candidates(image, scale, degrees, out_shape)
        error = {name: float(np.abs(make() - expected).max()) for name, make in found.items()}
        best = dict.fromkeys(found, float("inf"))
        for repeat in range(repeats):
            for name, make in found.items():
                if repeat >= 2 and name.startswith(slow):
                    continue
                started = time.perf_counter()
                make()
                best[name] = min(best[name], time.perf_counter() - started)
        print("%dx%d from %dx%d key frames (load %.1f)" % (
            out_shape[1], out_shape[0], key[1], key[0], os.getloadavg()[0]))
        for name in found:
            print("  %-44s %8.2f ms   max error %.2g levels"
                  % (name, best[name] * 1e3, error[name]), flush=True)


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
    parser.add_argument("--candidates", action="store_true",
                        help="instead: the ways to make one exact warp, compared")
    args = parser.parse_args(argv)
    if args.candidates:
        compare_warps(max(args.repeats, 2))
        return 0
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
        print("stream frames from %dx%d key frames, best of %d runs of %d "
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
