"""Two versions of the code, timed against each other, interleaved.

Each version (a checkout's root directory) gets a worker process of its
own that imports *that* checkout's ``reproduce``, compiles the function
once and then runs it whenever told; the driver alternates the workers
call by call (A B, B A, A B, ...), so the machine's slow and fast spells
fall on both alike, and only one runs at a time.  It prints each side's
median and the ratio of medians.  The numbers in docs/winograd.md that
compare code versions come from it.

    python -m bench.ab [--rounds 10] step CONV WIDTH HEIGHT -- OLD NEW
    python -m bench.ab layer IN OUT ROWS COLS TILE -- A B   (TILE 0: CorrMM)

``step`` is the VGG-16 step of ``bench_winograd`` (random weights of the
real sizes); ``layer`` one 3x3 layer's forward + input gradient.  A
version may carry environment settings: ``DIR,NAME=VALUE,...``.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def _worker(kind, args):
    import numpy as np
    import reproduce.backend  # noqa: F401  (Theano flags first)
    from reproduce.backend import T, theano
    rng = np.random.RandomState(0)
    if kind == "step":
        from reproduce.nets.build import build_net
        from bench.bench_foundation import compile_step, vgg16_random_model
        conv, width, height = args[0], int(args[1]), int(args[2])
        f = compile_step(build_net(vgg16_random_model(0), conv=conv))
        inputs = [((rng.rand(1, 3, height, width) - 0.5) * 255).astype(np.float32)]
    else:
        from reproduce.ops import winograd
        c_in, c_out, rows, cols, tile = map(int, args)
        x, w, gz = T.ftensor4(), T.ftensor4(), T.ftensor4()
        y = (winograd.winograd_corr(x, w, tile) if tile else
             T.nnet.conv2d(x, w, border_mode=(1, 1), filter_flip=False))
        f = theano.function([x, w, gz], [y, theano.grad(None, x, known_grads={y: gz})])
        inputs = [rng.rand(1, c_in, rows, cols).astype(np.float32),
                  rng.rand(c_out, c_in, 3, 3).astype(np.float32) - 0.5,
                  rng.rand(1, c_out, rows, cols).astype(np.float32)]
    f(*inputs)
    print("ready", flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        f(*inputs)
        print(time.perf_counter() - start, flush=True)


def _start(version, spec):
    root, *settings = version.split(",")
    env = dict(os.environ, PYTHONPATH=os.path.abspath(root),
               **dict(s.split("=", 1) for s in settings))
    # this file, that checkout's reproduce and bench (an old one has no ab.py)
    worker = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker"] + spec, env=env,
                              cwd=os.path.abspath(root), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    if worker.stdout.readline().strip() != "ready":
        raise SystemExit("bench.ab: the worker for %s did not start" % version)
    return worker


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1], argv[2:])
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("what", nargs="+", help="step CONV WIDTH HEIGHT | layer IN OUT ROWS COLS "
                        "TILE, then --, then two or more checkouts")
    if "--" not in argv:
        parser.error("give the versions after --")
    split = argv.index("--")
    args = parser.parse_args(argv[:split])
    versions = argv[split + 1:]
    if args.what[0] not in ("step", "layer") or len(args.what) != {"step": 4, "layer": 6}[
            args.what[0]] or len(versions) < 2:
        parser.error("want step CONV WIDTH HEIGHT or layer IN OUT ROWS COLS TILE, -- and "
                     "two or more checkouts")
    workers = [_start(v, args.what) for v in versions]
    times = [[] for _ in versions]
    try:
        for r in range(args.rounds):
            order = list(range(len(workers)))
            for i in order if r % 2 == 0 else order[::-1]:
                workers[i].stdin.write("go\n")
                workers[i].stdin.flush()
                line = workers[i].stdout.readline()
                if not line:
                    raise SystemExit("bench.ab: the worker for %s stopped (its error is "
                                     "above)" % versions[i])
                times[i].append(float(line))
    finally:
        for w in workers:
            w.stdin.close()
            w.wait()
    print("%s, %d rounds alternated, load average %.1f/%.1f/%.1f" % (
        " ".join(args.what), args.rounds, *os.getloadavg()))
    for version, t in zip(versions, times):
        print("%-30s median %.3f s  min %.3f s" % (version, statistics.median(t), min(t)))
    base = statistics.median(times[0])
    for version, t in zip(versions[1:], times[1:]):
        print("%s / %s: %.3f" % (version, versions[0], statistics.median(t) / base))


if __name__ == "__main__":
    sys.exit(main())
