"""One call per picture, in the anchors' style (Lucid's ``render.render_vis``,
torch-dreams' ``Dreamer.render``, dream.ipynb's ``deepdream``).

    import reproduce
    model = reproduce.load_model("weights/vgg16_conv_hed.h5")
    result = reproduce.render(model, "relu4_3:76", size=128, steps=64)
    result.save("results/relu4_3_76.png")
    dream = reproduce.deepdream(model, photo, layer="conv4_3", octaves=4)

Values in, a :class:`reproduce.loop.Result` out; every setting is a keyword
argument, and ``settings`` reaches any setting of the recipe's profile
(``--set`` on the command line).  Below these calls are the same recipes,
loop and objectives as the commands use.
"""
import os

import numpy as np

from .errors import UserError
from .loop import Loop, Result

RENDER_RECIPES = ("fourier", "lsd2015")


def load_model(path):
    """Our HDF5 weights (``weights/*.h5``) as a Model, read once and checked."""
    from .nets.weights import load_model as read
    return read(path)


def _model(model):
    return load_model(model) if isinstance(model, (str, os.PathLike)) else model


def _size(size):
    """``size``: N (a square) or (width, height) -> (width, height), checked."""
    pair = (size, size) if isinstance(size, (int, np.integer)) else \
        tuple(size) if isinstance(size, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and 8 <= v <= 4096
                                 for v in pair):
        raise UserError("size %r: give N or (width, height), whole numbers 8..4096"
                        % (size,))
    return int(pair[0]), int(pair[1])


def render(model, objective, recipe="fourier", size=224, steps=None, seed=0, batch=1,
           settings=(), prior=None, progress=True):
    """Visualise ``objective`` on ``model`` -> :class:`~reproduce.loop.Result`.

    model: a Model (:func:`load_model`) or the path of our HDF5 weights.
    objective: an :class:`~reproduce.objectives.Objective` (``class_logit``,
        ``channel``, ``neuron``, ``layer_l2``, ``diversity`` and their sums)
        or its text, e.g. ``"relu4_3:76"`` (:data:`reproduce.objectives.SPEC_GRAMMAR`).
    recipe: "fourier" (decorrelated Fourier image, random transforms, Adam)
        or "lsd2015" (pixels, the patch prior, the 2015 update rule, the
        image2015 settings without its start image).
    size: N or (width, height) of the picture; steps: None for the recipe's.
    batch: pictures made at once (``Result.images``; ``Result.image`` is the
        first), for objectives that couple them: ``channel + 100 * diversity``.
    settings: any other setting of the recipe, a mapping or (name, value)
        pairs, e.g. ``{"learning_rate": 0.1}``.
    prior: the lsd2015 recipe's prior, as :class:`~reproduce.job.PictureJob` takes it.
    """
    from . import objectives
    from .lsd2015.profiles import apply_overrides, get_profile
    from .nets.build import build_net
    from .recipes import noise_image

    if not isinstance(batch, (int, np.integer)) or not 1 <= batch <= 64:
        raise UserError("batch %r: give a whole number of pictures, 1..64" % (batch,))
    if recipe not in RENDER_RECIPES:
        raise UserError("unknown recipe %r; choose one of: %s"
                        % (recipe, ", ".join(RENDER_RECIPES)))
    model = _model(model)
    changes = dict(settings.items() if hasattr(settings, "items") else settings)
    changes["image_size"] = _size(size)
    if steps is not None:
        changes["steps"] = steps
    if recipe == "fourier":
        from .fourier.renderer import FOURIER
        profile = apply_overrides(FOURIER, changes)
    else:
        profile = get_profile("image2015", changes)
    if batch > 1 and profile.steps_per_zoom:
        raise UserError("a batch does not zoom; leave steps_per_zoom unset")
    net = build_net(model, conv=getattr(profile, "conv", "auto"))
    if isinstance(objective, str):
        objective = objectives.parse(objective, net)
    width, height = profile.image_size
    objective.check(net, height, width)
    if recipe == "fourier":
        from .fourier.renderer import Renderer
        from .fourier.renderer import param_for
        dreamer = Renderer(net, profile, param_for(profile, seed, batch),
                           objective=objective, seed=seed)
    else:
        from .lsd2015.dreamer import Dreamer
        from .prior.fit import load_prior_spec
        dreamer = Dreamer(net, profile, load_prior_spec(prior), objective=objective,
                          batch=batch)
        dreamer.set_image(np.stack([noise_image(profile.image_size, seed + i)
                                    for i in range(batch)]))
    history = []
    with Loop(profile.steps, objective.name, progress) as loop:
        for _, loss, score, energy in dreamer.run():
            history.append((loss, score, energy))
            loop.tick(objective="%.4g" % score)
    images = dreamer.get_images()
    return Result(images[0], len(history), loop.seconds, loop.interrupted,
                  history, profile, images=images if batch > 1 else None, info=dict(
                      call="render", model=model.model_name, objective=objective.name,
                      recipe=recipe, seed=seed, batch=batch))


def deepdream(model, image, layer="conv4_3", channel=None, octaves=4, octave_scale=1.4,
              steps=10, step_size=1.5, jitter=32, seed=0, pre_relu=False, progress=True):
    """Google's DeepDream of ``image`` -> :class:`~reproduce.loop.Result`, as
    dream.ipynb's ``deepdream(net, img, iter_n=10, octave_n=4, end=...)``.

    model: a Model or the path of our HDF5 weights; image: (H, W, 3) on
    0..255 (e.g. ``skimage.data.astronaut()``) or the path of a photo.
    layer: a conv layer's name means its output after the ReLU (``pre_relu``:
    before it, what dream.ipynb's ``end`` enhanced); channel: one channel of
    it, or None for all.  The other settings are dream.ipynb's defaults.
    """
    from .deepdream.dream import check_octaves, compile_gradient, deepdream as dream
    from .deepdream.inputs import check_channel, resolve_layer
    from .deepdream.settings import DreamSettings
    from .fileio import load_image
    from .nets.build import build_net
    from . import objectives

    model = _model(model)
    settings = DreamSettings(octaves=octaves, octave_scale=octave_scale, steps=steps,
                             step_size=step_size, jitter=jitter, seed=seed)
    net = build_net(model)
    layer = resolve_layer(net, layer, pre_relu)
    check_channel(net, layer, channel)
    if isinstance(image, (str, os.PathLike)):
        image = load_image(image)
    image = np.asarray(image, np.float32)
    if image.ndim != 3 or image.shape[2] != 3 or not np.all(np.isfinite(image)):
        raise UserError("image: expected (H, W, 3) finite values on 0..255, got shape %s"
                        % (image.shape,))
    check_octaves(net, layer, image.shape[:2], settings)
    objective = objectives.layer_l2(layer, channel)
    result = dream(compile_gradient(net, objective), image, settings, progress,
                   desc=objective.name)
    result.profile = settings
    result.info = dict(call="deepdream", model=model.model_name, objective=objective.name)
    return result
