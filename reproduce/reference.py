"""Reference vectors: every stage of the 2015 pipeline on fixed, seeded inputs.

Any port (PyTorch, JAX, ...) tests itself against one HDF5 file computed
here by the Theano reference: the start image, the preprocessed input, the
logit map, the 2015 objective, the prior energy per scale, the gradient of
the total loss, one step of the 2015 update rule, ten steps with zooms, and
a DeepDream gradient.  The stages are those of the lsd2015 recipe's own
dreamer (:func:`reproduce.recipes.build_dreamer`: ``nets``, ``objectives``,
``prior``, ``lsd2015.dreamer``, ``frames``); the schema, axis orders and
tolerances are in ``docs/reference-vectors.md``.
"""
import collections
import json
import os

import numpy as np

from .errors import UserError
from .fileio import atomic_path
from .lsd2015.profiles import get_profile

FORMAT = "reproduce-reference"
VERSION = 2                        # 2: the dream.ipynb group (dream/*)
PROFILE = "stream2015"
DEFAULT_SIZE = (320, 256)          # (width, height): a 2x4 logit map on VGG-16
DEFAULT_CLASSES = ("wood rabbit", "analog clock")  # the 2015 two-target figure
STEPS = 10
STEPS_PER_ZOOM = 5                 # zoom, 5 steps, zoom, 5 steps: both zooms reset Adam
START_STD = 40.0                   # grey noise wide enough to vary every stage
SENSITIVITY_STD = 1e-4             # levels: about ten float32 ulps at 128


def overrides(size=DEFAULT_SIZE):
    """The reference's changes to the stream profile: ``size`` = (width,
    height), a zoom every 5 steps."""
    return (("image_size", tuple(size)), ("steps_per_zoom", STEPS_PER_ZOOM))


def reference_profile(size=DEFAULT_SIZE):
    """The stream profile at ``size`` = (width, height), zooming every 5 steps."""
    return get_profile(PROFILE, overrides(size))


def reference_job(weights, prior, prior_dir=None, size=DEFAULT_SIZE, seed=0,
                  classes=DEFAULT_CLASSES):
    """The job whose every stage the reference records: the lsd2015 recipe,
    the stream profile at ``size``; ``prior`` is a job's prior (a path or
    "lsd2015"); ``classes``: two names or indices (lower, upper half)."""
    from .job import PictureJob
    return PictureJob(weights=weights, classes=tuple(classes), recipe="lsd2015",
                      profile=PROFILE, overrides=overrides(size), prior=prior,
                      prior_dir=prior_dir, seed=seed)


def start_image(size, seed):
    """Seeded grey noise, (H, W, 3) float32 RGB on 0..255, for ``size`` = (W, H)."""
    width, height = size
    rng = np.random.RandomState(seed)
    return np.clip(128 + START_STD * rng.randn(height, width, 3), 0, 255).astype(np.float32)


def default_layer(model):
    """DeepDream's layer when none is named: conv4_3 if present, else the last
    conv layer that is not a classifier (fc*) layer (both taken after their
    ReLU by :func:`compute`)."""
    convs = model.layer_names("conv")
    if "conv4_3" in convs:
        return "conv4_3"
    features = [n for n in convs if not n.startswith("fc")]
    return (features or convs)[-1]


def _stage_function(dreamer, layer):
    """One compiled Theano function of the Dreamer's shared image -> every stage.

    Returns (function, names, scales): names the function's outputs in
    order, scales the usable prior scales.
    """
    from .backend import T, theano
    from .nets.build import preprocess
    from .objectives import layer_l2

    net, profile, image = dreamer.net, dreamer.profile, dreamer.image
    x = preprocess(image, net.model, profile.mean)
    acts = net.activations(x)
    objective, total, energies, loss = (dreamer.score, dreamer.energy, dreamer.energies,
                                        dreamer.loss)
    dream = layer_l2(layer)(acts)
    outputs = collections.OrderedDict([
        ("input", x), ("logits", acts(profile.layer)), ("objective", objective),
        ("prior/total", total), ("prior/energy", T.stack(list(energies.values()))),
        ("loss", loss), ("grad", T.grad(loss, image)),
        ("deepdream/objective", dream), ("deepdream/grad", T.grad(dream, image))])
    return theano.function([], list(outputs.values())), list(outputs), list(energies)


def compute(job, layer=None, progress=None):
    """Every stage of ``job`` (see :func:`reference_job`), computed by Theano
    -> (arrays, attrs).

    ``arrays`` maps the schema's dataset names to numpy arrays; ``attrs``
    holds the settings.  ``progress(n)`` is called with 0 once every input
    is read and checked and the step compiled, then after each of the 12
    update steps.
    """
    from .nets.build import build_net
    from .nets.classes import find_class
    from .lsd2015.frames import zoom
    from .recipes import build_dreamer, job_settings, load_weights

    if job.prior == "none":
        raise UserError("reference vectors need a prior (--prior FILE or lsd2015)")
    model = load_weights(job.weights)
    model.require_classes("reference vectors")
    targets = [find_class(str(c), model.descriptions) for c in job.classes]
    layer = layer or default_layer(model)
    model.layer(layer)  # UserError naming the valid layers
    profile = job_settings(job, model)
    size, seed = profile.image_size, job.seed
    start = start_image(size, seed)
    net = build_net(model)
    net.check_input_size(start.shape[:2])  # before a compile, not after
    # a conv layer's name means its output after the ReLU, as in `deepdream`
    from .deepdream.inputs import resolve_layer
    layer = resolve_layer(net, layer)

    dreamer = build_dreamer(job, profile, model)
    prior = dreamer.prior
    dreamer.set_image(start)
    dreamer.set_classes(*targets)
    function, names, scales = _stage_function(dreamer, layer)
    arrays = collections.OrderedDict(start=start)
    arrays.update(zip(names, (np.asarray(v) for v in function())))
    arrays["prior/scales"] = np.asarray(scales, np.int64)
    arrays["prior/weighted"] = np.float32(profile.prior_strength) * arrays["prior/total"]
    arrays["zoom"] = zoom(start, profile)

    if progress:  # loaded, checked and compiled: a bar may start now
        progress(0)
    first = dreamer.step()
    _check_same_loss(first, arrays)
    arrays["step1"] = dreamer.get_image()
    if progress:
        progress(1)
    arrays.update(_sensitivity(dreamer, function, names, start, seed))
    if progress:
        progress(1)
    arrays.update(_trajectory(dreamer, start, progress))
    arrays.update(_dream_group(net, layer, start, seed))
    return arrays, _attributes(model, prior, profile, size, seed, targets, layer)


def _dream_group(net, layer, start, seed):
    """dream.ipynb's stages on ``start`` (reproduce.deepdream.dream, the notebook's
    settings: per-channel mean, 0.5 mean(a^2) of ``layer``, step 1.5 / mean|g|,
    jitter 32, 4 octaves at 1.4), for the DeepDream ports to compare with:
    the octave bases; one full-size step with the jitter a RandomState(seed)
    draws first (stored as (dx, dy)); the detail one unjittered step makes at
    the second-largest octave, carried up to the full size as the next
    octave's start adds it; one frame of the notebook's zoom loop."""
    import dataclasses

    from .deepdream.dream import (ascent_step, compile_gradient, octave_bases, resize)
    from .deepdream.settings import DreamSettings
    from .objectives import layer_l2
    from .video.zoom import zoom_in

    settings = DreamSettings(seed=seed)
    gradient = compile_gradient(net, layer_l2(layer))
    bases = octave_bases(start, settings)
    group = {"dream/octave%d" % i: b.astype(np.float32) for i, b in enumerate(bases)}
    dx, dy = np.random.RandomState(seed).randint(-settings.jitter, settings.jitter + 1, 2)
    group["dream/jitter"] = np.asarray([dx, dy], np.int64)
    group["dream/step"] = ascent_step(gradient, start, settings,
                                      np.random.RandomState(seed))[0]
    still = dataclasses.replace(settings, jitter=0)
    dreamed = ascent_step(gradient, bases[-2], still, np.random.RandomState(seed))[0]
    group["dream/detail"] = resize(dreamed - bases[-2], start.shape[:2]).astype(np.float32)
    group["dream/zoom_frame"] = zoom_in(start)
    return group


def _trajectory(dreamer, start, progress=None):
    """``Dreamer.run(STEPS)`` from ``start``: every step's input and result."""
    dreamer.set_image(start)
    after, history = [], []
    for _, loss, score, energy in dreamer.run(STEPS):
        after.append(dreamer.get_image())
        history.append((loss, score, energy))
        if progress:
            progress(1)
    return {"steps10": after[-1],
            "trajectory/before": np.stack(_before_each_step(start, after, dreamer.profile)),
            "trajectory/after": np.stack(after),
            "history": np.asarray(history, np.float32)}


def _attributes(model, prior, profile, size, seed, targets, layer):
    """The settings behind the file, as HDF5 root attributes."""
    return {
        "format": FORMAT, "version": VERSION, "backend": _backend_versions(),
        "seed": int(seed), "size": np.asarray(size, np.int64),
        "start_std": START_STD, "sensitivity_std": SENSITIVITY_STD, "profile": PROFILE,
        "settings": json.dumps(profile.settings()),
        "classes": np.asarray(targets, np.int64),
        "class_descriptions": json.dumps([model.descriptions[t] for t in targets]),
        "logit_layer": profile.layer, "deepdream_layer": layer,
        "steps": STEPS, "steps_per_zoom": STEPS_PER_ZOOM,
        "schedule": "step1: one step from start; steps10: Dreamer.run(10) from "
                    "start = zoom, 5 steps, zoom, 5 steps (each zoom resets the moments)",
        "model_name": model.model_name, "prior_kind": prior.kind,
        "prior_nu": float(prior.nu) if prior.nu is not None else -1.0,
        "prior_source": prior.source}


def _before_each_step(start, after, profile):
    """The image each of ``Dreamer.run``'s steps started from: the previous
    step's result, zoomed where run() zoomed (before steps 0, k, 2k, ...)."""
    from .lsd2015.frames import zoom, zoom_due
    before, zooms = [], 0
    for i in range(len(after)):
        image = start if i == 0 else after[i - 1]
        if zoom_due(i, profile.steps_per_zoom):
            image, zooms = zoom(image, profile, index=zooms), zooms + 1
        before.append(image)
    return before


def _sensitivity(dreamer, function, names, start, seed):
    """The reference against itself: the gradients and the first step from
    ``start`` plus SENSITIVITY_STD levels of seeded noise.

    ReLU and max-pool switches make a deep net's gradient jump where a unit
    sits within float32 noise of a switch; a port that sums in another order
    meets different switches.  How far the reference moves under a
    perturbation this small is the yardstick for how far a correct port may
    differ (docs/reference-vectors.md).
    """
    rng = np.random.RandomState(seed + 1)
    nudged = (start + SENSITIVITY_STD * rng.randn(*start.shape)).astype(np.float32)
    dreamer.set_image(nudged)
    values = dict(zip(names, function()))
    dreamer.step()
    return {"sensitivity/grad": np.asarray(values["grad"]),
            "sensitivity/deepdream_grad": np.asarray(values["deepdream/grad"]),
            "sensitivity/step1": dreamer.get_image()}


def _check_same_loss(stepped, arrays):
    """The Dreamer's step and our stage graph must agree on the loss they share."""
    expected = [float(arrays[k]) for k in ("loss", "objective", "prior/total")]
    if not np.allclose(stepped, expected, rtol=1e-4, atol=1e-4):
        raise RuntimeError("the Dreamer's (loss, objective, energy) %s differ from the "
                           "reference stages' %s: lsd2015/dreamer.py and reference.py disagree"
                           % (stepped, expected))


def _backend_versions():
    import theano
    return "theano %s, numpy %s" % (theano.__version__, np.__version__)


def write(path, arrays, attrs, sources=()):
    """Write ``arrays`` and ``attrs`` to ``path`` atomically (HDF5).

    ``sources``: (attribute name, file path) pairs recorded with their sha256.
    """
    import h5py

    from .nets.weights import sha256_of
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(attrs)
            for key, source in sources:
                f.attrs[key] = os.path.basename(source)
                f.attrs[key + "_sha256"] = sha256_of(source) if os.path.isfile(source) else ""
            for name, value in arrays.items():
                f[name] = value


# The schema (docs/reference-vectors.md): dataset -> shape, "H", "W", "N" the
# image height, width and step count, None any length.
IMAGE, BATCH = ("H", "W", 3), (1, 3, "H", "W")
SCHEMA = {
    "start": IMAGE, "input": BATCH, "logits": (1, None, None, None), "objective": (),
    "prior/scales": (None,), "prior/energy": (None,), "prior/total": (),
    "prior/weighted": (), "loss": (), "grad": BATCH, "zoom": IMAGE, "step1": IMAGE,
    "trajectory/before": ("N",) + IMAGE, "trajectory/after": ("N",) + IMAGE,
    "history": ("N", 3), "steps10": IMAGE, "deepdream/objective": (),
    "deepdream/grad": BATCH, "sensitivity/grad": BATCH,
    "sensitivity/deepdream_grad": BATCH, "sensitivity/step1": IMAGE,
    "dream/octave0": (None, None, 3), "dream/octave1": (None, None, 3),
    "dream/octave2": (None, None, 3), "dream/octave3": IMAGE, "dream/jitter": (2,),
    "dream/step": IMAGE, "dream/detail": IMAGE, "dream/zoom_frame": IMAGE}
INTEGERS = ("prior/scales", "dream/jitter")
MAX_SIDE = 4096


def load(path):
    """Read a reference file -> (arrays, attrs), its whole schema checked (in a
    child process, see h5read); anything else -> one-line UserError."""
    from . import h5read
    return h5read.load_isolated(path, _read, "reference",
                                "make one with `python -m reproduce reference-vectors`")


def _read(f, path):
    from . import h5read
    hint = "make one with `python -m reproduce reference-vectors`"
    h5read.check_format(f, path, FORMAT, VERSION, hint, "reference vectors")
    h5read.check_tree(f, path)
    width, height = h5read.read_attr(f, "size", path, "int[2]")
    steps = h5read.read_attr(f, "steps", path, "int")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE and 1 <= steps <= 1000):
        raise UserError("%s: size %dx%d or steps %d out of range" % (path, width, height,
                                                                     steps))
    sizes = {"H": height, "W": width, "N": steps}
    arrays = {}
    for name, shape in SCHEMA.items():
        group, _, leaf = name.rpartition("/")
        parent = f[group] if group and group in f else f
        if group and group not in f:
            raise UserError("%s: the group /%s is missing; %s" % (path, group, hint))
        kinds = "i" if name in INTEGERS else "f"
        arrays[name] = h5read.read_array(parent, leaf, "%s: /%s" % (path, group) if group
                                         else path, len(shape), kinds,
                                         np.int64 if kinds == "i" else np.float32,
                                         tuple(sizes.get(s, s) for s in shape))
    attrs = {}
    for key in f.attrs:
        schema = "str" if h5read._kind_of(f.attrs.get_id(key).dtype) == "str" else (
            "int|float|int[]|float[]")
        attrs[key] = h5read.read_attr(f, key, path, schema)
    return arrays, attrs
