"""The prior's energy inside a Theano graph: one Op for energy and gradient.

:func:`prior_energy` is what the optimisation step calls: for a symbolic
image (1, 3, H, W), RGB on 0..255, the mean per-component energy at each
usable mean-pool scale (:func:`reproduce.prior.fit.usable_scales`) and their
average.  The formulas and the numpy reference are in :mod:`reproduce.prior.fit`;
the Op that computes it is :mod:`reproduce.ops.patch_prior`.
"""
import collections

import numpy as np

from ..backend import T, theano
from ..nets.pooling import mean_pool
from ..ops.patch_prior import PatchEnergy
from .fit import OFFSET, PATCH, usable_scales


def prior_energy(image, prior, scales, shape):
    """Symbolic prior energy of ``image``; differentiable, float32.

    image: (1, 3, H, W) tensor, RGB on 0..255; ``shape`` = (H, W), static.
    Returns (total, energies): energies an OrderedDict scale -> scalar, the
    mean per-component energy over all windows of the image mean-pooled by
    that scale; total their average over the usable scales (see
    :func:`usable_scales`).  The caller multiplies total by the strength.
    """
    bank = theano.shared(np.ascontiguousarray(prior.filters.transpose(3, 2, 0, 1),
                                              np.float32), name="prior_filters")
    mean = theano.shared(np.asarray(prior.mean, np.float32), name="prior_mean")
    used = prior.n_components - (prior.kind == "gaussian")
    energy = PatchEnergy(prior.kind, prior.nu)
    energies = collections.OrderedDict()
    for p in usable_scales(scales, shape):
        pooled = mean_pool(image, p) - np.float32(OFFSET)
        count = used * (shape[0] // p - PATCH + 1) * (shape[1] // p - PATCH + 1)
        energies[p] = energy(pooled, bank, mean)[0] / np.float32(count)
    total = sum(energies.values()) / np.float32(len(energies))
    return total, energies


def compile_energy(prior, scales, shape, gradient=True):
    """A compiled f(image (1, 3, H, W) float32) -> [total, per-scale..., (grad)].

    The per-scale energies come in the order of ``usable_scales``; the
    gradient, if asked for, is d total / d image, shape (1, 3, H, W).
    """
    image = T.tensor4("image")
    total, energies = prior_energy(image, prior, scales, shape)
    outputs = [total] + list(energies.values())
    if gradient:
        outputs.append(T.grad(total, image))
    return theano.function([image], outputs)


