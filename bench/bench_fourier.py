"""Fourier recipe bench: the Theano loop against the same loop in PyTorch.

Three measurements at 224x224:

1. the inverse DFT of the Fourier image, forward + backward, by its two
   routes (``theano.tensor.fft.irfft`` and two matrix products), alone;
2. seconds per step of the ``fourier`` recipe on the embedded classifier
   (weights/efficientnet_lite0.h5): parameterisation, Lucid's transforms,
   the net, the class logit, Adam -- one compiled Theano function;
3. the same loop written in PyTorch (torch.fft, F.interpolate,
   affine_grid/grid_sample, the net from ``reproduce_torch``, torch Adam).

Both loops do the same work per step: decorrelated 1/f Fourier image, pad
12, jitter 8, a scale from 0.9..1.1, a rotation from -10..10 degrees, jitter
4, EfficientNet-Lite0, logit of one class, Adam on the spectrum.  The target
is that 256 Theano steps take at most twice the PyTorch time; we time a
few steps of each after warm-up, interleaved (A B A B) so that load from
other processes hits both alike, and scale to 256.  PyTorch runs with 1 and
with the machine's thread count (its threads spin on a loaded machine); the
faster one is the reference.

Run: ``python -m bench fourier`` or ``python -m bench.bench_fourier
[--steps 10] [--rounds 3] [--weights weights/efficientnet_lite0.h5]``.
"""
import argparse
import os
import time

import numpy as np

import reproduce.backend  # noqa: F401  (Theano flags first)
from reproduce.fourier import params
from reproduce.fourier import transforms
from reproduce.fourier.renderer import FOURIER
from reproduce.job import PictureJob
from reproduce.backend import T, theano

from .bench_foundation import time_calls

SIZE = 224
STEPS = 256
TARGET = 980  # volcano
REFERENCE_SECONDS = 18  # the PyTorch port's 256 steps on this CPU (docs/recipes.md)


def time_dft_routes(size=SIZE, repeats=20):
    """{route: CPU seconds} for forward + backward of the Fourier image alone."""
    out = {}
    for route in params.IRFFT2:
        p = params.Fourier((size, size), dft=route)
        loss = T.sqr(p.image - 100.0).mean()
        fn = theano.function([], T.grad(loss, p.params))
        out[route] = time_calls(fn, (), repeats)[2]  # median CPU seconds
    return out


class TheanoLoop:
    """The fourier recipe's compiled step on ``model``."""

    def __init__(self, model, profile=FOURIER):
        from reproduce.recipes import build_dreamer
        start = time.perf_counter()
        self.renderer = build_dreamer(PictureJob(weights=model, recipe="fourier"), profile)
        self.compile_seconds = time.perf_counter() - start
        self.renderer.set_classes(TARGET)

    def steps(self, n):
        for _ in range(n):
            self.renderer.step()


class TorchLoop:
    """The same step in PyTorch, on the CPU; the net in ``precision``
    (reproduce_torch.precision; bench_precision times bf16)."""

    def __init__(self, model, threads, profile=FOURIER, precision="float32", target=TARGET,
                 seed=0):
        import torch
        from reproduce_torch.nets import build_net, preprocess
        self.torch, self.threads = torch, threads
        self.model, self.profile = model, profile
        self.net, self.preprocess = build_net(model, "cpu", precision), preprocess
        rows = cols = SIZE
        self.target = target
        rng = np.random.RandomState(seed)
        half = (3, rows, cols // 2 + 1)
        self.real = torch.tensor(0.01 * rng.randn(*half).astype(np.float32),
                                 requires_grad=True)
        self.imag = torch.tensor(0.01 * rng.randn(*half).astype(np.float32),
                                 requires_grad=True)
        self.scale = torch.tensor(params.spectrum_scale(rows, cols))
        self.colors = torch.tensor(params.color_matrix())
        self.optimizer = torch.optim.Adam([self.real, self.imag], lr=profile.learning_rate)
        self.rng = np.random.RandomState(seed)

    def picture(self):
        """The current picture, (H, W, 3) float32 on 0..255."""
        with self.torch.no_grad():
            return self.image()[0].permute(1, 2, 0).numpy().copy()

    def image(self):
        """(1, 3, H, W) on 0..255, as params.Fourier."""
        torch = self.torch
        spectrum = torch.complex(self.real * self.scale, self.imag * self.scale)
        linear = torch.fft.irfft2(spectrum, s=(SIZE, SIZE)) * self.profile.amplitude
        mixed = torch.einsum("ij,jhw->ihw", self.colors, linear)
        return 255 * torch.sigmoid(mixed)[None]

    def transform(self, x):
        """pad, jitter, scale, rotate, jitter with numpy draws, as transforms.standard."""
        torch, F, p = self.torch, self.torch.nn.functional, self.profile
        x = F.pad(x, (p.pad,) * 4, value=transforms.GREY)
        x = self._crop(x, p.jitter)
        s = p.scales[self.rng.randint(len(p.scales))]
        size = [int(round(s * n)) for n in x.shape[2:]]
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        theta = np.deg2rad(p.angles[self.rng.randint(len(p.angles))])
        affine = torch.tensor([[[np.cos(theta), -np.sin(theta), 0],
                                [np.sin(theta), np.cos(theta), 0]]], dtype=torch.float32)
        grid = F.affine_grid(affine, list(x.shape), align_corners=False)
        x = F.grid_sample(x - transforms.GREY, grid, align_corners=False) + transforms.GREY
        return self._crop(x, p.jitter_after)

    def _crop(self, x, d):
        dy, dx = self.rng.randint(0, d + 1, size=2)
        return x[:, :, dy:dy + x.shape[2] - d, dx:dx + x.shape[3] - d]

    def steps(self, n):
        self.torch.set_num_threads(self.threads)
        for _ in range(n):
            self.optimizer.zero_grad()
            x = self.preprocess(self.transform(self.image()), self.model, "channel")
            logits = self.net.output(x=x)
            loss = -logits[0, self.target].mean()
            loss.backward()
            self.optimizer.step()


def interleaved(loops, steps, rounds):
    """{name: (median wall seconds, median CPU seconds) per step}, running the
    loops in turn each round.  CPU time (this process, all its threads) is the
    steadier number on a shared machine: other processes do not add to it."""
    wall = {name: [] for name in loops}
    cpu = {name: [] for name in loops}
    for name, loop in loops.items():
        loop.steps(2)  # warm-up: allocations, lazy init
    for _ in range(rounds):
        for name, loop in loops.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            loop.steps(steps)
            wall[name].append((time.perf_counter() - start) / steps)
            cpu[name].append((time.process_time() - start_cpu) / steps)
    return {name: (float(np.median(wall[name])), float(np.median(cpu[name])))
            for name in loops}


def main(argv=None):
    p = argparse.ArgumentParser(description="Fourier recipe: Theano vs PyTorch")
    p.add_argument("--weights", default="weights/efficientnet_lite0.h5")
    p.add_argument("--steps", type=int, default=10, help="steps per timing round")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)

    print("== fourier: inverse DFT of a %dx%d Fourier image, forward + backward" % (SIZE, SIZE))
    for route, seconds in time_dft_routes().items():
        print("  %-4s %.2f ms CPU%s" % (route, 1000 * seconds,
                                     "  (default)" if route == params.DEFAULT_DFT else ""))
    if not os.path.exists(args.weights):
        print("  %s not found (make setup converts it); skipping the loop timings"
              % args.weights)
        return 0
    import torch
    from reproduce.nets.weights import load_model
    model = load_model(args.weights)
    threads = max(1, torch.get_num_threads())
    loops = {"theano": TheanoLoop(model)}
    print("== fourier: %d-step picture at %dx%d on %s (Theano compile %.0f s)"
          % (STEPS, SIZE, SIZE, os.path.basename(args.weights),
             loops["theano"].compile_seconds))
    loops["torch-1"] = TorchLoop(model, 1)
    if threads > 1:
        loops["torch-%d" % threads] = TorchLoop(model, threads)
    per_step = interleaved(loops, args.steps, args.rounds)
    for name, (wall, cpu) in per_step.items():
        print("  %-9s %6.1f ms/step wall (%6.1f s per %d steps), %6.1f ms/step CPU"
              % (name, 1000 * wall, STEPS * wall, STEPS, 1000 * cpu))
    best = min((k for k in per_step if k.startswith("torch")), key=lambda k: per_step[k][0])
    ratio = per_step["theano"][0] / per_step[best][0]
    print("  Theano / fastest PyTorch (%s), wall: %.2fx (target <= 2x: %s); "
          "load average %.1f" % (best, ratio, "met" if ratio <= 2 else "NOT met",
                                 os.getloadavg()[0]))
    theano_256 = STEPS * per_step["theano"][0]
    print("  against PyTorch's recorded time (%d s per %d steps): %.1f s = %.2fx"
          % (REFERENCE_SECONDS, STEPS, theano_256, theano_256 / REFERENCE_SECONDS))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
