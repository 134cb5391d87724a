"""The composable renderer of the ``fourier`` recipe: param -> transforms ->
net -> objective -> update, as Lucid's ``render_vis`` composes them.

:data:`FOURIER` holds its settings (a decorrelated Fourier image, Lucid's
random pad/jitter/scale/rotate, Adam); :class:`Renderer` is the general
loop: any parameterisation, any transforms, any objective.
"""
import dataclasses
from typing import Optional, Tuple

import numpy as np

from . import params
from . import transforms
from ..backend import T, floatX, theano
from ..errors import UserError
from ..lsd2015 import frames
from .. import checks
from ..checks import Rule
from ..lsd2015.profiles import PROFILE_RULES, STREAM2015, Profile
from ..nets.build import preprocess
from ..objectives import class_logit, mean_logits
from ..updates import make_rule


@dataclasses.dataclass(frozen=True)
class FourierProfile:
    """Settings of the ``fourier`` recipe (same ``--set name=value`` overrides
    as the 2015 profiles).  ``layer=""`` means the model's last layer (its
    logits); ``param`` may also be "pixels" or "pyramid".  The zoom fields
    are the 2015 ones: ``steps_per_zoom`` (None: never) adds the 2015 zoom
    between steps.  ``scale_filter``: "bilinear" (Lucid's) or "antialias"
    (a widened triangle when the scale shrinks: transforms.resize_matrix);
    ``zoom_moments``: "reset" (Adam starts afresh after every zoom) or
    "keep" (Adam's moments carry over a zoom)."""
    name: str = "fourier"
    param: str = "fourier"
    dft: str = params.DEFAULT_DFT
    learning_rate: float = 0.05
    update: str = "adam"
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    steps: int = 256
    image_size: Tuple[int, int] = (224, 224)
    decay_power: float = 1.0
    spectrum_sd: float = 0.01
    amplitude: float = 0.25
    colors: str = "decorrelated"
    pyramid_levels: int = 4
    pad: int = 12
    jitter: int = 8
    scales: Tuple[float, ...] = transforms.lucid_scales()
    angles: Tuple[int, ...] = transforms.lucid_angles()
    jitter_after: int = 4
    scale_filter: str = "bilinear"
    zoom_moments: str = "reset"
    layer: str = ""
    mean: str = "channel"
    mean_logit_weight: float = 0.0
    steps_per_zoom: Optional[int] = None
    zoom_speed: float = STREAM2015.zoom_speed
    fps: int = STREAM2015.fps
    frames_per_key: int = STREAM2015.frames_per_key
    rotation_per_frame: float = STREAM2015.rotation_per_frame
    clip: Tuple[float, float] = STREAM2015.clip
    zoom_kernel: str = STREAM2015.zoom_kernel
    zoom_centre: str = "true"
    zoom_dither: str = STREAM2015.zoom_dither
    stream_size: Tuple[int, int] = STREAM2015.stream_size
    start_image: str = STREAM2015.start_image
    sources: Tuple[Tuple[str, str], ...] = (
        ("learning_rate", "Lucid render.render_vis: Adam(0.05); on the spectrum "
                          "parameters, not on pixels"),
        ("steps", "ours: 256 steps gave recognisable pictures (docs/recipes.md)"),
        ("zoom_centre", "ours: the true centre, (n - 1) / 2; the 2015 profiles turn "
                        "about n / 2 as zoomingstream.py:114 did, which drifts the "
                        "picture towards the top left at every zoom"),
        ("decay_power", "Lucid param.spatial.fft_image(decay_power=1): 1/f"),
        ("spectrum_sd", "Lucid fft_image: sd 0.01"),
        ("amplitude", "Lucid fft_image: image / 4"),
        ("colors", "Lucid param.color: color_correlation_svd_sqrt, sigmoid"),
        ("pad", "Lucid transform.standard_transforms: pad(12, constant 0.5)"),
        ("jitter", "Lucid standard_transforms: jitter(8)"),
        ("scales", "Lucid standard_transforms: 1 + (i - 5) / 50, i < 11"),
        ("angles", "Lucid standard_transforms: -10..10 degrees + 5 zeros"),
        ("jitter_after", "Lucid standard_transforms: jitter(4)"),
    )

    def __post_init__(self):
        checks.check(self, FOURIER_RULES)

    def settings(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "sources"}

    for_model = Profile.for_model  # aim an empty or unknown layer at the logits

    def source(self, field):
        return dict(self.sources).get(field, "")


# What each setting may be (reproduce.checks); the 2015 fields keep the 2015
# profiles' rules.
FOURIER_RULES = dict(
    {name: rule for name, rule in PROFILE_RULES.items()
     if name in {f.name for f in dataclasses.fields(FourierProfile)}},
    param=Rule(str, choices=tuple(params.PARAMS)), dft=Rule(str, choices=tuple(params.IRFFT2)),
    decay_power=Rule(float, low=-10, high=10), spectrum_sd=checks.POSITIVE,
    amplitude=checks.POSITIVE, colors=Rule(str, choices=("decorrelated", "rgb")),
    pyramid_levels=Rule(int, low=1, high=16), pad=Rule(int, low=0, high=1024),
    jitter=Rule(int, low=0, high=1024), scales=Rule(float, n="+", above=0, high=16),
    angles=Rule(float, n="+", low=-360, high=360), jitter_after=Rule(int, low=0, high=1024),
    scale_filter=Rule(str, choices=("bilinear", "antialias")),
    zoom_moments=Rule(str, choices=("reset", "keep")),
    mean_logit_weight=Rule(float, low=-1e6, high=1e6))

FOURIER = FourierProfile()


def param_for(profile, seed=0, batch=1):
    """The profile's parameterisation at its ``image_size`` (width, height),
    ``batch`` images of it."""
    if profile.colors not in ("decorrelated", "rgb"):
        raise UserError("colors must be 'decorrelated' or 'rgb', not %r" % profile.colors)
    decorrelate = profile.colors == "decorrelated"
    options = {
        "pixels": {},
        "fourier": dict(sd=profile.spectrum_sd, decay_power=profile.decay_power,
                        amplitude=profile.amplitude, decorrelate=decorrelate,
                        dft=profile.dft),
        "pyramid": dict(sd=profile.spectrum_sd, levels=profile.pyramid_levels,
                        decorrelate=decorrelate),
    }.get(profile.param, {})
    return params.make_param(profile.param, profile.image_size, seed, batch=batch,
                             **options)


def make_transforms(profile, seed=0):
    """Lucid's robust set from the profile, plus the 2015 zoom if it asks for one."""
    chain = transforms.standard(profile.pad, profile.jitter, profile.scales,
                                profile.angles, profile.jitter_after, seed,
                                antialias=profile.scale_filter == "antialias")
    if profile.steps_per_zoom:
        chain = transforms.Compose(chain.transforms + [transforms.Zoom(profile)], seed)
    return chain


class Renderer:
    """One compiled step: param -> transforms -> net -> objective -> update.

    loss = -objective(net(preprocess(transforms(param.image)))); each shared
    parameter gets its own update rule (the profile's: learning rate, betas).
    The transforms' per-step random values are the step's inputs; the target
    classes are a shared (2,) int vector (lower and upper half of the logit
    map, as in the 2015 objective), so new classes need no recompile.
    ``objective`` defaults to logit[c0]@lower + logit[c1]@upper
    - mean_logit_weight * mean(logits).
    """

    def __init__(self, net, profile, param=None, chain=None, objective=None, seed=0):
        self.net, self.profile = net, profile
        self.zooms = 0  # zooms since reset or set_image, for profile.zoom_dither
        self.param = param or param_for(profile, seed)
        self.transforms = chain or make_transforms(profile, seed)
        self._check_sizes()  # before the slow compile
        self.targets = theano.shared(np.zeros(2, np.int32), name="targets")
        self.learning_rate = theano.shared(np.asarray(profile.learning_rate, floatX))
        layer = profile.layer or net.output_name
        net.layer(layer)  # an unknown name fails here, listing the valid ones
        if objective is None:
            objective = (class_logit(self.targets[0], layer, "lower")
                         + class_logit(self.targets[1], layer, "upper"))
            if profile.mean_logit_weight:
                objective = objective - profile.mean_logit_weight * mean_logits(layer)
        self.objective = objective
        seen = self.transforms.build(self.param.image)
        score = objective(net.activations(preprocess(seen, net.model, profile.mean)))
        loss = -score
        grads = T.grad(loss, self.param.params)
        self.rules = [make_rule(profile.update, p, profile.beta1, profile.beta2,
                                profile.epsilon) for p in self.param.params]
        updates = [u for rule, g in zip(self.rules, grads)
                   for u in rule.updates(g, self.learning_rate, self.param.clip)]
        self._step = theano.function(self.transforms.inputs, [loss, score],
                                     updates=updates)

    def _check_sizes(self):
        """The smallest image the transforms can give must still reach the
        profile's layer (the logits unless it names another: a GoogLeNet's
        pool5 needs 224 pixels, its inception_4c far fewer)."""
        shape = (self.param.rows, self.param.cols)
        smallest = dataclasses.replace(self.profile, scales=(min(self.profile.scales),)) \
            if self.profile.scales else self.profile
        _, out = make_transforms(smallest).draw(shape)
        self.net.check_input_size(out, name=self.profile.layer or None,
                                  what="after the transforms")

    # -- state -------------------------------------------------------------
    def reset(self, seed):
        """A fresh start: new random parameters and transform draws, zero moments."""
        self.param.init(seed)
        self.transforms.reseed(seed)
        for rule in self.rules:
            rule.reset()
        self.zooms = 0

    def set_image(self, image):
        """Start from ``image`` (H, W, 3) on 0..255; the moments start afresh."""
        self.param.set_image(image)
        for rule in self.rules:
            rule.reset()
        self.zooms = 0

    def get_image(self):
        return self.param.get_image()

    def get_images(self):
        """Every image of the batch, (batch, H, W, 3)."""
        return self.param.get_images()

    def zoom(self, frames_ahead=None):
        """The 2015 zoom of the current image by ``frames_ahead`` stream frames
        (default: the profile's frames_per_key), as the stream takes it between
        key frames."""
        zooms = self.zooms
        self._zoomed(frames.zoom(self.get_image(), self.profile, frames_ahead, zooms))
        self.zooms = zooms + 1  # after _zoomed, whose set_image starts a count

    def _zoomed(self, image):
        """Continue from the zoomed ``image``: the moments start afresh, or,
        with ``zoom_moments="keep"``, carry over (a zoom of a few per cent
        barely moves the low frequencies, and a fresh Adam's first steps
        are as long on every coefficient, the noisy ones too)."""
        if self.profile.zoom_moments == "keep":
            self.param.set_image(image)
        else:
            self.set_image(image)

    def set_classes(self, lower, upper=None):
        self.targets.set_value(np.array([lower, lower if upper is None else upper],
                                        np.int32))

    # -- the loop ----------------------------------------------------------
    def step(self):
        """One update with fresh transform draws; (loss, objective) before it."""
        values, _ = self.transforms.draw((self.param.rows, self.param.cols))
        return tuple(float(v) for v in self._step(*values))

    def run(self, steps=None):
        """Yield (step, loss, objective, 0.0) per step -- the Dreamer's tuple,
        with no prior energy.  Between-step transforms (the 2015 zoom) act on
        the image before the steps they are due at (:meth:`_zoomed`)."""
        for i in range(self.profile.steps if steps is None else steps):
            for t in self.transforms.between:
                if t.due(i):
                    self._zoomed(t.apply(self.get_image()))
            yield (i,) + self.step() + (0.0,)
