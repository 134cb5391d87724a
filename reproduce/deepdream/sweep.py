"""DeepDream one photo at every conv layer: the VGG counterpart of the
layer-by-layer pictures in the DeepDream posts (low layers give strokes and
edges, middle ones textures and eyes, high ones object parts).  Each layer
gets its own compiled gradient; a ``gradients`` dict shares them between calls.
Each picture is written with a JSON record for :mod:`reproduce.report.gallery`.
"""
import os

from .settings import DreamSettings
from ..errors import UserError
from ..fileio import safe_name

# Modest, so that the 13 layers of VGG-16 take a few minutes on a 2-core CPU
# at 224 pixels: 3 octaves of 6 steps instead of DeepDream's 4 of 10.
SWEEP_SETTINGS = DreamSettings(octaves=3, steps=6)
SWEEP_SIDE = 224   # the longer side, pixels


def layer_caption(net, layer, index, total):
    """'relu3_3: conv3_3 after its ReLU; layer 7 of 13 in the sweep'."""
    from ..nets.naming import rectified
    specs = net.model.layers
    i = [s.name for s in specs].index(layer)
    before = specs[i - 1] if i else None
    what = layer
    if before is not None and before.type == "conv" and rectified(net, before.name) == layer:
        what = "%s after its ReLU" % before.name
    return "%s; layer %d of %d in the sweep" % (what, index, total)


def dream_layer(net, image, layer, settings, progress=True, desc=None, gradients=None):
    """DeepDream ``image`` at ``layer`` (0.5 * mean(a^2)) -> its Result.
    ``gradients``: a {layer: compiled gradient} cache to share compiles
    between calls.  Ctrl-C during the steps ends it with what was made."""
    from .. import objectives
    from .dream import compile_gradient, deepdream

    gradients = {} if gradients is None else gradients
    if layer not in gradients:
        gradients[layer] = compile_gradient(net, objectives.layer_l2(layer))
    return deepdream(gradients[layer], image, settings, progress, desc=desc or layer,
                     mean=net.model.mean_rgb())


def save_layer(result, image, layer, settings, out_dir, name, caption, meta, **extra):
    """Write NAME.png and its record NAME.json; returns the record."""
    from ..fileio import save_image
    from ..report.gallery import write_record
    save_image(result.image, os.path.join(out_dir, name + ".png"))
    record = dict(meta, name=name, image=name + ".png", classes=[layer], caption=caption,
                  seconds=round(result.seconds, 1), steps=result.steps,
                  interrupted=result.interrupted,
                  settings=dict(settings.settings(), layer=layer, **extra,
                                size="%dx%d" % image.shape[1::-1]))
    write_record(record, os.path.join(out_dir, name + ".json"))
    return record


def sweep_layers(net, image, layers, settings, out_dir, meta, publish, image_name,
                 progress=True, prefix="", gradients=None):
    """Dream ``image`` at each of ``layers`` in turn; write PREFIXNN_LAYER.png/.json.

    ``meta``: record fields shared by every picture (weights, prior, quick);
    ``gradients``: as :func:`dream_layer`; ``image_name`` None: no start
    photo is written (the caller shows its own).  After each layer,
    ``publish(records)`` (the gallery page) gets the start photo's record
    and those of every layer so far.  A layer's picture, its record and the
    page are written while Ctrl-C and SIGTERM wait, and the start photo
    only with the first layer, so an interrupt at any moment leaves either
    nothing (before the first layer's first step) or a complete gallery of
    the layers made so far (the one in progress kept as it was, marked
    interrupted).  Returns (records, interrupted).
    """
    from ..fileio import deferred_interrupts
    records = []
    for i, layer in enumerate(layers, 1):
        try:  # an interrupt while compiling: nothing of this layer
            result = dream_layer(net, image, layer, settings, progress,
                                 desc="%d/%d %s" % (i, len(layers), layer),
                                 gradients=gradients)
        except KeyboardInterrupt:
            return records, True
        if result.steps == 0:  # interrupted before its first step
            return records, True
        try:
            with deferred_interrupts():
                done = records or ([] if image_name is None else
                                   [write_input(image, image_name, out_dir, meta, prefix)])
                done = done + [save_layer(
                    result, image, layer, settings, out_dir,
                    "%s%02d_%s" % (prefix, i, safe_name(layer)),
                    layer_caption(net, layer, i, len(layers)), meta,
                    objective="0.5*mean(a^2)")]
                publish(done)
                records = done
        except KeyboardInterrupt:  # it came during the writes, now done
            return records, True
        if result.interrupted:
            return records, True
    return records, False


def write_input(image, image_name, out_dir, meta, prefix=""):
    """Save the start photo as PREFIX00_input.png with its record (shown first)."""
    from ..fileio import save_image
    from ..report.gallery import write_record
    name = prefix + "00_input"
    record = dict(meta, name=name, image=name + ".png", classes=["input photo"],
                  caption="The start photo, %dx%d" % image.shape[1::-1], seconds=0,
                  steps=0, interrupted=False, settings={"source": image_name})
    save_image(image, os.path.join(out_dir, name + ".png"))
    write_record(record, os.path.join(out_dir, name + ".json"))
    return record


def resolve_layers(net, names=None):
    """Layer names (None: every conv layer) -> rectified names, in network order."""
    from ..nets.naming import conv_layers, rectified
    if names is None:
        return conv_layers(net)
    chosen = {rectified(net, name) for name in names}
    if not chosen:
        raise UserError("no layer to sweep; give e.g. --layers conv3_3,conv4_3")
    return sorted(chosen, key=list(net.layers).index)


def sweep_intro(settings):
    return ("DeepDream at each layer in network order: gradient ascent on "
            "0.5&middot;mean(a&sup2;) of the layer (a conv layer after its ReLU), "
            "%d octaves of %d steps, octave scale %g, step size %g, jitter %d. Low "
            "layers enhance strokes and edges, middle ones textures and eyes, high "
            "ones parts of objects." % (settings.octaves, settings.steps,
                                        settings.octave_scale, settings.step_size,
                                        settings.jitter))
