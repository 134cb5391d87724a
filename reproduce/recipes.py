"""Recipes: the only way from a job (:mod:`reproduce.job`) to a compiled dreamer.

* ``lsd2015``: pixels, the Student-t patch prior, the 2015 update rule and
  the zoom -- :class:`reproduce.lsd2015.dreamer.Dreamer` with a 2015
  profile (or its PyTorch twin with ``backend="torch"``).
* ``fourier``: a decorrelated Fourier image, Lucid's random
  pad/jitter/scale/rotate before the net at every step, standard Adam, no
  prior -- :class:`reproduce.fourier.renderer.Renderer` with
  :data:`~reproduce.fourier.renderer.FOURIER`.
* ``fourier-zoom``: the ``fourier`` recipe with the 2015 zoom every 10
  steps, the stream's recipe for classifiers on which the 2015 one paints
  texture (:data:`FOURIER_ZOOM`).  After each zoom the zoomed pixels are
  encoded back into the spectrum exactly (``Renderer.zoom`` ->
  ``params.Fourier.set_image``: inverse sigmoid, colour mixing and 1/f
  scaling), so every key frame continues from the zoomed previous one.

Both give a "dreamer" with the same methods (``set_classes``,
``set_image``, ``get_image``, ``step``, ``zoom``, ``run``), so
:func:`dream_picture`, the figure scripts, the stream and the demo drive
either one.  A recipe answers five questions:

    settings(profile, stream)      its base settings (``stream``: as a stream needs them)
    prior_label(job)               the prior, as a record names it
    start(job, profile)            (start image or None, profile sized to it)
    build(job, model, profile)     the compiled dreamer (slow; cached here)
                                   (lsd2015 also: build_batch, N classes at once on torch)
    begin(dreamer, image, seed)    make a compiled dreamer start afresh
"""
import dataclasses
import os

import numpy as np

from . import paths
from .errors import UserError
from .fourier.renderer import FOURIER
from .lsd2015.profiles import (LIVE_PRECISION, LIVE_PRECISION_SOURCE, STREAM2015,
                               apply_overrides, get_profile)
from .loop import Loop, Result


# -- the pieces a recipe uses ------------------------------------------------------

def noise_image(size, seed=0, std=8.0):
    """Seeded grey noise, (H, W, 3) float32 around 128, for ``size`` = (W, H)."""
    width, height = size
    rng = np.random.RandomState(seed)
    return (128 + std * rng.randn(height, width, 3)).astype(np.float32)


def start_image(profile, start=None, prior_dir=None, seed=0, explicit_size=False):
    """The image the optimisation starts from, and the profile with its size.

    Like the 2015 code, the start image sets the optimised size, unless the
    caller set ``image_size`` explicitly.  Without a start image we use the
    2015 one when ``prior_dir`` has it, else seeded grey noise.
    """
    from .fileio import load_image
    path = start or os.path.join(prior_dir or paths.LSD2015_DIR, profile.start_image)
    size = profile.image_size if explicit_size else None
    if start or os.path.exists(path):
        image = load_image(path, size)
        return image, dataclasses.replace(profile, image_size=image.shape[1::-1])
    return noise_image(profile.image_size, seed), profile


def backend_classes(name):
    """(Dreamer, build_net) of the "theano" reference or the "torch" port."""
    if name == "theano":
        from .nets.build import build_net
        from .lsd2015.dreamer import Dreamer
        return Dreamer, build_net
    if name != "torch":
        raise UserError("unknown backend %r; choose theano or torch" % name)
    try:
        from reproduce_torch import Dreamer, build_net
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            raise
        raise UserError("--backend torch needs PyTorch, which is not installed; run %s"
                        % paths.how_to_make("torch"))
    return Dreamer, build_net


def check_precision(backend, precision):
    """UserError for precision bf16 off the torch backend: the reference
    computes in float32 only ("auto" stays float32 there)."""
    if precision == "bf16" and backend != "torch":
        raise UserError("precision bf16 runs on the torch backend only; add "
                        "--backend torch, or leave precision at float32 or auto")


def build_backend_net(model, backend="theano", device=None, precision="float32",
                      conv="auto", pool_ties="model"):
    """``model``'s net on ``backend``: Theano's with ``conv`` and the max-pools'
    ``pool_ties`` (the reference), or the torch port's on ``device`` in
    ``precision`` (reproduce_torch.precision)."""
    check_precision(backend, precision)
    _, build_net = backend_classes(backend)
    if backend == "torch":
        return build_net(model, torch_device(device), precision)
    return build_net(model, conv=conv, pool_ties=pool_ties)


def torch_device(device):
    """The torch backend's ``device`` (None: torch's choice), refused in one
    line when it is no device torch knows or names CUDA and torch sees none."""
    import torch
    if device is None:
        return device
    try:
        torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise UserError("device %r: not a torch device; use cpu, cuda or cuda:N" % (device,))
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise UserError("device %r: torch sees no CUDA device here; use cpu" % device)
    return device


def load_weights(weights):
    """A job's ``weights``: a path (loaded) or a Model (as it is)."""
    if isinstance(weights, (str, os.PathLike)):
        from .nets.weights import load_model
        return load_model(weights)
    return weights


# -- the recipes --------------------------------------------------------------------

class Lsd2015Recipe:
    """Pixels, patch prior, the 2015 update rule and zoom."""
    name = "lsd2015"
    backends = ("theano", "torch")

    def settings(self, profile="image2015", stream=False):
        """The 2015 profile; a live stream's in the live precision."""
        return live(get_profile(profile)) if stream else get_profile(profile)

    def prior_label(self, job):
        return job.prior or paths.shown(paths.PRIOR)

    def start(self, job, profile):
        """The 2015 start image (or seeded grey noise); it sets the size."""
        return start_image(profile, job.start, job.prior_dir, job.seed,
                           job.sets("image_size"))

    def build(self, job, model, profile):
        from .prior.fit import load_prior_spec
        Dreamer, _ = backend_classes(job.backend)
        # conv (Winograd or CorrMM) is a Theano setting; the port has its own convolutions
        net = build_backend_net(model, job.backend, job.device, profile.precision,
                                profile.conv, profile.pool_ties)
        return Dreamer(net, profile,
                       load_prior_spec(job.prior, job.prior_dir))

    def build_batch(self, job, model, profile):
        """The torch port's dreamer of several classes at once (one picture
        each, as single runs give them; reproduce_torch/batch.py)."""
        from .prior.fit import load_prior_spec
        if job.backend != "torch":
            raise UserError("batches run on the torch backend; add --backend torch")
        net = build_backend_net(model, "torch", job.device, profile.precision)
        from reproduce_torch.batch import BatchDreamer
        return BatchDreamer(net, profile,
                            load_prior_spec(job.prior, job.prior_dir))

    def begin(self, dreamer, image, seed):
        dreamer.set_image(image)


class FourierRecipe:
    """Decorrelated Fourier image, transforms, Adam."""
    name = "fourier"
    backends = ("theano",)

    def settings(self, profile=None, stream=False):
        """FOURIER; a stream zooms it every 2015 ``steps_per_zoom`` steps."""
        if stream:
            return dataclasses.replace(FOURIER, steps_per_zoom=STREAM2015.steps_per_zoom)
        return FOURIER

    def prior_label(self, job):
        return "none"

    def start(self, job, profile):
        """A start image is the first image and sets the size (unless
        image_size was given); without one the seeded random spectrum starts."""
        if not job.start:
            return None, profile
        from .fileio import load_image
        image = load_image(job.start, profile.image_size if job.sets("image_size") else None)
        return image, dataclasses.replace(profile, image_size=image.shape[1::-1])

    def build(self, job, model, profile):
        from .fourier.renderer import Renderer
        from .nets.build import build_net
        return Renderer(build_net(model), profile, seed=job.seed)

    def begin(self, dreamer, image, seed):
        dreamer.reset(seed)
        if image is not None:
            dreamer.set_image(image)


# The stream's Fourier recipe: the 2015 zoom every 10 steps (models/default.py:
# steps_per_zoom = 10) at the stream's CPU size; the rest is FOURIER but for
# what makes the objects large enough to survive the judge's blur and
# down-scaling (docs/stream.md, "Recognisability": bee 0/6 -> 9/10 on a
# short run).
FOURIER_ZOOM = dataclasses.replace(
    FOURIER, name="fourier-zoom", steps=200, steps_per_zoom=STREAM2015.steps_per_zoom,
    image_size=(336, 192), stream_size=(336, 192),
    scales=(0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1), scale_filter="antialias",
    zoom_moments="keep", learning_rate=0.1, zoom_dither="subpixel",
    sources=FOURIER.sources + (
        ("steps_per_zoom", "models/default.py: steps_per_zoom = 10 (the 2015 stream)"),
        ("steps", "20 key frames, as the stream2015 profile"),
        ("image_size", "the stream's CPU size (2015: 840x472 on a GPU)"),
        ("scales", "ours: 0.4..1.1, so the net sees the picture from 0.4x to "
                   "full size and must paint objects that read at both (Lucid's "
                   "0.9..1.1 paints many small bees that a blur removes); "
                   "docs/stream.md"),
        ("scale_filter", "ours: antialiased shrinking, else scales well below 1 "
                         "leave most pixels without gradient (high-frequency noise)"),
        ("zoom_moments", "ours: Adam's moments carry over the zoom; a reset every "
                         "10 steps added high-frequency noise (docs/stream.md)"),
        ("learning_rate", "ours: 0.1, twice Lucid's 0.05: 10 steps a key frame "
                          "(bee 9/10 key frames against 5/10 at 0.05, docs/stream.md)"),
        ("zoom_dither", "ours: a fresh sub-pixel shift each zoom; without it the "
                        "rows and columns through the zoom centre stay sharper, a "
                        "cross (1.30x / 1.27x the median's contrast, 1.12x / 1.06x "
                        "with it; experiments/zoom_cross.py, docs/stream.md)"),
    ))


def fourier_start(profile, seed=0):
    """The image a :class:`~reproduce.fourier.params.Fourier` of ``profile``
    starts from with ``seed``, in numpy (no compile): (H, W, 3) float32 on
    0..255.  The stream shows it while the optimiser compiles."""
    from .fourier import params
    cols, rows = profile.image_size
    scale = params.spectrum_scale(rows, cols, profile.decay_power)
    rng = np.random.RandomState(seed)  # Param.init's order: real, then imaginary
    real = (profile.spectrum_sd * rng.randn(3, *scale.shape)).astype(np.float32)
    imag = (profile.spectrum_sd * rng.randn(3, *scale.shape)).astype(np.float32)
    colors = params.color_matrix() if profile.colors == "decorrelated" else np.eye(3)
    return params.spectrum_to_image(real, imag, scale, profile.amplitude, colors, cols)


class FourierZoomRecipe(FourierRecipe):
    """The Fourier recipe with the 2015 zoom: :data:`FOURIER_ZOOM`."""
    name = "fourier-zoom"

    def settings(self, profile=None, stream=False):
        return FOURIER_ZOOM

    def stream_start(self, job, profile):
        """The stream's first image: the job's start image at the profile's
        size, else the seeded random spectrum's image."""
        if job.start:
            from .fileio import load_image
            return load_image(job.start, profile.image_size)
        return fourier_start(profile, job.seed)


RECIPES = {r.name: r for r in (Lsd2015Recipe(), FourierRecipe(), FourierZoomRecipe())}


def live(profile):
    """``profile`` in :data:`~reproduce.lsd2015.profiles.LIVE_PRECISION`, the
    live stream's precision (the torch backend's; Theano stays float32)."""
    return dataclasses.replace(profile, precision=LIVE_PRECISION, sources=tuple(
        dict(profile.sources, precision=LIVE_PRECISION_SOURCE).items()))


def default_stream_recipe(model):
    """The stream's recipe for ``model`` when none is named: ``lsd2015`` on a
    VGG (the 2015 look needs VGG-16: on it the 2015 recipe paints objects),
    else ``fourier-zoom`` (on EfficientNet-Lite0 the 2015 recipe paints
    texture; the zooming Fourier recipe paints pictures a different
    classifier names: docs/stream.md)."""
    return "lsd2015" if "vgg" in model.model_name.lower() else "fourier-zoom"


def stream_recipe_for(weights):
    """:func:`default_stream_recipe` for a weights path or Model; ``lsd2015``
    for a file that is not there (the stream's set-up then says so)."""
    if isinstance(weights, (str, os.PathLike)) and not os.path.exists(weights):
        return "lsd2015"
    return default_stream_recipe(load_weights(weights))


def get_recipe(name):
    if name not in RECIPES:
        raise UserError("unknown recipe %r; choose one of: %s"
                        % (name, ", ".join(RECIPES)))
    return RECIPES[name]


def check_job(job):
    """The job's recipe, after checking that it runs on the job's backend."""
    recipe = get_recipe(job.recipe)
    if job.backend not in recipe.backends:
        if job.backend not in ("theano", "torch"):
            raise UserError("unknown backend %r; choose theano or torch" % job.backend)
        raise UserError("--recipe %s runs on the Theano engine only; leave out "
                        "--backend %s" % (recipe.name, job.backend))
    if job.device not in (None, "cpu") and job.backend != "torch":
        raise UserError("device %r: only the torch backend runs off the CPU; add "
                        "--backend torch" % job.device)
    check_precision(job.backend, dict(job.overrides).get("precision"))
    return recipe


# -- from a job to a dreamer ------------------------------------------------------

def base_settings(recipe, profile="image2015", stream=False):
    """The settings ``--set`` changes for ``recipe`` and ``profile``, before any change."""
    return get_recipe(recipe).settings(profile, stream)


def job_settings(job, model, stream=False):
    """The job's settings: its recipe's, with its overrides, aimed at ``model``'s logits."""
    base = base_settings(job.recipe, job.profile, stream)
    return apply_overrides(base, job.overrides).for_model(model)


_DREAMERS = {}


def build_dreamer(job, profile, model=None):
    """The compiled dreamer of ``job`` under ``profile`` (its final settings).

    A compile takes seconds to minutes, so the last one is kept within a
    process and reused while weights, settings, prior, backend and device stay.
    """
    recipe = check_job(job)
    weights = job.weights if isinstance(job.weights, (str, os.PathLike)) else id(job.weights)
    prior = job.prior if job.prior is None or isinstance(job.prior, (str, os.PathLike)) \
        else id(job.prior)  # a loaded Prior does not hash
    key = (os.path.abspath(weights) if not isinstance(weights, int) else weights,
           profile, prior, job.prior_dir, job.backend, job.device, recipe.name)
    if key not in _DREAMERS:
        _DREAMERS.clear()
        _DREAMERS[key] = recipe.build(job, model or load_weights(job.weights), profile)
    return _DREAMERS[key]


def class_names(model, classes):
    """Short names of class indices, for bars and overlays."""
    return [model.descriptions[c].split(",")[0] for c in classes]


def dream_picture(job, model=None, progress=True, announce=None):
    """Make ``job``'s picture -> :class:`reproduce.loop.Result` (Ctrl-C keeps
    the current image).  ``model``: the loaded weights, to skip loading them.
    ``announce(profile, model)``: called with the final settings (the size
    the start image gave) before the slow compile and the steps."""
    from .nets.classes import find_class

    recipe = check_job(job)
    base = base_settings(job.recipe, job.profile)
    apply_overrides(base, job.overrides)  # a wrong setting fails before any loading
    model = model or load_weights(job.weights)
    where = job.weights if isinstance(job.weights, (str, os.PathLike)) else None
    model.require_classes("class pictures", where)
    if not job.classes:
        raise UserError("give at least one class to dream (e.g. --classes bee)")
    profile = job_settings(job, model)
    classes = tuple(find_class(str(name), model.descriptions) for name in job.classes[:2])
    image, profile = recipe.start(job, profile)
    if announce:
        announce(profile, model)
    dreamer = build_dreamer(job, profile, model)
    recipe.begin(dreamer, image, job.seed)
    dreamer.set_classes(*classes)

    history = []
    with Loop(profile.steps, " + ".join(class_names(model, classes)), progress) as loop:
        for _, loss, score, energy in dreamer.run():
            history.append((loss, score, energy))
            loop.tick(loss="%.3f" % loss, prior="%.4f" % energy)
    image = dreamer.get_image()
    if job.overlay:
        from .lsd2015.frames import overlay_text
        image = overlay_text(image, " and ".join(class_names(model, classes)))
    return Result(image, len(history), loop.seconds, loop.interrupted, history,
                  profile, classes)
