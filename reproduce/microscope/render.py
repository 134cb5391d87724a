"""The pictures of one layer's units, compiled once per layer.

``reproduce.render`` compiles a renderer per call; a layer has up to 832
channels, so here the channel is an input of the compiled functions and
one compile serves them all (the same Fourier :class:`Renderer`, objectives
and DeepDream as that call):

* one renderer of ``2 * batch`` images: the ``batch`` channels of a task
  maximised and minimised at once.  Each image's objective is the mean
  activation of its channel (Lucid's ``channel``), times +1 or -1, chosen
  by a (images, channels) weight matrix that is a shared input; the
  batch's objective is the mean over its images, which no image shares, so
  image i's gradient is its own objective's;
* one renderer of ``diverse`` images of the same channel, with Lucid's
  diversity term over them (:func:`reproduce.objectives.diversity`);
* DeepDream's gradient of 0.5 * mean(a^2) of the channel, and of the
  whole layer (compiled on first use).
"""
import dataclasses

import numpy as np

from ..backend import floatX, theano
from ..objectives import Objective, diversity

# Lucid's "Feature Visualization" diversity notebook: channel - 1e2 * diversity
# (lucid/optvis/objectives.py, whose diversity is the negative of ours).
DIVERSITY_WEIGHT = 100.0


def _weighted_channels(layer, weights):
    """Mean over the batch of sum_c weights[i, c] * mean(a[i, c]) at ``layer``:
    image i pursues the channels its row of ``weights`` names."""
    def fn(a):
        means = a(layer).mean(axis=(2, 3))            # (images, channels)
        return (means * weights).sum() / means.shape[0].astype(floatX)
    return Objective(fn, "channels of %s" % layer)


class LayerRenderer:
    """Every picture of ``layer``'s units for ``job`` (a MicroscopeJob) on ``net``."""

    def __init__(self, net, layer, job):
        from ..recipes import job_settings
        from ..nets.naming import before_relu
        self.net, self.layer, self.job = net, layer, job
        # The pictures pursue the channel before its ReLU, as Lucid's
        # ("mixed4a_pre_relu"): after it, a channel that is 0 on the grey
        # start has no gradient and the picture stays grey, and "minimise"
        # would stop at 0.  DeepDream keeps the rectified layer, as the
        # sweep does (reproduce/deepdream/dream.py, ``rectified``).
        self.target = before_relu(net, layer)
        # aimed at the unit's layer: the size check asks only that it be reached
        self.profile = dataclasses.replace(job_settings(job.picture, net.model), layer=layer)
        self.channels = net.output_shape(*net.model.image_shape, name=layer)[1]
        self.channel = theano.shared(np.int32(0), name="channel")
        self._compiled = {}

    def _once(self, name, build):
        """Compile what ``build`` makes on first use: a layer task needs only
        the layer's DeepDream, a unit task never needs it."""
        if name not in self._compiled:
            self._compiled[name] = build()
        return self._compiled[name]

    def prepare(self, units=True):
        """Compile now what units (or, ``units=False``, the layer's own
        DeepDream) need; returns the seconds it took (0 when done before)."""
        import time
        started = time.time()
        if units:
            self.pairs, self.channel_gradient
            if self.job.diverse:
                self.diverse
        else:
            self.layer_gradient
        return time.time() - started

    @property
    def pairs(self):
        return self._once("pairs", lambda: self._renderer(2 * self.job.batch, None))

    @property
    def diverse(self):
        return self._once("diverse", lambda: self._renderer(self.job.diverse,
                                                            DIVERSITY_WEIGHT))

    @property
    def channel_gradient(self):
        from ..deepdream.dream import compile_gradient
        layer, channel = self.layer, self.channel
        dream = Objective(lambda a: 0.5 * (a(layer)[:, channel] ** 2).mean(),
                          "l2(%s:CHANNEL)" % layer)
        return self._once("dream", lambda: compile_gradient(self.net, dream))

    @property
    def layer_gradient(self):
        from .. import objectives
        from ..deepdream.dream import compile_gradient
        return self._once("layer", lambda: compile_gradient(
            self.net, objectives.layer_l2(self.layer)))

    def _renderer(self, images, diversity_weight):
        from ..fourier.renderer import Renderer, param_for
        seed = self.job.picture.seed
        weights = theano.shared(np.zeros((images, self.channels), floatX), name="weights")
        objective = _weighted_channels(self.target, weights)
        if diversity_weight:
            objective = objective + diversity_weight * diversity(self.layer)
        renderer = Renderer(self.net, self.profile, param_for(self.profile, seed, images),
                            objective=objective, seed=seed)
        renderer.weights = weights
        return renderer

    def _render(self, renderer, rows):
        """Run ``renderer`` afresh with image i pursuing channel ``rows[i][0]``
        with sign ``rows[i][1]`` -> (images, Result of the batch)."""
        from ..loop import Loop, Result
        weights = np.zeros(renderer.weights.get_value().shape, floatX)
        for i, (channel, sign) in enumerate(rows):
            weights[i, channel] = sign
        renderer.weights.set_value(weights)
        renderer.reset(self.job.picture.seed)
        history = []
        with Loop(self.profile.steps, progress=False) as loop:
            for _, _, score, _ in renderer.run():
                history.append(score)
                loop.tick()
        images = renderer.get_images()
        return images, Result(images[0], len(history), loop.seconds, loop.interrupted,
                              history, self.profile)

    def extremes(self, channels):
        """{channel: (maximised image, minimised image, seconds)} of
        ``channels``, rendered ``batch`` channels at a time (a short group
        repeats its last channel); the seconds are each picture's share of
        its batch's time."""
        n, out = self.job.batch, {}
        for start in range(0, len(channels), n):
            group = list(channels[start:start + n])
            padded = group + [group[-1]] * (n - len(group))
            images, result = self._render(self.pairs, [(c, 1.0) for c in padded]
                                          + [(c, -1.0) for c in padded])
            for i, c in enumerate(group):
                out[c] = (images[i], images[n + i], result.seconds / (2 * n))
        return out

    def unit(self, channel, extremes, photo):
        """{kind: (objective, image, seconds, steps)}: "" the channel
        maximised, "neg" minimised (``extremes``, from :meth:`extremes`),
        "div1".. maximised with the diversity term, "dream" DeepDream of the
        channel on ``photo``."""
        from ..deepdream.dream import deepdream
        name = "%s:%d" % (self.target, channel)
        high, low, share = extremes
        steps = self.profile.steps
        out = {"": (name, high, share, steps), "neg": ("-" + name, low, share, steps)}
        if self.job.diverse:
            images, result = self._render(self.diverse, [(channel, 1.0)] * self.job.diverse)
            label = "%s + %g * diversity(%s) over %d" % (name, DIVERSITY_WEIGHT, self.layer,
                                                         self.job.diverse)
            for i, image in enumerate(images, 1):
                out["div%d" % i] = (label, image, result.seconds / len(images), result.steps)
        self.channel.set_value(np.int32(channel))
        dream = deepdream(self.channel_gradient, photo, self.job.dream, progress=False)
        out["dream"] = ("l2(%s:%d)" % (self.layer, channel), dream.image, dream.seconds,
                        dream.steps)
        return out

    def layer_dream(self, photo):
        """{"": (objective, image, seconds, steps)}: DeepDream of the whole layer."""
        from ..deepdream.dream import deepdream
        result = deepdream(self.layer_gradient, photo, self.job.dream, progress=False)
        return {"": ("l2(%s)" % self.layer, result.image, result.seconds, result.steps)}

    def settings(self, channel):
        """What a unit page shows under "settings"."""
        p, job = self.profile, self.job
        out = {"layer": self.layer, "pictures_pursue": self.target,
               "recipe": job.picture.recipe,
               "image_size": "%dx%d" % tuple(p.image_size), "steps": p.steps,
               "learning_rate": p.learning_rate, "seed": job.picture.seed,
               "batch": job.batch, "diverse": job.diverse,
               "diversity_weight": DIVERSITY_WEIGHT,
               "dream": "%d octaves of %d steps, step size %g, photo %d px" % (
                   job.dream.octaves, job.dream.steps, job.dream.step_size,
                   job.photo_side)}
        if channel is not None:
            out["channel"] = channel
        return out
