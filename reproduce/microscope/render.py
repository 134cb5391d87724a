"""The pictures of one layer's units, compiled once per layer.

The channel is a shared input of every compiled function, so a layer's
hundreds of channels share one compile of each: the Fourier renderer
(positive and negative share it too: the sign is an input), and DeepDream's
gradient of the channel.  The layer's own DeepDream is compiled on first
use.
"""
import numpy as np

from ..backend import floatX, theano
from ..objectives import Objective


class LayerRenderer:
    """Every picture of ``layer``'s units for ``job`` (a MicroscopeJob) on ``net``."""

    def __init__(self, net, layer, job):
        from ..deepdream.dream import compile_gradient
        from ..fourier.renderer import Renderer
        from ..recipes import job_settings
        self.net, self.layer, self.job = net, layer, job
        self.channel = theano.shared(np.int32(0), name="channel")
        self.sign = theano.shared(np.asarray(1.0, floatX), name="sign")
        self.profile = job_settings(job.picture, net.model)
        channel, sign = self.channel, self.sign
        unit = Objective(lambda a: sign * a(layer)[0, channel].mean(),
                         "+/- mean of %s:CHANNEL" % layer)
        self.renderer = Renderer(net, self.profile, objective=unit, seed=job.picture.seed)
        dream = Objective(lambda a: 0.5 * (a(layer)[:, channel] ** 2).mean(),
                          "l2(%s:CHANNEL)" % layer)
        self.channel_gradient = compile_gradient(net, dream)
        self._layer_gradient = None

    def _fourier(self, channel, sign, seed):
        from ..loop import Loop, Result
        self.channel.set_value(np.int32(channel))
        self.sign.set_value(np.asarray(sign, floatX))
        self.renderer.reset(seed)
        history = []
        with Loop(self.profile.steps, progress=False) as loop:
            for _, loss, score, _ in self.renderer.run():
                history.append(score)
                loop.tick()
        return Result(self.renderer.get_image(), len(history), loop.seconds,
                      loop.interrupted, history, self.profile)

    def unit(self, channel, photo):
        """{kind: (objective, Result)}: "" the channel maximised, "neg"
        minimised, "div1".. more maximised pictures, "dream" DeepDream of
        the channel on ``photo``."""
        from ..deepdream.dream import deepdream
        seed, name = self.job.picture.seed, "%s:%d" % (self.layer, channel)
        out = {"": (name, self._fourier(channel, 1.0, seed)),
               "neg": ("-" + name, self._fourier(channel, -1.0, seed))}
        for i in range(1, self.job.diverse + 1):
            out["div%d" % i] = ("%s, seed %d" % (name, seed + i),
                                self._fourier(channel, 1.0, seed + i))
        self.channel.set_value(np.int32(channel))
        out["dream"] = ("l2(%s)" % name, deepdream(self.channel_gradient, photo,
                                                   self.job.dream, progress=False))
        return out

    def layer_dream(self, photo):
        """("l2(LAYER)", DeepDream of the whole layer on ``photo``)."""
        from .. import objectives
        from ..deepdream.dream import compile_gradient, deepdream
        if self._layer_gradient is None:
            self._layer_gradient = compile_gradient(self.net, objectives.layer_l2(self.layer))
        return ("l2(%s)" % self.layer,
                deepdream(self._layer_gradient, photo, self.job.dream, progress=False))

    def settings(self, channel):
        """What a unit page shows under "settings"."""
        p = self.profile
        out = {"layer": self.layer, "recipe": self.job.picture.recipe,
               "image_size": "%dx%d" % tuple(p.image_size), "steps": p.steps,
               "learning_rate": p.learning_rate, "seed": self.job.picture.seed,
               "diverse": self.job.diverse,
               "dream": "%d octaves of %d steps, step size %g, photo %d px" % (
                   self.job.dream.octaves, self.job.dream.steps, self.job.dream.step_size,
                   self.job.photo_side)}
        if channel is not None:
            out["channel"] = channel
        return out
