"""What a microscope run renders: the job, the layers and channels, the files
of one unit, and what a re-run may skip.

A *unit* is one channel of one layer, ``(layer, channel)``; each layer also
has one item of its own, ``(layer, None)``: DeepDream of the whole layer on
the fixed photo (the layer sweep's picture, the layer's thumbnail on the
index).  The job is a frozen value (:class:`MicroscopeJob`): it travels to
every worker, keys each worker's compiled state, and its digest (the
settings and the sha256 of the weights and the photo) says whether a unit on
disk was made the way this run would make it.  Layers and channels are not
in the digest: asking for more of them later renders only the new ones.

Output folder layout (``--out-dir``)::

    index.html                     the net's layers, each with its DeepDream
    layers/relu4_3.html            every channel of a layer in a lazy grid
    units/relu4_3/0076.html        one page per unit
    images/relu4_3/0076.png        the unit's pictures: positive, -neg,
    images/relu4_3/0076-div1.png   -divN (diverse), -dream (on the photo)
    images/relu4_3/layer.png       the layer's own DeepDream
    records/relu4_3/0076.json      one record per unit (layer.json per layer)
    photo.png                      the photo every DeepDream starts from
    manifest.json                  the settings, their digest, each unit's state

Layer names become folder names with :func:`reproduce.fileio.safe_name`
(``inception_4c/output`` -> ``inception_4c_output``).
"""
import dataclasses
import json
import os
import re
from typing import Optional

from ..atlas.plan import digest_of, is_done
from ..deepdream.settings import DreamSettings
from ..errors import UserError
from ..fileio import safe_name
from ..job import PictureJob

# The DeepDream of a unit and of its layer: the layer sweep's settings (3
# octaves of 6 steps, reproduce/deepdream/sweep.py), on scikit-image's
# astronaut with this longer side unless --photo names another picture.
DREAM = DreamSettings(octaves=3, steps=6)
PHOTO_SIDE = 224
DIVERSE = 3           # diverse pictures per unit (Lucid's notebook shows 4 with the first)
PHOTO = "photo.png"   # the photo every DeepDream starts from, beside index.html


@dataclasses.dataclass(frozen=True)
class MicroscopeJob:
    """Everything a worker needs to render any unit of the run (values only).

    ``picture``: how each unit picture is made -- a
    :class:`~reproduce.job.PictureJob` without classes (weights, recipe,
    typed overrides such as ``image_size`` and ``steps``, seed, backend),
    paths absolute.  ``diverse``: diverse pictures per unit (0: none).
    ``dream``: DeepDream's settings for the channel and layer dreams;
    ``photo``: the picture they start from (None: the astronaut) at
    ``photo_side`` pixels on its longer side.  ``batch``: channels per task.
    """
    picture: PictureJob
    diverse: int = DIVERSE
    dream: DreamSettings = DREAM
    photo: Optional[str] = None
    photo_side: int = PHOTO_SIDE
    batch: int = 1

    def profile(self):
        """The recipe's settings with the job's overrides."""
        from ..lsd2015.profiles import apply_overrides
        from ..recipes import base_settings
        p = self.picture
        return apply_overrides(base_settings(p.recipe, p.profile), p.overrides)

    def settings(self):
        """Plain JSON values of what shapes a unit's pictures.  ``batch`` does:
        the images of a batch share each step's random transforms and draw
        their starts in turn from one generator."""
        p = self.picture
        return {"weights": os.path.basename(p.weights), "recipe": p.recipe,
                "settings": _plain(self.profile().settings()), "seed": p.seed,
                "backend": p.backend, "diverse": self.diverse,
                "dream": self.dream.settings(),
                "photo": os.path.basename(self.photo) if self.photo else "astronaut",
                "photo_side": self.photo_side, "batch": self.batch,
                "pictures_pursue": "the channel before its ReLU"}

    def digest(self):
        return digest_of(self.settings(), [self.picture.weights, self.photo])


def _plain(settings):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


# -- which layers and channels ---------------------------------------------------

def default_layers(net):
    """Every conv layer's output (after its ReLU) of a net without modules:
    all 13 of the VGG-16 conv stack.  In a net of inception modules (concat
    layers named ``MODULE/output``), the stem -- the conv layers before the
    first module -- and every module's output: GoogLeNet's three stem
    convolutions and nine ``inception_*/output``, as the DeepDream posts
    showed them."""
    from ..nets.naming import conv_layers
    order = list(net.layers).index
    concats = [s.name for s in net.model.layers if s.type == "concat"]
    convs = conv_layers(net)
    if concats:
        first = min(order(s.name) for s in net.model.layers
                    if s.name.rsplit("/", 1)[0] in {c.rsplit("/", 1)[0] for c in concats})
        convs = [c for c in convs if order(c) < first]
    return sorted(set(convs + concats), key=order)


def resolve_layers(net, names=None):
    """``--layers`` (names, None: :func:`default_layers`) -> layer names in
    network order, a conv layer meaning its output after the ReLU; folder
    names checked to be distinct."""
    from ..nets.naming import rectified
    layers = default_layers(net) if names is None else sorted(
        {rectified(net, name) for name in names}, key=list(net.layers).index)
    if not layers:
        raise UserError("no layer to show; give e.g. --layers conv3_3,conv4_3")
    folders = {}
    for layer in layers:
        other = folders.setdefault(safe_name(layer), layer)
        if other != layer:
            raise UserError("--layers: %s and %s would share the folder %s; show them "
                            "in two runs with different --out-dir"
                            % (other, layer, safe_name(layer)))
    return layers


def parse_layers(text):
    """``--layers A,B`` -> names, or None for the default."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise UserError("--layers %r names no layer; give e.g. conv3_3,conv4_3" % text)
    return names


def channel_count(net, layer):
    return net.output_shape(*net.model.image_shape, name=layer)[1]


def select_channels(spec, count, layer):
    """The channels of a layer of ``count`` that ``--channels`` asks for:
    "all"; N, the first N (all when the layer has fewer); or a list of
    indices and ranges "0-7,76" (one channel: "76,"), each within the
    layer.  Sorted, each once."""
    spec = ("all" if spec is None else str(spec)).strip()
    if spec == "all":
        return list(range(count))
    if re.fullmatch(r"\d+", spec):
        limit = int(spec)
        if limit < 1:
            raise UserError("--channels %s: a limit must be at least 1" % spec)
        return list(range(min(limit, count)))
    chosen = set()
    for item in (i.strip() for i in spec.split(",")):
        if not item:
            continue
        span = re.fullmatch(r"(\d+)(?:-(\d+))?", item)
        if not span:
            raise UserError("--channels %r: %r is no channel index or range; give all, "
                            "a limit N, or a list such as 0-7,76" % (spec, item))
        lo, hi = int(span.group(1)), int(span.group(2) or span.group(1))
        if not lo <= hi < count:
            raise UserError("--channels %s: layer %s has channels 0-%d"
                            % (item, layer, count - 1))
        chosen.update(range(lo, hi + 1))
    if not chosen:
        raise UserError("--channels %r names no channel; give all, a limit N, or a "
                        "list such as 0-7,76" % spec)
    return sorted(chosen)


def plan_units(net, layers, spec):
    """{layer: [channels]} for ``layers`` and ``--channels`` ``spec``."""
    return {layer: select_channels(spec, channel_count(net, layer), layer)
            for layer in layers}


def items(units):
    """Every item of the plan in order: per layer its own dream, then its units."""
    return [(layer, channel) for layer, channels in units.items()
            for channel in [None] + list(channels)]


# -- files of one item ---------------------------------------------------------------

def stem(channel):
    return "layer" if channel is None else "%04d" % channel


def image_file(layer, channel, kind=""):
    """``images/SLUG/0076.png`` (``kind`` "": the positive picture), or
    ``images/SLUG/0076-neg.png`` etc."""
    return "images/%s/%s%s.png" % (safe_name(layer), stem(channel),
                                   "-" + kind if kind else "")


def record_file(layer, channel):
    return "records/%s/%s.json" % (safe_name(layer), stem(channel))


def unit_page(layer, channel):
    return "units/%s/%s.html" % (safe_name(layer), stem(channel))


def layer_page(layer):
    return "layers/%s.html" % safe_name(layer)


def read_record(out_dir, layer, channel):
    """The record of an item in ``out_dir``, or None."""
    try:
        with open(os.path.join(out_dir, record_file(layer, channel))) as f:
            record = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def pending(out_dir, todo, digest):
    """(items still to render, {item: record} of those already done)."""
    done = {}
    for item in todo:
        record = read_record(out_dir, *item)
        if is_done(out_dir, record, digest):
            done[item] = record
    return [item for item in todo if item not in done], done


# -- the job ---------------------------------------------------------------------------

def make_job(picture, diverse=DIVERSE, dream=DREAM, photo=None, photo_side=PHOTO_SIDE,
             batch=1):
    """A :class:`MicroscopeJob` after the checks a driver can make before any
    worker starts: (job, the loaded model).  Paths become absolute, for
    workers whose working folder differs."""
    from ..recipes import backend_classes, check_job, load_weights
    model = load_weights(picture.weights)
    check_job(picture)
    backend_classes(picture.backend)  # PyTorch installed?
    if picture.recipe != "fourier":
        raise UserError("--recipe %s: the microscope renders units with the fourier "
                        "recipe" % picture.recipe)
    if not 0 <= diverse <= 16:
        raise UserError("--diverse %d: give 0 to 16 diverse pictures per unit" % diverse)
    if not 1 <= batch <= 32:
        raise UserError("--batch %d: give 1 to 32 channels per task (a batch holds "
                        "twice as many pictures)" % batch)
    if not 16 <= photo_side <= 4096:
        raise UserError("--photo-size %d: give 16 to 4096 pixels" % photo_side)
    if photo is not None:
        from ..fileio import image_header
        image_header(photo)  # a missing or unreadable photo fails here, in one line
    picture = dataclasses.replace(picture, classes=(),
                                  weights=os.path.abspath(picture.weights))
    job = MicroscopeJob(picture, diverse, dream, photo and os.path.abspath(photo),
                        photo_side, batch)
    job.profile()  # a wrong --set fails here, before any worker
    return job, model
