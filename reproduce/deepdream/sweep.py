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
    from .dream import rectified
    specs = net.model.layers
    i = [s.name for s in specs].index(layer)
    before = specs[i - 1] if i else None
    what = layer
    if before is not None and before.type == "conv" and rectified(net, before.name) == layer:
        what = "%s after its ReLU" % before.name
    return "%s; layer %d of %d in the sweep" % (what, index, total)


def dream_layer(net, image, layer, settings, out_dir, name, caption, meta,
                progress=True, desc=None, gradients=None, **extra_settings):
    """DeepDream ``image`` at ``layer`` (0.5 * mean(a^2)); write NAME.png and
    its record.  ``gradients``: a {layer: compiled gradient} cache to share
    compiles between calls.  Returns (record, result)."""
    from .. import objectives
    from .dream import compile_gradient, deepdream
    from ..fileio import save_image
    from ..report.gallery import write_record

    gradients = {} if gradients is None else gradients
    if layer not in gradients:
        gradients[layer] = compile_gradient(net, objectives.layer_l2(layer))
    result = deepdream(gradients[layer], image, settings, progress, desc=desc or layer)
    save_image(result.image, os.path.join(out_dir, name + ".png"))
    record = dict(meta, name=name, image=name + ".png", classes=[layer], caption=caption,
                  seconds=round(result.seconds, 1), steps=result.steps,
                  interrupted=result.interrupted,
                  settings=dict(settings.settings(), layer=layer, **extra_settings,
                                size="%dx%d" % image.shape[1::-1]))
    write_record(record, os.path.join(out_dir, name + ".json"))
    return record, result


def sweep_layers(net, image, layers, settings, out_dir, meta, progress=True,
                 prefix="", gradients=None):
    """Dream ``image`` at each of ``layers`` in turn; write PREFIXNN_LAYER.png/.json.

    ``meta``: record fields shared by every picture (weights, prior, quick);
    ``gradients``: as :func:`dream_layer`.  Returns (records, interrupted):
    Ctrl-C keeps the layer in progress and stops the sweep.
    """
    records = []
    for i, layer in enumerate(layers, 1):
        record, result = dream_layer(
            net, image, layer, settings, out_dir,
            "%s%02d_%s" % (prefix, i, safe_name(layer)),
            layer_caption(net, layer, i, len(layers)), meta, progress,
            desc="%d/%d %s" % (i, len(layers), layer), gradients=gradients,
            objective="0.5*mean(a^2)")
        records.append(record)
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
    from .dream import conv_layers, rectified
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
