"""The 2015 optimisation loop in PyTorch: the twin of :mod:`reproduce.lsd2015.dreamer`.

:class:`Dreamer` offers the methods of ``reproduce.lsd2015.dreamer.Dreamer``
(set_image, get_image, set_classes, step, zoom, run), so callers switch
backends by constructing the other class.  The image stays on the device
between steps; only the zoom (``reproduce.lsd2015.frames.zoom``, numpy/scipy, once
per key frame) goes through the host.
"""
import numpy as np
import torch

from reproduce.lsd2015 import frames
from reproduce.nets.pooling import mean_pool

from .nets import preprocess
from .objectives import lsd2015
from .prior import TorchPrior
from .updates import make_rule


class Dreamer:
    """The 2015 step for ``net`` (a :class:`reproduce_torch.nets.TorchNet`) under ``profile``.

    loss = -mean_s objective(net(meanpool_s(x) - mean))
           + prior_strength * mean_p prior_energy(meanpool_p(x))
    over the profile's net scales s and prior scales p; x is the image,
    (1, 3, H, W) float32 RGB on 0..255, on the net's device.  ``objective``
    (a :class:`reproduce_torch.objectives.Objective`) defaults to the 2015
    one with targets set by :meth:`set_classes`.
    """

    def __init__(self, net, profile, prior=None, objective=None):
        self.net, self.profile, self.prior = net, profile, prior
        self.device = net.device
        self.targets = [0, 0]
        self.objective = objective or lsd2015(
            lambda: self.targets[0], lambda: self.targets[1], profile.layer,
            profile.half_row_index(net))
        self.energy_of = (TorchPrior(prior, profile.prior_scales, self.device)
                          if prior is not None and profile.prior_strength else None)
        self.image = torch.zeros((1, 3, 32, 32), dtype=torch.float32, device=self.device)
        self.zooms = 0  # zooms since set_image, for profile.zoom_dither
        self.rule = make_rule(profile.update, self.image, profile.beta1,
                              profile.beta2, profile.epsilon)

    def _activations(self, pixels):
        return self.net.activations(preprocess(pixels, self.net.model, self.profile.mean))

    def loss_terms(self, image=None):
        """(loss, objective, prior energy) as tensors for ``image`` (default: ours)."""
        x = self.image if image is None else image
        scales = self.profile.net_scales
        score = sum(self.objective(self._activations(mean_pool(x, s)))
                    for s in scales) / float(len(scales))
        # energy_of averages over every window of every image: times the batch
        # size, each image of a batch (BatchDreamer) carries its own prior term.
        energy = (self.energy_of(x)[0] * x.shape[0] if self.energy_of is not None
                  else torch.zeros((), device=self.device))
        return -score + float(np.float32(self.profile.prior_strength)) * energy, score, energy

    def gradient(self):
        """(loss, objective, energy) floats and d loss / d image, (1, 3, H, W)."""
        x = self.image.detach().requires_grad_(True)
        loss, score, energy = self.loss_terms(x)
        grad, = torch.autograd.grad(loss, x)
        return tuple(float(v.detach()) for v in (loss, score, energy)), grad

    # -- state -------------------------------------------------------------
    def _assign(self, image):
        """Replace the pixels with (H, W, 3) ``image`` (or (N, H, W, 3) images);
        restart the moments."""
        pixels = np.asarray(image, np.float32)
        pixels = pixels[None] if pixels.ndim == 3 else pixels
        batch = torch.as_tensor(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2)),
                                device=self.device)
        if batch.shape == self.image.shape:
            self.image.copy_(batch)
        else:
            self.image = batch.clone()
            self.rule.param = self.image
        self.rule.reset()

    def set_image(self, image):
        """Start from ``image``, (H, W, 3) on 0..255; the moments start afresh."""
        rows, cols = image.shape[:2]
        for s in self.profile.net_scales:
            self.net.check_input_size((rows // s, cols // s),
                                      what="mean-pooled by %d" % s if s > 1 else "")
        self._assign(image)
        self.zooms = 0

    def get_image(self):
        """The current image, (H, W, 3) float32 on 0..255 (a copy)."""
        return self.image[0].permute(1, 2, 0).cpu().numpy().copy()

    def set_classes(self, lower, upper=None):
        """Aim the lower half of the logit map at ``lower`` and the upper at ``upper``."""
        self.targets = [int(lower), int(lower if upper is None else upper)]

    # -- the loop ----------------------------------------------------------
    def step(self):
        """One update; returns (loss, objective, prior energy) before the step."""
        values, grad = self.gradient()
        self.rule.apply(grad, self.profile.learning_rate, self.profile.clip)
        return values

    def zoom(self, frames_ahead=None):
        """Zoom the image to the next key frame's start, ``frames_ahead`` stream
        frames on (default: the profile's frames_per_key); reset the moments."""
        self._assign(frames.zoom(self.get_image(), self.profile, frames_ahead, self.zooms))
        self.zooms += 1

    def run(self, steps=None):
        """Take ``steps`` steps with the 2015 zoom schedule
        (:func:`reproduce.lsd2015.frames.zoomed_steps`); yields (step index, loss,
        objective, prior energy) after each step."""
        return frames.zoomed_steps(self, self.profile, steps)
