"""Recipes: which parameterisation, transforms, objective, prior and update
rule make a class picture, chosen by name (``--recipe``).

* ``lsd2015``: pixels, the Student-t patch prior, the 2015 update rule and
  the zoom -- :class:`reproduce.lsd2015.dreamer.Dreamer` with a 2015 profile.
* ``fourier``: a decorrelated Fourier image (``params.Fourier``), Lucid's
  random pad/jitter/scale/rotate before the net at every step
  (``transforms.standard``), standard Adam (lr 0.05 on the spectrum
  parameters), no prior -- :class:`Renderer` with :data:`FOURIER`.

Both give a "dreamer" with the same methods (``set_classes``, ``set_image``,
``get_image``, ``run``), so ``pipeline.dream_picture``, the figure scripts
and the demo drive either one.  :class:`Renderer` is the general composable
loop: any parameterisation, any transforms, any objective.
"""
import dataclasses
from typing import Optional, Tuple

import numpy as np

from .fourier import params
from .fourier import transforms
from .backend import T, floatX, theano
from .errors import UserError
from .nets.build import preprocess
from .objectives import class_logit, mean_logits
from .lsd2015.profiles import STREAM2015, Profile, apply_overrides
from .updates import make_rule


@dataclasses.dataclass(frozen=True)
class FourierProfile:
    """Settings of the ``fourier`` recipe (same ``--set name=value`` overrides
    as the 2015 profiles).  ``layer=""`` means the model's last layer (its
    logits); ``param`` may also be "pixels" or "pyramid".  The zoom fields
    are the 2015 ones: ``steps_per_zoom`` (None: never) adds the 2015 zoom
    between steps."""
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
    layer: str = ""
    mean: str = "channel"
    mean_logit_weight: float = 0.0
    steps_per_zoom: Optional[int] = None
    zoom_speed: float = STREAM2015.zoom_speed
    fps: int = STREAM2015.fps
    frames_per_key: int = STREAM2015.frames_per_key
    rotation_per_frame: float = STREAM2015.rotation_per_frame
    clip: Tuple[float, float] = STREAM2015.clip
    sources: Tuple[Tuple[str, str], ...] = (
        ("learning_rate", "Lucid render.render_vis: Adam(0.05); on the spectrum "
                          "parameters, not on pixels"),
        ("steps", "issue 7: 256 steps gave recognisable pictures"),
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

    def settings(self):
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "sources"}

    for_model = Profile.for_model  # aim an empty or unknown layer at the logits

    def source(self, field):
        return dict(self.sources).get(field, "")


FOURIER = FourierProfile()


def make_param(profile, seed=0):
    """The profile's parameterisation at its ``image_size`` (width, height)."""
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
    return params.make_param(profile.param, profile.image_size, seed, **options)


def make_transforms(profile, seed=0):
    """Lucid's robust set from the profile, plus the 2015 zoom if it asks for one."""
    chain = transforms.standard(profile.pad, profile.jitter, profile.scales,
                                profile.angles, profile.jitter_after, seed)
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
        self.param = param or make_param(profile, seed)
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
        """The smallest image the transforms can give must still fit the net."""
        shape = (self.param.rows, self.param.cols)
        smallest = dataclasses.replace(self.profile, scales=(min(self.profile.scales),)) \
            if self.profile.scales else self.profile
        _, out = make_transforms(smallest).draw(shape)
        self.net.check_input_size(out, what="after the transforms")

    # -- state -------------------------------------------------------------
    def reset(self, seed):
        """A fresh start: new random parameters and transform draws, zero moments."""
        self.param.init(seed)
        self.transforms.reseed(seed)
        for rule in self.rules:
            rule.reset()

    def set_image(self, image):
        """Start from ``image`` (H, W, 3) on 0..255; the moments start afresh."""
        self.param.set_image(image)
        for rule in self.rules:
            rule.reset()

    def get_image(self):
        return self.param.get_image()

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
        the image before the steps they are due at, and reset the moments."""
        for i in range(self.profile.steps if steps is None else steps):
            for t in self.transforms.between:
                if t.due(i):
                    self.set_image(t.apply(self.get_image()))
            yield (i,) + self.step() + (0.0,)


# -- recipes: from command-line options to a dreamer ---------------------------
# A recipe answers four questions for pipeline.dream_picture:
#   profile(args)                   its settings with --set/--steps applied
#   start(args, profile)            (start image or None, profile sized to it)
#   build(args, model, profile, backend)   the compiled dreamer (slow; cached)
#   begin(dreamer, image, seed)     make a compiled dreamer start afresh

def _explicit_size(args):
    return any(s.startswith("image_size") for s in args.set)


class Lsd2015Recipe:
    """Pixels, patch prior, the 2015 update rule and zoom: render.Dreamer
    (or its PyTorch twin with --backend torch)."""
    name = "lsd2015"

    def profile(self, args):
        from .pipeline import profile_from
        return profile_from(args)

    def prior_label(self, args):
        return args.prior or "weights/prior_student.h5"

    def start(self, args, profile):
        """The 2015 start image (or seeded grey noise); it sets the size."""
        from .pipeline import start_image
        return start_image(profile, args.start, args.prior_dir, args.seed,
                           _explicit_size(args))

    def build(self, args, model, profile, backend="theano"):
        from .pipeline import backend_classes, load_prior_option
        Dreamer, build_net = backend_classes(backend)
        return Dreamer(build_net(model), profile,
                       load_prior_option(args.prior, args.prior_dir))

    def begin(self, dreamer, image, seed):
        dreamer.set_image(image)


class FourierRecipe:
    """Decorrelated Fourier image, transforms, Adam: :class:`Renderer`."""
    name = "fourier"

    def profile(self, args):
        overrides = list(args.set) + (["steps=%d" % args.steps] if args.steps else [])
        return apply_overrides(FOURIER, overrides)

    def prior_label(self, args):
        return "none"

    def start(self, args, profile):
        """A --start image is the first image and sets the size (unless
        image_size was given); without one the seeded random spectrum starts."""
        if not args.start:
            return None, profile
        from .fileio import load_image
        image = load_image(args.start, profile.image_size if _explicit_size(args) else None)
        return image, dataclasses.replace(profile, image_size=image.shape[1::-1])

    def build(self, args, model, profile, backend="theano"):
        if backend != "theano":
            raise UserError("--recipe fourier runs on the Theano engine only; "
                            "leave out --backend %s" % backend)
        from .nets.build import build_net
        return Renderer(build_net(model), profile, seed=args.seed)

    def begin(self, dreamer, image, seed):
        dreamer.reset(seed)
        if image is not None:
            dreamer.set_image(image)


RECIPES = {r.name: r for r in (Lsd2015Recipe(), FourierRecipe())}


def get_recipe(name):
    if name not in RECIPES:
        raise UserError("unknown recipe %r; choose one of: %s"
                        % (name, ", ".join(RECIPES)))
    return RECIPES[name]
