"""``python -m bench caffe``: a full-size GoogLeNet written as Caffe files.

The real layer list and channel counts of bvlc_googlenet's deploy.prototxt
with random weights (tests/helpers/caffe_models.py; no download), at 224x224:
conversion time, agreement of our Theano net with the numpy forward pass
written from Caffe's C++ layers (largest difference relative to the blob's
largest value), and the time of one forward pass and one DeepDream gradient
at ``inception_4c/output``.
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
    args = p.parse_args(argv)
    shape = (3, args.size, args.size)
    with tempfile.TemporaryDirectory() as folder:
        caffemodel, prototxt, blobs = write_caffe(folder, googlenet(), shape, "layer")
        started = time.perf_counter()
        model = convert_caffe(caffemodel, prototxt)
        convert_s = time.perf_counter() - started
        mb = os.path.getsize(caffemodel) / 2 ** 20
    x = np.random.RandomState(0).uniform(-120, 130, (1,) + shape).astype(np.float32)
    reference = caffe_forward(googlenet(), blobs, x[0])
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


if __name__ == "__main__":
    sys.exit(main())
