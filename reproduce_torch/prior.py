"""The 2015 patch prior's energy on a torch image (see reproduce.prior.fit).

A :class:`reproduce.prior.fit.Prior` (loaded with ``reproduce.prior.fit.load_prior``
or ``load_lsd2015``; neither imports Theano) is applied as the Theano graph
does: mean-pool the image by each usable scale, subtract 128, correlate with
the (8, 8, 3, K) bank, subtract the component means, and average the
per-component energy over components and windows.
"""
import collections

import numpy as np
import torch
import torch.nn.functional as F

from reproduce.nets.pooling import mean_pool
from reproduce.prior.fit import OFFSET, usable_scales


class _StudentT(torch.autograd.Function):
    """mean(log(1 + d^2 / nu)) over all of d, with a hand-written gradient
    2 d / (nu + d^2) / n computed in place.

    d is the largest tensor of a step (192 components at every pixel); the
    autograd chain of mul, log1p and mean made five passes and four
    temporaries of its size, this makes two.
    """

    @staticmethod
    def forward(ctx, d, nu):
        ctx.save_for_backward(d)
        ctx.nu = nu
        return torch.log1p(d * d * np.float32(1.0 / nu)).mean()

    @staticmethod
    def backward(ctx, grad):
        d, = ctx.saved_tensors
        denominator = (d * d).add_(ctx.nu)
        return (d * (2.0 * grad / d.numel())).div_(denominator), None


class TorchPrior:
    """``prior`` on ``device``: callable on (1, 3, H, W) RGB 0..255 images.

    Returns (total, energies): energies an OrderedDict scale -> scalar
    tensor, total their mean over the usable scales (the caller weights it
    by the profile's prior strength).
    """

    def __init__(self, prior, scales, device):
        self.prior, self.scales = prior, tuple(scales)
        bank = np.ascontiguousarray(prior.filters.transpose(3, 2, 0, 1), np.float32)
        # (K, 3, 8, 8) in channels-last order, as the image: oneDNN's gradient of
        # this 3-channel convolution took 1.5 s at 840x472 in NCHW, 0.9 s so
        self.filters = torch.as_tensor(bank, device=device).contiguous(
            memory_format=torch.channels_last)
        self.mean = torch.as_tensor(np.asarray(prior.mean, np.float32),
                                    device=device).reshape(1, -1, 1, 1)

    def _mean_energy(self, d):
        if self.prior.kind == "student":
            return _StudentT.apply(d, float(self.prior.nu))
        return (d[:, :-1] ** 2).mean()

    def __call__(self, image):
        energies = collections.OrderedDict()
        for p in usable_scales(self.scales, image.shape[2:]):
            pooled = (mean_pool(image, p) - OFFSET).contiguous(memory_format=torch.channels_last)
            z = F.conv2d(pooled, self.filters)
            energies[p] = self._mean_energy(z - self.mean)
        return sum(energies.values()) / float(len(energies)), energies
