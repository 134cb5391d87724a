"""Winograd bench: the VGG-16 step with CorrMM, with Winograd and with PyTorch's CPU build,
in float32 and in bfloat16.

Default (the ``make bench`` section): the 2015 step (forward + gradient to
the input of sum(logits)) at 224x224, 448x448 and 840x472 with random
weights of VGG-16's real sizes, five ways interleaved in one process --
Theano with every conv on CorrMM (``conv=corrmm``), Theano with the
measured per-layer choice (``conv=auto``, reproduce/ops/winograd_choice.json),
the PyTorch port on the CPU in float32, the port in bfloat16 (``bf16
(ours)``, docs/precision.md) and PyTorch's own autocast + channels-last
(``PyTorch bf16``) -- medians of ``--repeats`` rounds.  Effective GFLOP/s
counts a direct convolution's FLOPs (bench_foundation.step_flops) over the
time, against Theano's measured sgemm peak (float32 rows) or torch's
bfloat16 matmul peak (bf16 rows); a ``make figures`` picture is estimated
as 200 steps at 840x472 (the prior's and the update's share are not in it).

``--layers``: each VGG-16 3x3 layer at 840x472 alone, forward + gradient to
the input, CorrMM / F(2x2, 3x3) / F(4x4, 3x3) interleaved, and each
tile's float32 error against float64 on a 40x56 crop with the layer's real
channels; ``--write-choice`` stores the table and the choice as
reproduce/ops/winograd_choice.json, which the net builder reads.

Run: ``python -m bench winograd`` or ``python -m bench.bench_winograd
[--layers [--write-choice]] [--repeats 3]``.
"""
import argparse
import datetime
import json
import os
import time

import numpy as np

import reproduce.backend  # noqa: F401  (Theano flags first)
from reproduce.backend import T, theano
from reproduce.nets.build import build_net
from reproduce.ops import winograd as W
from reproduce.ops import winograd_choice
from bench.bench_foundation import (compile_step, sgemm_theano, step_flops,
                                    vgg16_random_model)

SIZES = ((224, 224), (448, 448), (840, 472))   # (width, height)
GALLERY = (840, 472)
GALLERY_STEPS = 200          # experiments/*.py: 200 steps a picture
# The reference vectors' tolerances (docs/reference-vectors.md): logits
# 1e-5 of max|ref|, a deep net's image gradient 5e-2 relative L2.  Each
# layer takes its fastest implementation; the whole net with those choices
# must then stay within these against float64, else F(4x4) gives way to
# F(2x2) (write_choice).
LOGITS_TOLERANCE, GRADIENT_TOLERANCE = 1e-5, 5e-2
IMPLEMENTATIONS = ("corrmm", 2, 4)


def load():
    """'load average 1.2/1.1/0.9 on 2 cores': other work on the machine slows every number."""
    return "load average %.1f/%.1f/%.1f on %d cores" % (os.getloadavg() + (os.cpu_count(),))


def vgg16_layers(size=GALLERY):
    """[(name, c_in, c_out, rows, cols, shrink)] of VGG-16's 3x3 layers for a (width, height) input."""
    model = vgg16_random_model(n_classes=10)
    out, shrink = [], 1
    for spec in model.layers:
        if spec.type == "pool":
            shrink *= 2
        elif spec.type == "conv" and spec.W.shape[2:] == (3, 3):
            out.append((spec.name, spec.W.shape[1], spec.W.shape[0],
                        size[1] // shrink, size[0] // shrink, shrink))
    return out


def _layer_step(impl):
    """f(x, w, gz) -> [y, d(y . gz)/dx]: one layer's share of the step."""
    x, w, gz = T.ftensor4("x"), T.ftensor4("w"), T.ftensor4("gz")
    if impl == "corrmm":
        y = T.nnet.conv2d(x, w, border_mode=(1, 1), filter_flip=False)
    else:
        y = W.winograd_corr(x, w, impl)
    gx = theano.grad(None, x, known_grads={y: gz})
    return theano.function([x, w, gz], [y, gx])


def _errors(c_in, c_out, functions, rng, rows=40, cols=56):
    """{tile: (forward, input gradient) error}, max|32 - 64| / max|64|, on a crop."""
    x = np.maximum(rng.standard_normal((1, c_in, rows, cols)), 0).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2.0 / (9 * c_in))).astype(np.float32)
    gz = rng.standard_normal((1, c_out, rows, cols)).astype(np.float32)
    y64 = W.reference(x, w)
    gx64 = W.reference(gz, np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]))
    out = {}
    for impl, f in functions.items():
        y, gx = f(x, w, gz)
        out[impl] = (float(abs(y - y64).max() / abs(y64).max()),
                     float(abs(gx - gx64).max() / abs(gx64).max()))
    return out


def _choose(row, tiles):
    """Set row["choice"]: the fastest of CorrMM and ``tiles`` (None = CorrMM);
    row["accurate"]: the tile with the smaller error, for forced Winograd."""
    fastest = min(["corrmm"] + [str(t) for t in tiles], key=row["ms"].get)
    row["choice"] = None if fastest == "corrmm" else int(fastest)
    row["accurate"] = min(W.TILES, key=lambda t: max(row["error"][str(t)]))


def measure_layers(repeats=3, seed=0):
    """The per-layer rows of winograd_choice.json (see the module docstring)."""
    functions = {impl: _layer_step(impl) for impl in IMPLEMENTATIONS}
    rng = np.random.default_rng(seed)
    rows, seen = [], set()
    print("== winograd layers: VGG-16 3x3 layers at %dx%d, forward + input gradient "
          "(%s)" % (GALLERY + (load(),)))
    print("%-8s %4s %4s %9s %10s %10s %10s %9s %9s %9s %9s %s" % (
        "layer", "in", "out", "size", "CorrMM ms", "F2 ms", "F4 ms", "F2/CorrMM", "F4/CorrMM",
        "F2 error", "F4 error", "choice"))
    for name, c_in, c_out, h, w_, shrink in vgg16_layers():
        if (c_in, c_out, shrink) in seen:
            continue
        seen.add((c_in, c_out, shrink))
        x = rng.standard_normal((1, c_in, h, w_), dtype=np.float32)
        wv = (rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) * 0.05)
        gz = rng.standard_normal((1, c_out, h, w_), dtype=np.float32)
        times = {impl: [] for impl in IMPLEMENTATIONS}
        for f in functions.values():
            f(x, wv, gz)   # warm: allocations, first touch
        for _ in range(repeats):
            for impl, f in functions.items():
                start = time.perf_counter()
                f(x, wv, gz)
                times[impl].append(time.perf_counter() - start)
        med = {impl: float(np.median(t)) for impl, t in times.items()}
        err = _errors(c_in, c_out, functions, rng)
        row = {"layer": name, "in": c_in, "out": c_out, "rows": h, "cols": w_,
               "shrink": shrink, "ms": {str(k): 1e3 * v for k, v in med.items()},
               "error": {str(t): err[t] for t in W.TILES}}
        _choose(row, W.TILES)
        rows.append(row)
        print("%-8s %4d %4d %9s %10.0f %10.0f %10.0f %9.2f %9.2f %9.1e %9.1e %s" % (
            name, c_in, c_out, "%dx%d" % (w_, h), 1e3 * med["corrmm"], 1e3 * med[2],
            1e3 * med[4], med[2] / med["corrmm"], med[4] / med["corrmm"], max(err[2]),
            max(err[4]), "CorrMM" if row["choice"] is None else "F%d" % row["choice"]),
            flush=True)
    print("error: max |float32 - float64| / max |float64| of the forward and input "
          "gradient (the larger), on a 40x56 crop; %s at the end" % load())
    return rows


def net_errors(size=224, seed=0):
    """{engine: (logits error, gradient relative L2)} of the VGG-16 step in
    float32 against a float64 CorrMM graph of the same random net; the
    reference vectors' tolerances are 1e-5 and 5e-2."""
    from theano.tensor.signal.pool import pool_2d
    model = vgg16_random_model(seed)
    image = (np.random.RandomState(seed).rand(1, 3, size, size) - 0.5) * 255

    def graph(x, dtype, tiles):
        for spec in model.layers:
            if spec.type == "conv":
                w = T.constant(spec.W.astype(dtype))
                tile = tiles.get(spec.name)
                x = (W.winograd_corr(x, w, tile) if tile else
                     T.nnet.conv2d(x, w, border_mode=(spec.pad[0], spec.pad[2]), filter_flip=False))
                x = x + T.constant(spec.b.astype(dtype)).dimshuffle("x", 0, "x", "x")
            elif spec.type == "relu":
                x = T.maximum(x, 0)
            elif spec.type == "pool":
                x = pool_2d(x, ws=(2, 2), ignore_border=True)
        return x

    net = build_net(model, conv="auto")
    auto = {name: layer.winograd_tile for name, layer in net.layers.items()
            if getattr(layer, "winograd_tile", None)}
    three = [s.name for s in model.layers if s.type == "conv" and s.W.shape[2] == 3]
    engines = {"float64": ("float64", {}), "CorrMM": ("float32", {}), "auto": ("float32", auto),
               "all F2": ("float32", dict.fromkeys(three, 2)),
               "all F4": ("float32", dict.fromkeys(three, 4))}
    out = {}
    for name, (dtype, tiles) in engines.items():
        x = T.tensor4(dtype=dtype)
        y = graph(x, dtype, tiles)
        out[name] = theano.function([x], [y, T.grad(y.sum(), x)])(image.astype(dtype))
    y64, g64 = out.pop("float64")
    return {name: (float(abs(y - y64).max() / abs(y64).max()),
                   float(np.linalg.norm(g - g64) / np.linalg.norm(g64)))
            for name, (y, g) in out.items()}


def print_net_errors(errors, size=224):
    print("VGG-16 at %dx%d (random weights), float32 against float64: max|logits error| / "
          "max|logits| (tolerance %.0e), relative L2 of the image gradient (tolerance %.0e)"
          % (size, size, LOGITS_TOLERANCE, GRADIENT_TOLERANCE))
    for name, (logits, grad) in errors.items():
        print("  %-7s logits %.1e  gradient %.1e" % (name, logits, grad))


def write_choice(rows, repeats):
    """Store the rows and choices (winograd_choice.json), then check the whole
    net with them against float64; F(4x4) gives way to F(2x2) if it fails."""
    for tiles in (W.TILES, (2,)):
        for row in rows:
            _choose(row, tiles)
        data = {"date": datetime.date.today().isoformat(),
                "command": "python -m bench.bench_winograd --layers --write-choice "
                           "--repeats %d" % repeats,
                "load": load(),
                "note": "ms: median of the step's two convolutions (forward + input "
                        "gradient) at 840x472, CorrMM and the tiles interleaved; error: "
                        "(forward, input gradient) max|float32 - float64| / max|float64| "
                        "on a 40x56 crop; choice: the fastest (null = CorrMM); accurate: "
                        "the tile used when Winograd is forced; net: the whole VGG-16 at "
                        "224x224 with these choices against float64 (logits, gradient)",
                "tolerance": {"logits": LOGITS_TOLERANCE, "gradient": GRADIENT_TOLERANCE},
                "rows": rows}
        _write_json(data)
        data["net"] = net_errors()
        _write_json(data)
        logits, gradient = data["net"]["auto"]
        if logits <= LOGITS_TOLERANCE and gradient <= GRADIENT_TOLERANCE:
            break
        print("the whole net is out of tolerance with F(4x4) (%.1e, %.1e): F(2x2) only"
              % (logits, gradient))
    print("wrote %s" % winograd_choice.PATH)
    return data


def _write_json(data):
    tmp = winograd_choice.PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, winograd_choice.PATH)
    winograd_choice.table.cache_clear()


def torch_steps(model):
    """{engine: f(x) -> d sum(logits) / d x} of the PyTorch CPU build: the port
    in float32 ("PyTorch"), in bfloat16 ("bf16 (ours)": weights converted
    once, channels-last, float32 out; reproduce_torch.precision), and PyTorch's
    own autocast + channels-last on the float32 port ("PyTorch bf16"); {}
    without torch.  The bfloat16 engines run where the CPU has no bfloat16
    unit too (oneDNN converts in software): their rows then say so."""
    try:
        from bench.bench_race import torch_vgg
        steps = {"PyTorch": torch_vgg(model)}
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        return {}
    steps["bf16 (ours)"] = torch_vgg(model, "bf16")
    steps["PyTorch bf16"] = torch_vgg(model, autocast=True)
    return steps


def bf16_engine(name):
    return "bf16" in name


def cpu_line():
    """'AMD EPYC (bfloat16 unit: avx512_bf16)': the CPU the numbers are of."""
    from reproduce_torch.precision import bf16_units, cpu_flags
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), model)
    except OSError:
        pass
    return "%s (bfloat16 unit: %s)" % (model, bf16_units(cpu_flags()) or "none")


def run_steps(sizes=SIZES, repeats=3, seed=0):
    """The step table: CorrMM, Winograd (auto), our bfloat16 path, PyTorch
    float32 and PyTorch bfloat16 interleaved, per size."""
    model = vgg16_random_model(seed)
    peak, _ = sgemm_theano()
    print("== winograd: VGG-16 step (forward + input gradient, random weights of the "
          "real sizes), %s" % load())
    nets = {"CorrMM": build_net(model, conv="corrmm"), "Winograd": build_net(model, conv="auto")}
    steps = {name: compile_step(net) for name, net in nets.items()}
    steps.update(torch_steps(model))
    peaks = {False: peak}
    if "PyTorch" in steps:
        from bench.bench_race import sgemm_torch
        peaks[True] = sgemm_torch(dtype="bfloat16")
        print("CPU: %s" % cpu_line())
        print("matmul 2048^2 peaks: Theano sgemm %.1f GFLOP/s (float32 rows), torch "
              "float32 %.1f, torch bfloat16 %.1f GFLOP/s (bf16 rows: %.1fx the sgemm)"
              % (peak, sgemm_torch(), peaks[True], peaks[True] / peak))
    else:
        print("Theano sgemm 2048^2: %.1f GFLOP/s (the peak below)" % peak)
    tiles = [layer.winograd_tile for layer in nets["Winograd"].layers.values()
             if getattr(layer, "winograd_tile", None)]
    print("Winograd net: %d of 13 3x3 layers on Winograd (tiles %s), the rest CorrMM"
          % (len(tiles), ", ".join("F%d" % t for t in tiles) or "none"))
    rng = np.random.RandomState(seed)
    results = {}
    print("%-9s %-12s %9s %8s %10s %8s %10s" % ("size", "engine", "s/step", "GFLOP/s",
                                                "of peak", "/PyTorch", "/CorrMM"))
    for width, height in sizes:
        x = ((rng.rand(1, 3, height, width) - 0.5) * 255).astype(np.float32)
        times = {name: [] for name in steps}
        for f in steps.values():
            f(x)
        for _ in range(repeats):
            for name, f in steps.items():
                start = time.perf_counter()
                f(x)
                times[name].append(time.perf_counter() - start)
        gflop = step_flops(nets["CorrMM"], height, width) / 1e9
        med = {name: float(np.median(t)) for name, t in times.items()}
        results["%dx%d" % (width, height)] = med
        for name in steps:
            print("%-9s %-12s %9.3f %8.1f %9.0f%% %8s %10.2f" % (
                "%dx%d" % (width, height), name, med[name], gflop / med[name],
                100 * gflop / med[name] / peaks[bf16_engine(name)],
                "%.2f" % (med[name] / med["PyTorch"]) if "PyTorch" in med else "-",
                med[name] / med["CorrMM"]))
        print("  (%s)" % load(), flush=True)
    print("of peak: against the sgemm peak for float32 rows, the bfloat16 matmul "
          "peak for bf16 rows")
    gallery = results["%dx%d" % GALLERY]
    print("one `make figures` picture, estimated as %d steps x the %dx%d step (the "
          "prior and the update not counted): %s" % (
              GALLERY_STEPS, GALLERY[0], GALLERY[1], ", ".join(
                  "%s %.1f min" % (name, GALLERY_STEPS * t / 60) for name, t in gallery.items())))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.bench_winograd",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--layers", action="store_true",
                        help="time and check each VGG-16 3x3 layer instead of the whole step")
    parser.add_argument("--write-choice", action="store_true",
                        help="with --layers: store the table and choice as %s"
                        % winograd_choice.PATH)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.layers:
        rows = measure_layers(args.repeats)
        errors = write_choice(rows, args.repeats)["net"] if args.write_choice else net_errors()
        print_net_errors(errors)
        return rows
    return run_steps(repeats=args.repeats)


if __name__ == "__main__":
    main()
