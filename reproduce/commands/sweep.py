"""``sweep IMAGE``: DeepDream one photo at every conv layer, and a gallery page.

The VGG counterpart of the layer-by-layer pictures in the DeepDream posts:
low layers give strokes and edges, middle ones textures and eyes, high
ones object parts.  Each layer gets its own compiled gradient (about a
second each once Theano's cache holds the ops; the very first compile of
a fresh cache takes about a minute).  The default settings are modest so
that the 13 layers of VGG-16 take a few minutes on a 2-core CPU at 224
pixels: 3 octaves of 6 steps instead of DeepDream's 4 of 10.
"""
import argparse
import os

from ..deepdream.settings import DreamSettings

SWEEP_SETTINGS = DreamSettings(octaves=3, steps=6)
SWEEP_SIZE = "224"   # the longer side, pixels

EPILOG = """examples:
  python -m reproduce sweep photo.jpg
  python -m reproduce sweep photo.jpg --layers conv3_3,conv4_3 --size 320 --steps 10

Writes NN_LAYER.png and NN_LAYER.json per layer, and index.html, to --out-dir.
"""


def register(sub):
    from .deepdream import add_input_arguments, add_settings_arguments
    p = sub.add_parser("sweep", help="DeepDream a photo at every conv layer and "
                                     "write a gallery page",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="the photo (PNG/JPEG)")
    p.add_argument("--out-dir", default="results/sweep")
    p.add_argument("--layers", default=None, metavar="A,B,...",
                   help="comma-separated layers (default: every conv layer)")
    add_input_arguments(p, size=SWEEP_SIZE)
    add_settings_arguments(p, SWEEP_SETTINGS)
    p.set_defaults(func=run)


def layer_caption(net, layer, index, total):
    """'relu3_3: conv3_3 after its ReLU; layer 7 of 13 in the sweep'."""
    from ..deepdream.dream import rectified
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
    from ..deepdream.dream import compile_gradient, deepdream
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
            net, image, layer, settings, out_dir, "%s%02d_%s" % (prefix, i, layer),
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


def resolve_layers(net, spec):
    """--layers 'a,b' (or None: every conv layer) -> rectified names, network order."""
    from ..deepdream.dream import conv_layers, rectified
    if not spec:
        return conv_layers(net)
    chosen = {rectified(net, name.strip()) for name in spec.split(",") if name.strip()}
    if not chosen:
        from ..errors import UserError
        raise UserError("--layers %r names no layer; give e.g. conv3_3,conv4_3" % spec)
    return sorted(chosen, key=list(net.layers).index)


def run(args):
    from ..deepdream.dream import check_octaves
    from ..report.gallery import build
    from ..nets.build import build_net
    from ..nets.weights import load_model
    from .deepdream import load_photo, settings_from

    net = build_net(load_model(args.weights))
    layers = resolve_layers(net, args.layers)
    settings = settings_from(args)
    image = load_photo(args.image, args.size, net, layers[-1], args.max_memory)
    for layer in layers:
        check_octaves(net, layer, image.shape[:2], settings)

    meta = {"weights": os.path.basename(args.weights), "prior": "none", "quick": False}
    first = write_input(image, os.path.basename(args.image), args.out_dir, meta)
    records, interrupted = sweep_layers(net, image, layers, settings, args.out_dir,
                                        meta, not args.no_progress)
    page, _ = build(args.out_dir, "Layer sweep: %s on %s"
                    % (os.path.basename(args.image), net.model.model_name),
                    sweep_intro(settings), [first] + records)
    print("%s %s: %d of %d layers in %.1f s" % (
        "stopped early," if interrupted else "wrote", page, len(records), len(layers),
        sum(r["seconds"] for r in records)))
    return 130 if interrupted else 0


def sweep_intro(settings):
    return ("DeepDream at each layer in network order: gradient ascent on "
            "0.5&middot;mean(a&sup2;) of the layer (a conv layer after its ReLU), "
            "%d octaves of %d steps, octave scale %g, step size %g, jitter %d. Low "
            "layers enhance strokes and edges, middle ones textures and eyes, high "
            "ones parts of objects." % (settings.octaves, settings.steps,
                                        settings.octave_scale, settings.step_size,
                                        settings.jitter))
