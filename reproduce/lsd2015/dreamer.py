"""The 2015 optimisation loop: pixels -> net -> objective + prior -> update -> zoom.

:class:`Dreamer` compiles ONE Theano step per profile and reuses it: the
image, the target classes and the learning rate are shared variables, so
new classes, a zoomed image or a new size need no recompile.
"""
import numpy as np

from . import frames
from ..backend import T, floatX, theano
from ..nets.build import preprocess
from ..objectives import lsd2015
from ..nets.pooling import mean_pool
from ..updates import make_rule


class Dreamer:
    """One compiled 2015 step for ``net`` under ``profile``.

    loss = -mean_s objective(net(meanpool_s(x) - mean))
           + prior_strength * mean_p prior_energy(meanpool_p(x))
    over the profile's net scales s and prior scales p; x is the image,
    (1, 3, H, W) RGB on 0..255.  ``objective`` defaults to the 2015 one
    with targets set by :meth:`set_classes`, its half-way row from
    :meth:`Profile.half_row_index`.  The image size is the
    profile's ``image_size``; the prior needs it to know its usable scales.

    ``batch`` > 1 optimises that many images at once, x then (batch, 3, H,
    W): the objective sees the batch (one that couples the images, such as
    ``objectives.diversity``, is what a batch is for) and the prior energy
    is the mean of each image's.
    """

    def __init__(self, net, profile, prior=None, objective=None, batch=1):
        self.net, self.profile, self.prior = net, profile, prior
        self.shape = tuple(profile.image_size[::-1])  # (rows, cols)
        self.batch = int(batch)
        self.image = theano.shared(np.zeros((self.batch, 3, 32, 32), floatX), name="image")
        self.zooms = 0  # zooms since set_image, for profile.zoom_dither
        self.targets = theano.shared(np.zeros(2, np.int32), name="targets")
        self.learning_rate = theano.shared(np.asarray(profile.learning_rate, floatX))
        objective = objective or lsd2015(self.targets[0], self.targets[1], profile.layer,
                                         profile.half_row_index(net))

        score = sum(objective(self._activations(mean_pool(self.image, s)))
                    for s in profile.net_scales) / float(len(profile.net_scales))
        energy, energies = T.constant(np.float32(0)), {}
        if prior is not None and profile.prior_strength:
            from ..prior.energy import prior_energy
            # the energy of the 2015 code is one image's: average the batch's
            each = [prior_energy(self.image[i:i + 1], prior, profile.prior_scales,
                                 self.shape) for i in range(self.batch)]
            energy = sum(e for e, _ in each) / np.float32(self.batch)
            energies = {p: sum(parts[p] for _, parts in each) / np.float32(self.batch)
                        for p in each[0][1]}
        loss = -score + np.float32(profile.prior_strength) * energy
        # The symbolic terms, for callers that inspect the step (reference vectors).
        self.loss, self.score, self.energy, self.energies = loss, score, energy, energies
        self.rule = make_rule(profile.update, self.image, profile.beta1,
                              profile.beta2, profile.epsilon)
        updates = self.rule.updates(T.grad(loss, self.image), self.learning_rate,
                                    profile.clip)
        self._step = theano.function([], [loss, score, energy], updates=updates)

    def _activations(self, pixels):
        """acts(name) for the net run on ``pixels`` (RGB 0..255)."""
        return self.net.activations(preprocess(pixels, self.net.model, self.profile.mean))

    # -- state -------------------------------------------------------------
    def set_image(self, image):
        """Start from ``image``, (H, W, 3) on 0..255, every image of the batch
        alike, or (batch, H, W, 3), one each; the moments start afresh."""
        image = np.asarray(image, floatX)
        images = image[None] if image.ndim == 3 else image
        if len(images) not in (1, self.batch):
            raise ValueError("%d images for a batch of %d" % (len(images), self.batch))
        rows, cols = images.shape[1:3]
        if (rows, cols) != self.shape:
            raise ValueError("image is %dx%d but this Dreamer was compiled for %dx%d"
                             % (cols, rows, self.shape[1], self.shape[0]))
        for s in self.profile.net_scales:
            self.net.check_input_size((rows // s, cols // s),
                                      what="mean-pooled by %d" % s if s > 1 else "")
        self.image.set_value(np.ascontiguousarray(np.broadcast_to(
            images.transpose(0, 3, 1, 2), (self.batch, 3, rows, cols))))
        self.rule.reset()
        self.zooms = 0

    def get_image(self):
        """The current (first) image, (H, W, 3) float32 on 0..255 (a copy)."""
        return self.get_images()[0]

    def get_images(self):
        """Every image of the batch, (batch, H, W, 3) float32 (a copy)."""
        return self.image.get_value().transpose(0, 2, 3, 1).copy()

    def set_classes(self, lower, upper=None):
        """Aim the lower half of the logit map at ``lower`` and the upper at ``upper``."""
        self.targets.set_value(np.array([lower, lower if upper is None else upper],
                                        np.int32))

    # -- the loop ----------------------------------------------------------
    def step(self):
        """One update; returns (loss, objective, prior energy) before the step."""
        return tuple(float(v) for v in self._step())

    def zoom(self, frames_ahead=None):
        """Zoom the image to the next key frame's start, ``frames_ahead`` stream
        frames on (default: the profile's frames_per_key); reset the moments."""
        self.image.set_value(np.ascontiguousarray(np.stack([frames.zoom(
            image, self.profile, frames_ahead, self.zooms).transpose(2, 0, 1)
            for image in self.get_images()])))
        self.rule.reset()
        self.zooms += 1

    def run(self, steps=None):
        """Take ``steps`` steps with the 2015 zoom schedule
        (:func:`reproduce.lsd2015.frames.zoomed_steps`); yields (step index, loss,
        objective, prior energy) after each step."""
        return frames.zoomed_steps(self, self.profile, steps)
