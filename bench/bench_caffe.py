"""``python -m bench caffe``: a full-size GoogLeNet written as Caffe files.

The real layer list and channel counts of bvlc_googlenet's deploy.prototxt
with random weights (tests/helpers/caffe_models.py; no download), at 224x224:
conversion time, agreement of our Theano net with the numpy forward pass
written from Caffe's C++ layers (largest difference relative to the blob's
largest value), and the time of one forward pass and one DeepDream gradient
at ``inception_4c/output``.  ``--ties``: that gradient instead, ours with
each max-pool tie rule against a numpy port of Caffe's backward pass with
each (docs/fidelity.md); ``--divisor N`` divides the channel counts.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np

BLOBS = ["conv1/7x7_s2", "conv2/norm2", "inception_3a/output", "inception_4c/output",
         "inception_5b/output", "pool5/7x7_s1", "loss3/classifier"]


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None):
    # The tests' synthetic Caffe models, as a namespace package from the
    # repository root (``python -m bench`` runs there).
    from tests.helpers.caffe_models import caffe_forward, googlenet, write_caffe
    from reproduce import objectives
    from reproduce.backend import theano
    from reproduce.convert.caffe import convert_caffe
    from reproduce.deepdream.dream import compile_gradient
    from reproduce.nets.build import build_net

    p = argparse.ArgumentParser(prog="python -m bench caffe")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--divisor", type=int, default=1)
    p.add_argument("--ties", action="store_true")
    args = p.parse_args(argv)
    shape = (3, args.size, args.size)
    layers = googlenet(args.divisor, pool5=max(1, args.size // 32))
    with tempfile.TemporaryDirectory() as folder:
        caffemodel, prototxt, blobs = write_caffe(folder, layers, shape, "layer")
        started = time.perf_counter()
        model = convert_caffe(caffemodel, prototxt)
        convert_s = time.perf_counter() - started
        mb = os.path.getsize(caffemodel) / 2 ** 20
    if args.ties:
        return ties(model, layers, blobs, shape)
    x = np.random.RandomState(0).uniform(-120, 130, (1,) + shape).astype(np.float32)
    reference = caffe_forward(layers, blobs, x[0])
    net = build_net(model)
    forward = theano.function([net.input_var], net.outputs(BLOBS))
    ours = forward(x)
    print("GoogLeNet (deploy.prototxt's layers, random weights) at %dx%d" % shape[1:][::-1])
    print("  convert %.1f MB caffemodel: %.2f s" % (mb, convert_s))
    for name, out in zip(BLOBS, ours):
        r = reference[name]
        print("  %-22s max |ours - numpy| / max |numpy| = %.1e" % (
            name, np.abs(out[0] - r).max() / np.abs(r).max()))
    print("  forward to loss3/classifier: %.3f s (best of %d)"
          % (best_of(lambda: forward(x), args.repeats), args.repeats))
    gradient = compile_gradient(net, objectives.layer_l2("inception_4c/output"))
    pixels = np.random.RandomState(1).uniform(0, 255, (1,) + shape).astype(np.float32)
    print("  DeepDream gradient at inception_4c/output: %.3f s (best of %d)"
          % (best_of(lambda: gradient(pixels), args.repeats), args.repeats))
    return 0


def ties(model, layers, blobs, shape, layer="inception_4c/output"):
    """DeepDream's gradient to the pixels of seeded noise, ours with each
    pool_ties against numpy Caffe with each rule: relative L2 and cosine."""
    from tests.helpers.caffe_models import caffe_backward, caffe_forward, up_to
    from reproduce import objectives
    from reproduce.deepdream import dream as dd
    from reproduce.nets.build import build_net, preprocess
    rgb = np.random.RandomState(5).uniform(0, 255, shape[1:] + (3,)).astype(np.float32)
    data = preprocess(dd.to_batch(rgb), model)[0].astype(np.float64)   # Caffe's BGR input
    top = caffe_forward(up_to(layers, layer), blobs, data)[layer]
    numpy = {rule: caffe_backward(layers, blobs, data, layer, top / top.size, rule)[::-1]
             for rule in ("argmax", "every")}

    def compare(a, b):
        return "relative L2 %.2e, cosine %.6f" % (
            np.linalg.norm(a - b) / np.linalg.norm(b),
            (a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))
    print("DeepDream gradient at %s, %dx%d" % ((layer,) + shape[1:]))
    print("  numpy every vs numpy argmax: %s" % compare(numpy["every"], numpy["argmax"]))
    for pool_ties in ("model", "every"):
        ours = dd.compile_gradient(build_net(model, pool_ties=pool_ties),
                                   objectives.layer_l2(layer))(dd.to_batch(rgb))[1][0]
        for rule in ("argmax", "every"):
            print("  ours pool_ties=%s vs numpy %s: %s" % (pool_ties, rule,
                                                         compare(ours, numpy[rule])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
