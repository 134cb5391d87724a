"""Race: Theano (the reference) against the PyTorch port, side by side on this CPU.

Each workload is timed on both backends in one process, with the same
random inputs and the same FLOP count.  After one warm-up call each, the
backends take turns (A B A B, ``--repeats`` rounds) so that load from other
processes falls on both alike, and the best time of each is reported.
Other processes only ever slow a run down, so the best run is the closest
to the machine's own speed.  CPU seconds (all threads) are printed too.

* VGG-16 step: forward and gradient of sum(logits) with respect to the
  image, at 224x224, 448x448 and the 2015 stream image size 840x472.  It
  uses random weights of VGG-16's real sizes
  (``bench_foundation.vgg16_random_model``) and counts FLOPs as
  ``bench_foundation.step_flops`` does.
* Prior energy: forward and gradient at 840x472, over the stream scales 1,
  4, 8, 16 and 32, with a 192-component Student-t bank.  Random filters cost
  what fitted ones cost.
* Key frame: ``Dreamer.run(10)`` of the stream profile with the prior, that
  is, a zoom and 10 steps of the 2015 rule.  It runs at 320x256, not at
  840x472, to keep the bench near five minutes.  Step time grows with pixels,
  as the VGG rows show.  Both dreamers come from ``recipes.build_dreamer``, as
  everywhere else.  When torch sees a CUDA device, one more row gives the
  torch key frame on it at 840x472 (the stream's size); else the bench says
  "no CUDA device".  That row's % of peak is left out: the peak is the CPU's.

The table gives seconds per call for each backend, and Theano/PyTorch (above
1 means that Theano is slower).  It also gives effective GFLOP/s, that is,
counted FLOPs divided by time, and that rate as a % of the sgemm peak.  The
peak is the best 2048² float32 matmul measured here through numpy,
Theano's ``T.dot`` and torch (``bench_foundation.sgemm_*``).

Run: ``python -m bench race`` (``make bench``) or ``python -m bench.bench_race
[--backends theano torch] [--sizes 224x224 448x448 840x472] [--repeats 2]
[--key-frame 320x256] [--skip-key-frame]``.  ``--backends theano`` times the
reference alone, for comparing Theano flags such as ``THEANO_FLAGS=openmp=True``.
"""
import argparse
import os
import time

import numpy as np

import reproduce.backend  # noqa: F401  (Theano flags first)
from reproduce import blas
from bench.bench_foundation import (compile_step, op_counts, sgemm_numpy, sgemm_theano,
                                    step_flops, time_calls, vgg16_random_model)
from reproduce.backend import theano
from reproduce.commands._options import parse_size
from reproduce.nets.build import build_net
from reproduce.lsd2015.profiles import STREAM2015
from reproduce.prior.fit import LSD2015_NU, PATCH, Prior, usable_scales

STREAM_SCALES = STREAM2015.prior_scales

SIZES = ("224x224", "448x448", "840x472")
PRIOR_SIZE = "840x472"
KEY_FRAME_SIZE = "320x256"
CUDA_KEY_FRAME_SIZE = "840x472"  # the 2015 stream's image size
CLASSES = (330, 409)  # wood rabbit below, analog clock above


def parse_shape(text):
    """'WxH' -> (rows, cols)."""
    return parse_size(text)[::-1]


def random_prior(seed=0, components=192):
    """A Student-t prior with random filters: the cost of the real one, no fit."""
    rng = np.random.RandomState(seed)
    filters = (rng.randn(PATCH, PATCH, 3, components) * 0.01).astype(np.float32)
    return Prior("student", filters, np.zeros(components, np.float32), LSD2015_NU,
                 source="bench: random filters")


def prior_flops(shape, scales=STREAM_SCALES, components=192):
    """Correlation FLOPs of the prior's forward and gradient to the image
    (2 * 2 * windows * 192 inputs * components per scale); pooling and the
    elementwise energy are not counted."""
    total = 0
    for p in usable_scales(scales, shape):
        rows, cols = shape[0] // p - PATCH + 1, shape[1] // p - PATCH + 1
        total += 2 * 2 * rows * cols * PATCH * PATCH * 3 * components
    return total


def sgemm_torch(n=2048, repeats=5, dtype="float32"):
    """GFLOP/s of torch's n x n matmul on the CPU in ``dtype`` ("float32", or
    "bfloat16": bfloat16 products summed in float32 by oneDNN), best of repeats."""
    import torch
    a, b = (torch.rand(n, n).to(getattr(torch, dtype)) for _ in range(2))
    _, best, _ = time_calls(lambda: a @ b, (), repeats)
    return 2.0 * n ** 3 / best / 1e9


# ------------------------------------------------------------------ workloads

def torch_vgg(model, precision="float32", autocast=False):
    """f(x) -> d sum(logits) / d x with the port's net: the Theano step's twin.

    ``precision``: the port's (reproduce_torch.precision).  ``autocast``:
    PyTorch's own bfloat16 recipe on the float32 net instead, for
    comparison: ``torch.autocast("cpu", torch.bfloat16)`` with the input in
    channels-last order (weights converted on every call).
    """
    import contextlib
    import torch
    from reproduce_torch import build_net as torch_net
    net = torch_net(model, "cpu", precision)
    layout = torch.channels_last if autocast else torch.contiguous_format

    def step(x):
        pixels = torch.as_tensor(x).requires_grad_(True)
        with torch.autocast("cpu", torch.bfloat16) if autocast else contextlib.nullcontext():
            logits = net.output(x=pixels.contiguous(memory_format=layout))
        grad, = torch.autograd.grad(logits.float().sum(), pixels)
        return grad.numpy()
    return step


def prior_steps(prior, shape, backends):
    """{backend: f(x) -> [energy, ...]}: the prior's forward and image gradient."""
    steps = {}
    if "theano" in backends:
        from reproduce.prior.energy import compile_energy
        steps["theano"] = compile_energy(prior, STREAM_SCALES, shape, gradient=True)
    if "torch" in backends:
        import torch
        from reproduce_torch.prior import TorchPrior
        energy = TorchPrior(prior, STREAM_SCALES, "cpu")

        def step(x):
            pixels = torch.as_tensor(x).requires_grad_(True)
            grad, = torch.autograd.grad(energy(pixels)[0], pixels)
            return grad.numpy()
        steps["torch"] = step
    return steps


def key_frame(backend, model, prior, shape, device="cpu", classes=CLASSES,
              precision="float32"):
    """f() running Dreamer.run(10) from the same start: a zoom and 10 steps.
    The dreamer is the recipe's (recipes.build_dreamer), on ``device`` in
    ``precision`` for torch."""
    from reproduce.job import StreamJob
    from reproduce.lsd2015.profiles import get_profile
    from reproduce.recipes import build_dreamer
    from reproduce.reference import start_image
    profile = get_profile("stream2015", {"image_size": shape[::-1], "steps_per_zoom": 10,
                                         "precision": precision})
    job = StreamJob(weights=model, prior=prior, backend=backend,
                    device=device if backend == "torch" else None)
    dreamer = build_dreamer(job, profile, model)
    start = start_image(shape[::-1], 0)
    dreamer.set_classes(*classes)
    dreamer.set_image(start)
    dreamer.step()  # warm-up: first-call allocations, outside the timing
    synchronize = _synchronize(device if backend == "torch" else "cpu")

    def run():
        dreamer.set_image(start)
        for _ in dreamer.run(10):
            pass
        synchronize()
    return run


def _synchronize(device):
    """A call that waits for ``device``'s queued work (CUDA runs asynchronously)."""
    if not str(device).startswith("cuda"):
        return lambda: None
    import torch
    return lambda: torch.cuda.synchronize(device)


def cuda_key_frame(model, prior, rows, size=CUDA_KEY_FRAME_SIZE, device="cuda",
                   classes=CLASSES):
    """The torch key frame on ``device`` (CUDA) at ``size``, appended to ``rows``
    as a table row; "no CUDA device" when torch sees none.  Its GFLOP/s are
    not compared with the CPU's sgemm peak."""
    name = "key frame %s, torch on %s (zoom + 10 steps)" % (size, device)
    try:
        import torch
    except ImportError:
        print("  %s: no CUDA device (PyTorch is not installed)" % name, flush=True)
        return False
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        print("  %s: no CUDA device (torch %s)" % (name, torch.__version__), flush=True)
        return False
    shape = parse_shape(size)
    frame, seconds = timed(lambda: key_frame("torch", model, prior, shape, device, classes))
    print("  key frame torch on %s set up in %.1f s" % (device, seconds), flush=True)
    gflop = 10 * (step_flops(build_net(model), *shape) + prior_flops(shape)) / 1e9
    race(name, gflop, {"torch": frame}, (), 1, None, rows, warmup=False)
    return True


def timed(make):
    """(make(), seconds it took): compiles and set-up are reported apart."""
    started = time.perf_counter()
    return make(), time.perf_counter() - started


# ------------------------------------------------------------------ report

def race(name, gflop, steps, args, repeats, peak, rows, warmup=True):
    """Time each backend's step on ``args``, the backends taking turns (A B A B)
    so that load from other processes falls on both alike; print the times
    and append a table row with the best of each."""
    if warmup:
        for fn in steps.values():
            fn(*args)
    wall = {backend: [] for backend in steps}
    cpu = {backend: [] for backend in steps}
    for _ in range(repeats):
        for backend, fn in steps.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            fn(*args)
            wall[backend].append(time.perf_counter() - started)
            cpu[backend].append(time.process_time() - started_cpu)
    for backend in steps:
        print("  %-36s %-6s best %7.3f s, median %7.3f s, CPU %6.2f s (all threads)"
              % (name, backend, min(wall[backend]), np.median(wall[backend]),
                 np.median(cpu[backend])), flush=True)
    rows.append((name, gflop, {b: min(w) for b, w in wall.items()}, peak))


def print_table(rows):
    print()
    print("| workload | GFLOP | Theano s | PyTorch s | Theano/PyTorch "
          "| Theano GFLOP/s (% of peak) | PyTorch GFLOP/s (% of peak) |")
    print("|---|---|---|---|---|---|---|")
    for name, gflop, seconds, peak in rows:
        cells = []
        for backend in ("theano", "torch"):
            s = seconds.get(backend)
            rate = "%.1f" % (gflop / s) if s else "-"
            cells.append(("%.3f" % s, rate + (" (%.0f%%)" % (100 * gflop / s / peak)
                                              if peak else "")) if s else ("-", "-"))
        ratio = ("%.2f" % (seconds["theano"] / seconds["torch"])
                 if len(seconds) == 2 else "-")
        print("| %s | %.1f | %s | %s | %s | %s | %s |"
              % (name, gflop, cells[0][0], cells[1][0], ratio, cells[0][1], cells[1][1]))


def print_prior_share(rows):
    """The prior's budget: at most 15% of a step."""
    seconds = {name: secs for name, _, secs, _ in rows}
    step = seconds.get("VGG-16 step %s" % PRIOR_SIZE, {})
    prior = seconds.get("prior energy %s" % PRIOR_SIZE, {})
    for backend in sorted(set(step) & set(prior)):
        print("prior / VGG-16 step at %s, %s: %.1f%% (budget 15%%)"
              % (PRIOR_SIZE, backend, 100 * prior[backend] / step[backend]))


def run(backends=("theano", "torch"), sizes=SIZES, repeats=2, key_frame_size=KEY_FRAME_SIZE,
        skip_key_frame=False):
    started = time.perf_counter()
    threads = ""
    if "torch" in backends:
        import torch
        threads = ", PyTorch %s with %d threads" % (torch.__version__, torch.get_num_threads())
    print("== race: Theano %s (blas.ldflags=%r, openmp=%s, OPENBLAS_CORETYPE=%s)%s; "
          "%d cores, load average %.1f"
          % (theano.__version__, theano.config.blas.ldflags, theano.config.openmp,
             os.environ.get("OPENBLAS_CORETYPE", "auto"), threads, os.cpu_count(),
             os.getloadavg()[0]), flush=True)
    sgemm = {"numpy": sgemm_numpy(), "Theano": sgemm_theano()[0]}
    if "torch" in backends:
        sgemm["torch"] = sgemm_torch()
    peak = max(sgemm.values())
    print("sgemm 2048² float32: %s -> peak %.1f GFLOP/s (%s)"
          % (", ".join("%s %.1f" % kv for kv in sgemm.items()), peak, blas.describe()),
          flush=True)

    model = vgg16_random_model()
    net = build_net(model)
    steps = {}
    if "theano" in backends:
        # One compiled function for every size: the shapes are symbolic.
        steps["theano"], seconds = timed(lambda: compile_step(net))
        print("  Theano VGG-16 step compiled in %.1f s; convolutions: %s" % (
            seconds, ", ".join("%s x%d" % kv for kv in sorted(op_counts(
                steps["theano"]).items()) if "Corr" in kv[0] or "Conv" in kv[0])))
    if "torch" in backends:
        steps["torch"] = torch_vgg(model)
    rows = []
    for i, text in enumerate(sizes):
        shape = parse_shape(text)
        x = (np.random.RandomState(0).rand(1, 3, *shape).astype(np.float32) - 0.5) * 255
        # One warm-up call (first-call allocations, oneDNN primitives) is enough.
        race("VGG-16 step %s" % text, step_flops(net, *shape) / 1e9, steps, (x,),
             repeats, peak, rows, warmup=i == 0)

    prior, shape = random_prior(), parse_shape(PRIOR_SIZE)
    x = np.random.RandomState(1).uniform(0, 255, (1, 3) + shape).astype(np.float32)
    race("prior energy %s" % PRIOR_SIZE, prior_flops(shape) / 1e9,
         prior_steps(prior, shape, backends), (x,), repeats, peak, rows)

    if not skip_key_frame:
        shape = parse_shape(key_frame_size)
        frames = {}
        for backend in backends:
            frames[backend], seconds = timed(lambda: key_frame(backend, model, prior, shape))
            print("  key frame %s set up in %.1f s" % (backend, seconds), flush=True)
        gflop = 10 * (step_flops(net, *shape) + prior_flops(shape)) / 1e9
        race("key frame %s (zoom + 10 steps)" % key_frame_size, gflop, frames, (), 1,
             peak, rows, warmup=False)
        cuda_key_frame(model, prior, rows)
    print_table(rows)
    print_prior_share(rows)
    print("%.0f s in all; load average at the end %.1f"
          % (time.perf_counter() - started, os.getloadavg()[0]))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_race",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["theano", "torch"],
                        choices=["theano", "torch"])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), metavar="WxH")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--key-frame", default=KEY_FRAME_SIZE, metavar="WxH")
    parser.add_argument("--skip-key-frame", action="store_true")
    args = parser.parse_args(argv)
    if "torch" in args.backends:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("race: PyTorch is not installed (make setup, or pip install -r "
                  "requirements-torch.txt); timing Theano alone")
            args.backends = ["theano"]
    return run(tuple(args.backends), args.sizes, args.repeats, args.key_frame,
               args.skip_key_frame)


if __name__ == "__main__":
    main()
