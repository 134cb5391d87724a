"""The microscope's cost per unit on this machine, in one process (no Dask):
for each chosen layer, the compile once per layer and worker, then each
unit's seconds split by picture (positive, negative, diverse, DeepDream),
the disk its pictures and record take, and the process's peak memory.

``python -m bench microscope [--weights W] [--layers relu1_1,relu3_3,relu5_3]
[--channels 2] [--size 128] [--steps 256] [--diverse 3] [--batch 1]``

``--googlenet``: the weights are bvlc_googlenet's real layer list and
channel counts with random weights (tests/helpers/caffe_models.py, as
``bench caffe``; no download): a unit's cost does not depend on the
weights' values.

``--backends``: instead, the two backends' time for what a unit's pictures
spend nearly all their time on -- one forward and backward pass of the net
up to a layer for a channel's mean, at the unit picture's size plus the
recipe's padding (the torch port has the 2015 recipe only, no Fourier
renderer), interleaved Theano, torch, Theano, ... and the median of each.

docs/microscope.md turns these into units per hour and the projections.
"""
import argparse
import os
import resource
import tempfile
import time


def main(argv=None):
    from reproduce import paths
    p = argparse.ArgumentParser(prog="python -m bench microscope")
    p.add_argument("--weights", default=paths.EMBEDDED_VGG16_CONV)
    p.add_argument("--layers", default="relu1_1,relu3_3,relu5_3")
    p.add_argument("--channels", type=int, default=2)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--diverse", type=int, default=3)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--googlenet", action="store_true")
    p.add_argument("--backends", action="store_true")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args(argv)
    if args.googlenet:
        args.weights = synthetic_googlenet()
    if args.backends:
        return backends(args)

    from reproduce.job import PictureJob
    from reproduce.microscope import plan, tasks
    picture = PictureJob(weights=args.weights, recipe="fourier",
                         overrides=(("image_size", (args.size, args.size)),
                                    ("steps", args.steps)))
    job, _ = plan.make_job(picture, diverse=args.diverse, batch=args.batch)
    out = tempfile.mkdtemp(prefix="bench-microscope-")
    digest = job.digest()
    print("microscope bench: %s, %dx%d, %d steps, %d diverse, batch %d; DeepDream %d "
          "octaves of %d steps on a %d px photo" % (
              os.path.basename(args.weights), args.size, args.size, args.steps,
              args.diverse, args.batch, job.dream.octaves, job.dream.steps,
              job.photo_side))
    started = time.time()
    tasks.built(job)
    print("  load the model and the photo: %.1f s" % (time.time() - started))
    for layer in args.layers.split(","):
        state, _ = tasks.built(job)
        compile_seconds = state.layer(job, layer).prepare(units=True)
        items = [(layer, c) for c in range(args.channels)]
        t = time.time()
        records = tasks.render(job, items, out, digest)
        seconds = (time.time() - t) / len(items)
        parts = {}
        for r in records:
            for picture_ in r["pictures"]:
                parts[picture_["kind"]] = parts.get(picture_["kind"], 0) + picture_["seconds"]
        disk = sum(os.path.getsize(os.path.join(out, f)) for r in records for f in r["files"])
        disk += sum(os.path.getsize(os.path.join(out, plan.record_file(*i))) for i in items)
        print("  %-12s compile %5.1f s; per unit %6.1f s (%s); disk %.0f KB per unit"
              % (layer, compile_seconds, seconds,
                 ", ".join("%s %.1f" % (k, v / len(items)) for k, v in parts.items()),
                 disk / 1024.0 / len(items)))
    print("  peak memory of the process: %.0f MB"
          % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


def backends(args):
    """Median seconds of a forward + backward pass per backend and layer."""
    import statistics

    import numpy as np
    import torch

    from reproduce.backend import T, theano
    from reproduce.nets.build import build_net, preprocess
    from reproduce.nets.weights import load_model
    from reproduce_torch import build_net as torch_net
    from reproduce_torch.nets import preprocess as torch_preprocess
    model = load_model(args.weights)
    side = args.size + 2 * 12   # the fourier recipe's pad (reproduce/fourier/renderer.py)
    x = np.random.RandomState(0).uniform(0, 255, (args.batch, 3, side, side)).astype(np.float32)
    # the port has no LRN or concat: a GoogLeNet times on Theano only
    ported = {s.type for s in model.layers} <= {"conv", "relu", "relu6", "pool", "add"}
    net, tnet = build_net(model), torch_net(model, "cpu") if ported else None
    print("forward + backward to a layer for one channel's mean, %s, %d image(s) of "
          "%dx%d, torch %s with %d threads, median of %d:" % (
              os.path.basename(args.weights), args.batch, side, side, torch.__version__,
              torch.get_num_threads(), args.repeats))
    for layer in args.layers.split(","):
        pixels = T.tensor4("pixels")
        score = net.activations(preprocess(pixels, model))(layer)[:, 0].mean()
        theano_step = theano.function([pixels], T.grad(score, pixels))

        def torch_step():
            image = torch.as_tensor(x).requires_grad_(True)
            value = tnet.activations(torch_preprocess(image, model))(layer)[:, 0].mean()
            return torch.autograd.grad(value, image)[0]
        times = {"theano": [], "torch": []}
        for _ in range(args.repeats):
            for name, step in (("theano", lambda: theano_step(x)),
                               ("torch", torch_step if ported else None)):
                if step is None:
                    continue
                t = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
        th = statistics.median(times["theano"])
        if not ported:
            print("  %-24s theano %7.1f ms, torch: not ported" % (layer, 1000 * th))
            continue
        to = statistics.median(times["torch"])
        print("  %-24s theano %7.1f ms, torch %7.1f ms (torch/theano %.2f)"
              % (layer, 1000 * th, 1000 * to, to / th))


def synthetic_googlenet():
    """bvlc_googlenet's layers and channel counts, random weights, as our HDF5."""
    from reproduce.convert.caffe import convert_caffe
    from reproduce.nets.weights import save_model
    from tests.helpers.caffe_models import googlenet, write_caffe
    folder = tempfile.mkdtemp(prefix="bench-googlenet-")
    caffemodel, prototxt, _ = write_caffe(folder, googlenet(), (3, 224, 224), "layer",
                                          name="googlenet")
    path = os.path.join(folder, "googlenet.h5")
    save_model(convert_caffe(caffemodel, prototxt, model_name="googlenet-synthetic"), path)
    return path
