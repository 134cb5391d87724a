"""Foundation bench: one VGG-16 step (forward + backward to the input) on Theano.

Times the compiled gradient of sum(logits) with respect to the input at
224x224 and 448x448, with random weights of VGG-16's real sizes (no download
needed), and puts it against the BLAS's own sgemm speed:

* numpy's float32 matmul: numpy's wheel bundles its own OpenBLAS;
* Theano's ``T.dot``: compiled against ``blas.ldflags`` (-lopenblas, the
  system one), which is also what the convolutions (CorrMM) call.

FLOPs counted: 2*H'*W'*kh*kw*Cin*Cout per conv forward (H'xW' its output),
and the same again for the gradient to each conv's input (``step_flops``).
No weight gradients are computed.

Run: ``python -m bench foundation`` (``make bench``) or
``python -m bench.bench_foundation [--sizes 224 448] [--repeats 3]``.
"""
import argparse
import collections
import os
import re
import time

import numpy as np

import reproduce.backend  # noqa: F401  (Theano flags first)
from reproduce import blas
from reproduce.backend import T, theano
from reproduce.nets.build import build_net
from reproduce.nets.weights import LayerSpec, Model

VGG16_BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # (width, convs)


def vgg16_random_model(seed=0, n_classes=1000):
    """VGG-16 with He-normal random weights of the real sizes, fully convolutional:
    13 3x3 convs (pad 1) in 5 blocks with 2x2 max pools, fc6 as a 7x7 conv
    (512 -> 4096), fc7 and fc8 as 1x1 convs.  About 138M parameters (550 MB)."""
    rng = np.random.default_rng(seed)  # draws float32 directly: 138M values

    def conv(name, n_in, n_out, k, pad):
        W = rng.standard_normal((n_out, n_in, k, k), dtype=np.float32)
        W *= np.float32(np.sqrt(2.0 / (n_in * k * k)))
        return LayerSpec(name, "conv", W=W, b=np.zeros(n_out, np.float32), pad=(pad,) * 4)

    layers, n_in = [], 3
    for block, (width, count) in enumerate(VGG16_BLOCKS, 1):
        for i in range(1, count + 1):
            layers += [conv("conv%d_%d" % (block, i), n_in, width, 3, 1),
                       LayerSpec("relu%d_%d" % (block, i), "relu")]
            n_in = width
        layers.append(LayerSpec("pool%d" % block, "pool", size=(2, 2), stride=(2, 2)))
    layers += [conv("fc6", 512, 4096, 7, 0), LayerSpec("relu6", "relu"),
               conv("fc7", 4096, 4096, 1, 0), LayerSpec("relu7", "relu"),
               conv("fc8", 4096, n_classes, 1, 0)]
    return Model(layers=layers, model_name="vgg16-random",
                 mean=np.array([123.68, 116.779, 103.939], np.float32))


def conv_flops(net, rows, cols):
    """[(name, forward FLOPs)] of every conv for a (1, 3, rows, cols) input."""
    out = []
    for spec in net.model.layers:
        if spec.type == "conv":
            _, c_out, h, w = net.output_shape(rows, cols, spec.name)
            _, c_in, kh, kw = spec.W.shape
            out.append((spec.name, 2 * h * w * kh * kw * c_in * c_out))
    return out


def step_flops(net, rows, cols):
    """FLOPs of the convolutions one step runs: every conv's forward except the
    last, and every conv's gradient to its input (each costs as much as its
    forward).

    The last conv's forward is not needed: d sum(logits) / d its input needs
    only its weights, and Theano prunes it (the compiled graph has one CorrMM
    fewer than CorrMM_gradInputs).  Training usually skips the first conv's
    input gradient; this step needs it (it is the image gradient).
    """
    flops = [f for _, f in conv_flops(net, rows, cols)]
    return 2 * sum(flops) - flops[-1]


def compile_step(net):
    """theano.function: image (1, 3, H, W) -> d sum(logits) / d image."""
    x = net.input_var
    return theano.function([x], T.grad(net.output().sum(), x))


def op_counts(fn):
    """{op class name: count} over the compiled graph: which conv actually runs."""
    return collections.Counter(type(node.op).__name__
                               for node in fn.maker.fgraph.toposort())


def time_calls(fn, args, repeats, warmup=1):
    """Seconds per call after ``warmup`` calls: (median wall, best wall, median CPU).

    CPU time sums all of this process's threads; on a shared machine it moves
    less than wall time does, so it shows how much of a slow step is waiting.
    """
    for _ in range(warmup):
        fn(*args)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(*args)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return float(np.median(wall)), min(wall), float(np.median(cpu))


def sgemm_numpy(n=2048, repeats=5):
    """GFLOP/s of numpy's float32 n x n matmul (numpy's bundled BLAS), best of repeats."""
    rng = np.random.RandomState(0)
    a, b = rng.rand(n, n).astype(np.float32), rng.rand(n, n).astype(np.float32)
    _, best, _ = time_calls(lambda: a @ b, (), repeats)
    return 2.0 * n ** 3 / best / 1e9


def sgemm_theano(n=2048, repeats=5):
    """GFLOP/s of Theano's T.dot (blas.ldflags BLAS), and the ops it compiled to."""
    A, B = T.matrix("A"), T.matrix("B")
    fn = theano.function([A, B], T.dot(A, B))
    rng = np.random.RandomState(0)
    a, b = rng.rand(n, n).astype(np.float32), rng.rand(n, n).astype(np.float32)
    _, best, _ = time_calls(fn, (a, b), repeats)
    return 2.0 * n ** 3 / best / 1e9, op_counts(fn)


def loaded_blas():
    """Paths of the BLAS libraries this process has loaded (numpy's and Theano's)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f}
    return sorted(p for p in paths
                  if re.search(r"/lib[^/]*blas[^/]*\.so", p) and p.startswith("/"))


def run(sizes=(224, 448), repeats=3, seed=0):
    """Measure and print; returns the numbers as a dict (for a bench driver)."""
    print("== foundation: VGG-16 step on Theano %s (blas.ldflags=%r, %d cores, "
          "OPENBLAS_NUM_THREADS=%s, load average %.1f: other work slows it)"
          % (theano.__version__, theano.config.blas.ldflags, os.cpu_count(),
             os.environ.get("OPENBLAS_NUM_THREADS", "unset"), os.getloadavg()[0]))
    results = {"sgemm_numpy_gflops": sgemm_numpy()}
    results["sgemm_theano_gflops"], dot_ops = sgemm_theano()
    print("sgemm 2048^2 float32: numpy %.1f GFLOP/s, Theano T.dot %.1f GFLOP/s (ops: %s; %s)"
          % (results["sgemm_numpy_gflops"], results["sgemm_theano_gflops"],
             _ops_text(dot_ops), blas.describe()))
    print("BLAS libraries loaded: %s" % ", ".join(loaded_blas()))

    net = build_net(vgg16_random_model(seed))
    start = time.perf_counter()
    step = compile_step(net)
    results["compile_s"] = time.perf_counter() - start
    ops = op_counts(step)
    results["ops"] = dict(ops)
    print("step compiled in %.1f s (cached compiles are fast); ops: %s"
          % (results["compile_s"], _ops_text(ops)))
    rng = np.random.RandomState(seed)
    peak = results["sgemm_theano_gflops"]
    for size in sizes:
        x = (rng.rand(1, 3, size, size).astype(np.float32) - 0.5) * 255
        median, best, cpu = time_calls(step, (x,), repeats)
        flops = step_flops(net, size, size)
        gflops = flops / median / 1e9
        results["step_%d" % size] = {"median_s": median, "best_s": best, "cpu_s": cpu,
                                     "gflop": flops / 1e9, "gflops": gflops,
                                     "of_sgemm": gflops / peak}
        print("%dx%d: %.3f s/step (median of %d, best %.3f; CPU %.2f s over all "
              "threads), %.1f GFLOP/step, %.1f GFLOP/s = %.0f%% of Theano sgemm"
              % (size, size, median, repeats, best, cpu, flops / 1e9, gflops,
                 100 * gflops / peak))
    print("load average at the end: %.1f" % os.getloadavg()[0])
    return results


def _ops_text(counts):
    interesting = ("Corr", "Conv", "Gemm", "Dot", "Pool", "Gemv")
    return ", ".join("%s x%d" % (name, n) for name, n in sorted(counts.items())
                     if any(k in name for k in interesting)) or "none of interest"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_foundation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 448])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    return run(args.sizes, args.repeats)


if __name__ == "__main__":
    main()
