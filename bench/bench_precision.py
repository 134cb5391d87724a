"""Precision bench: what bfloat16 buys the 2015 loop, and what it costs in numbers.

Speed (``make bench``'s ``precision`` section), on this CPU, interleaved:

* a key frame at 840x472, the 2015 stream's size: ``Dreamer.run(10)``, that
  is a zoom and 10 steps of the 2015 rule with the prior, on VGG-16-shaped
  random weights (``bench_foundation.vgg16_random_model``) and a random
  192-component Student-t prior, three ways: Theano (the reference,
  ``conv=auto``), the torch port in float32 and the torch port in bf16;
* from those key frames: the stream's key-frame interval (2015: one every
  7-8 s on a GPU), the atlas's classes per hour (a stream2015 picture is 200
  steps at 840x472: 20 key frames, one worker process using every core),
  and one ``make figures`` picture (200 steps at 840x472, the estimate
  ``python -m bench winograd`` makes from the bare step, here with the
  prior, the update and the zooms);
* the Fourier recipe's loop on the embedded EfficientNet-Lite0 in PyTorch,
  float32 against bf16 (``bench_fourier.TorchLoop``; the recipe itself runs
  on Theano, in float32).

Numerics (``--numerics``, also in ``make bench``): at 224x224 (the float64
pass is slow), against the same net in float32 and in float64 (the port's
net with float64 weights and activations):

* per layer: the gradient to the image of 0.5 * mean(a^2) of each conv
  layer after its ReLU (DeepDream's objective) on the embedded VGG-16 conv
  weights (trained, weights/vgg16_conv_hed.h5): cosine and relative L2;
* whole step: the 2015 loss's gradient (objective and prior) on the
  VGG-16-shaped random net, and on the embedded EfficientNet-Lite0;
* one 2015 step from the same image (stream2015, fresh moments), bf16
  against float32, in grey levels: the largest difference, the mean, and
  the share of values more than 0.01 and 1 level apart
  (docs/reference-vectors.md's step criterion).

Run: ``python -m bench precision [--numerics-only | --skip-numerics]
[--size 840x472]``.  ``make bench`` runs both parts.
"""
import argparse
import os
import time

import numpy as np

import reproduce.backend  # noqa: F401  (Theano flags first)
from bench.bench_foundation import step_flops, vgg16_random_model
from bench.bench_race import CLASSES, key_frame, parse_shape, prior_flops, random_prior, timed
from bench.bench_winograd import cpu_line, load
from reproduce.commands._options import parse_size
from reproduce.nets.build import build_net

KEY_FRAME_SIZE = "840x472"       # the 2015 stream's optimised size
STEPS_PER_PICTURE = 200          # stream2015 and the figures: 200 steps
STREAM2015_INTERVAL = "7-8 s"    # the 2015 stream on a GPU (docs/stream.md)
NUMERICS_SIZE = (224, 224)
ENGINES = (("Theano", "theano", "float32"), ("torch float32", "torch", "float32"),
           ("torch bf16", "torch", "bf16"))


# ------------------------------------------------------------------ speed

def key_frames(size=KEY_FRAME_SIZE, repeats=2, engines=ENGINES, model=None, prior=None):
    """({engine: best seconds of a key frame (zoom + 10 steps)} at ``size``,
    interleaved; GFLOP of a key frame).  ``model``, ``prior``: VGG-16-shaped
    random weights and a random 192-component prior unless given."""
    shape = parse_shape(size)
    model = model or vgg16_random_model()
    prior = prior or random_prior()
    frames = {}
    for name, backend, precision in engines:
        frames[name], seconds = timed(lambda: key_frame(backend, model, prior, shape,
                                                        precision=precision))
        print("  %s key frame set up in %.1f s" % (name, seconds), flush=True)
    times = {name: [] for name in frames}
    for _ in range(repeats):
        for name, run in frames.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    gflop = 10 * (step_flops(build_net(model), *shape) + prior_flops(shape)) / 1e9
    return {name: min(t) for name, t in times.items()}, gflop


def print_key_frames(best, gflop, size=KEY_FRAME_SIZE):
    print("key frame %s (zoom + 10 steps, VGG-16 shapes, prior), best of the rounds:"
          % size)
    reference = best.get("torch float32")
    for name, seconds in best.items():
        print("  %-14s %7.2f s  %6.1f GFLOP/s  %s" % (
            name, seconds, gflop / seconds,
            "%.2fx torch float32" % (seconds / reference) if reference else ""))
    print("the stream's key frames at %s: one every %s (2015 on a GPU: every %s)"
          % (size, ", ".join("%.1f s %s" % (s, n) for n, s in best.items()),
             STREAM2015_INTERVAL))
    per_picture = {n: s * STEPS_PER_PICTURE / 10 for n, s in best.items()}
    print("the atlas (stream2015, %d steps at %s, one worker using every core): %s "
          "classes per hour" % (STEPS_PER_PICTURE, size, ", ".join(
              "%.1f %s" % (3600 / s, n) for n, s in per_picture.items())))
    print("one `make figures` picture (%d steps at %s, prior and update included): %s"
          % (STEPS_PER_PICTURE, size, ", ".join(
              "%.1f min %s" % (s / 60, n) for n, s in per_picture.items())))


def fourier_loops(weights, steps=5, rounds=2):
    """{name: ms per step} of the Fourier loop in PyTorch, float32 and bf16."""
    import torch
    from bench.bench_fourier import TorchLoop, interleaved
    from reproduce.nets.weights import load_model
    model = load_model(weights)
    threads = max(1, torch.get_num_threads())
    loops = {"float32": TorchLoop(model, threads),
             "bf16": TorchLoop(model, threads, precision="bf16")}
    return {name: 1000 * wall for name, (wall, _) in
            interleaved(loops, steps, rounds).items()}


# ------------------------------------------------------------------ numerics

def float64_net(model):
    """The port's net with float64 weights and activations (float32 out)."""
    import torch
    import reproduce_torch as rt
    net = rt.TorchNet(model, "cpu")
    net.dtype = torch.float64
    net.params = {k: (w.double(), b.double()) for k, (w, b) in net.params.items()}
    return net


def nets_of(model):
    """{"float64", "float32", "bf16"}: the port's net of ``model`` three ways."""
    import reproduce_torch as rt
    return {"float64": float64_net(model), "float32": rt.TorchNet(model, "cpu"),
            "bf16": rt.TorchNet(model, "cpu", "bf16")}


def compare(a, b):
    """(cosine, relative L2) of gradient ``a`` against ``b``."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return (float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)),
            float(np.linalg.norm(a - b) / np.linalg.norm(b)))


def layer_gradients(nets, image, layers):
    """{layer: {net name: d 0.5 mean(a^2) / d image}} (numpy)."""
    import torch
    import reproduce_torch as rt
    from reproduce import objectives
    out = {}
    for layer in layers:
        out[layer] = {}
        for name, net in nets.items():
            x = torch.as_tensor(image).requires_grad_(True)
            acts = net.activations(rt.preprocess(x, net.model))
            out[layer][name], = torch.autograd.grad(
                objectives.layer_l2(layer)(acts), x)
            out[layer][name] = out[layer][name].numpy()
    return out


def dreamers(nets, prior, image, profile):
    """{net name: a stream2015 Dreamer on that net at ``image``}."""
    import reproduce_torch as rt
    out = {}
    for name, net in nets.items():
        d = rt.Dreamer(net, profile, prior)
        d.set_classes(*[c % net.model.layers[-1].W.shape[0] for c in CLASSES])
        d.set_image(image)
        out[name] = d
    return out


def print_comparisons(title, rows):
    """rows: [(label, {net: gradient})] -> cosine and relative L2 against float32 and float64."""
    print(title)
    print("  %-22s %22s %22s %22s" % ("", "bf16 vs float32", "bf16 vs float64",
                                      "float32 vs float64"))
    print("  %-22s %22s %22s %22s" % ("", "cosine    rel. L2", "cosine    rel. L2",
                                      "cosine    rel. L2"))
    for label, g in rows:
        cells = [compare(g["bf16"], g["float32"]), compare(g["bf16"], g["float64"]),
                 compare(g["float32"], g["float64"])]
        print("  %-22s %s" % (label, " ".join("%12.6f %9.2e" % c for c in cells)),
              flush=True)


def numerics(size=NUMERICS_SIZE, seed=0):
    """Print the per-layer, whole-step and one-step comparisons (see the module doc)."""
    from reproduce import paths
    from reproduce.nets.naming import conv_layers
    from reproduce.lsd2015.profiles import get_profile
    from reproduce.nets.weights import load_model
    from reproduce.prior.fit import load_prior
    from reproduce.reference import start_image
    width, height = size
    print("== precision numerics at %dx%d, %s; %s" % (width, height, cpu_line(), load()))
    image = start_image(size, seed)
    batch = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
    if os.path.exists(paths.EMBEDDED_VGG16_CONV):
        model = load_model(paths.EMBEDDED_VGG16_CONV)
        nets = nets_of(model)
        layers = conv_layers(nets["float32"])
        grads = layer_gradients(nets, batch, layers)
        print_comparisons("per layer: d 0.5 mean(a^2) / d image on %s (trained weights)"
                          % model.model_name, [(layer, grads[layer]) for layer in layers])
    prior = load_prior(paths.PRIOR) if os.path.exists(paths.PRIOR) else random_prior()
    profile = get_profile("stream2015", {"image_size": size})
    rows, steps = [], {}
    models = [("VGG-16 shapes, random", vgg16_random_model(seed))]
    if os.path.exists(paths.EMBEDDED_CLASSIFIER):
        models.append(("EfficientNet-Lite0", load_model(paths.EMBEDDED_CLASSIFIER)))
    for label, model in models:
        d = dreamers(nets_of(model), prior, image, profile.for_model(model))
        rows.append((label, {name: dreamer.gradient()[1].numpy()
                             for name, dreamer in d.items()}))
        for dreamer in d.values():
            dreamer.step()
        steps[label] = {name: dreamer.get_image() for name, dreamer in d.items()}
    print_comparisons("whole 2015 step: d loss / d image (objective + prior, stream2015)",
                      rows)
    print("one 2015 step (stream2015, fresh moments, lr 5), bf16 against float32, in "
          "grey levels (float32 against float64 beside it):")
    for label, images in steps.items():
        for other in ("float32", "float64"):
            a = images["bf16"] if other == "float32" else images["float32"]
            diff = np.abs(a - images[other])
            print("  %-22s %-19s max %6.2f  mean %7.4f  > 0.01: %5.2f%%  > 1: %5.2f%%"
                  % (label, "bf16 vs float32" if other == "float32" else
                     "float32 vs float64", diff.max(), diff.mean(),
                     100 * np.mean(diff > 0.01), 100 * np.mean(diff > 1)), flush=True)


# ------------------------------------------------------------------ main

def run(size=KEY_FRAME_SIZE, repeats=2, speed=True, numbers=True):
    from reproduce import paths
    started = time.perf_counter()
    print("== precision: float32 against bfloat16 on %s; %s" % (cpu_line(), load()),
          flush=True)
    if speed:
        best, gflop = key_frames(size, repeats)
        print_key_frames(best, gflop, size)
        if os.path.exists(paths.EMBEDDED_CLASSIFIER):
            ms = fourier_loops(paths.EMBEDDED_CLASSIFIER)
            print("Fourier loop on EfficientNet-Lite0, 224x224, PyTorch: float32 %.0f "
                  "ms/step, bf16 %.0f ms/step (%.2fx)" % (ms["float32"], ms["bf16"],
                                                           ms["bf16"] / ms["float32"]))
    if numbers:
        numerics()
    print("%.0f s in all; %s" % (time.perf_counter() - started, load()))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_precision",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--size", default=KEY_FRAME_SIZE, metavar="WxH")
    parser.add_argument("--repeats", type=int, default=2)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--skip-numerics", action="store_true")
    which.add_argument("--numerics-only", action="store_true")
    args = parser.parse_args(argv)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("precision: PyTorch is not installed (make setup); the bfloat16 path "
              "needs it: nothing to measure")
        return 0
    parse_size(args.size)
    return run(args.size, args.repeats, not args.numerics_only, not args.skip_numerics)


if __name__ == "__main__":
    main()
