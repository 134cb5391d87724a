"""Shared runner for the DeepDream seed gallery: one GoogLeNet layer, one picture.

Each ``experiments/deepdream/<model>_<layer>.py`` names its model
(``googlenet``: BVLC GoogLeNet on ImageNet; ``places205``: Places205-GoogLeNet),
its layer (as Caffe names the blob, e.g. ``inception_4d/3x3_reduce``) and the
post's caption, and calls :func:`main`.  The picture is DeepDream on the
start photo with the explainer's six octaves and the rest of dream.ipynb's
defaults (10 steps per octave, octave scale 1.4, step size 1.5, jitter 32);
it is written with a JSON record to ``results/deepdream/``, and
``experiments/gallery.py --results results/deepdream`` builds the page
(``make deepdream-figures`` does both).

The start photo is scikit-image's astronaut at 512x512 unless ``--image``
gives another (the posts dreamed on their own photos, which we do not ship).
"""
import argparse
import os
import sys

from reproduce import paths
from reproduce.deepdream.settings import DreamSettings
from reproduce.errors import UserError

# 002_a072c354857bee9b.txt (the explainer): "the output below has gone
# through six octaves"; the other settings are dream.ipynb's defaults.
SETTINGS = DreamSettings(octaves=6)
START_SIZE = (512, 512)                       # (width, height): the astronaut's own
QUICK = dict(settings=DreamSettings(octaves=2, steps=2, jitter=4), size=(96, 96))

# model key -> (default weights, the make target that fetches them, its name)
MODELS = {
    "googlenet": (paths.GOOGLENET, "make weights-googlenet", "BVLC GoogLeNet (ImageNet)"),
    "places205": (paths.PLACES205_GOOGLENET, "make weights-places",
                  "Places205-GoogLeNet"),
}


def parse(argv, model):
    p = argparse.ArgumentParser(description="one picture of the DeepDream seed gallery")
    p.add_argument("--weights", default=MODELS[model][0],
                   help="our HDF5 weights of the model (default %(default)s)")
    p.add_argument("--image", default=None,
                   help="start photo (default: scikit-image's astronaut, 512x512)")
    p.add_argument("--size", default=None, metavar="WxH|N",
                   help="resize the start photo first (WxH, or N for its longer side)")
    p.add_argument("--results", default=paths.DEEPDREAM_FIGURES_DIR)
    p.add_argument("--quick", action="store_true", help="small and short: a smoke run")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def start_image(args):
    """(image (H, W, 3) on 0..255, where it came from)."""
    from reproduce.commands._options import parse_size
    from reproduce.deepdream.inputs import astronaut, fit_size
    from reproduce.fileio import image_header
    from reproduce.fileio import load_image
    size = parse_size(args.size, side=True) if args.size else None
    if args.image:
        if size is not None:
            size = fit_size(size, image_header(args.image))
        return load_image(args.image, size), os.path.basename(args.image)
    default = QUICK["size"] if args.quick else START_SIZE
    return (astronaut(fit_size(size, default) if size is not None else default),
            "skimage.data.astronaut()")


def main(model, layer, caption, argv=None):
    """Dream ``layer`` of ``model``; exit 2 with one line on bad input."""
    args = parse(sys.argv[1:] if argv is None else argv, model)
    weights, target, label = MODELS[model]
    try:
        if not os.path.exists(args.weights):
            raise UserError("%s not found; run `%s` first (or pass --weights)"
                            % (args.weights, target))
        from reproduce.deepdream.sweep import dream_layer, save_layer, write_input
        from reproduce.deepdream.dream import check_octaves
        from reproduce.fileio import safe_name
        from reproduce.nets.build import build_net
        from reproduce.nets.weights import load_model

        net = build_net(load_model(args.weights))
        net.layer(layer)  # a model without it: UserError listing the valid names
        settings = QUICK["settings"] if args.quick else SETTINGS
        image, source = start_image(args)
        check_octaves(net, layer, image.shape[:2], settings)
        meta = {"weights": os.path.basename(args.weights), "prior": "none",
                "quick": args.quick, "model": label}
        write_input(image, source, args.results, meta, prefix=model + "_0")  # sorts first
        index = [n for n in net.layers].index(layer)
        name = "%s_%03d_%s" % (model, index, safe_name(layer))
        result = dream_layer(net, image, layer, settings, not args.no_progress)
        record = save_layer(result, image, layer, settings, args.results, name,
                            "%s, %s: %s" % (label, layer, caption), meta,
                            objective="0.5*mean(a^2)")
        print("%s: %s (%d steps, %.1f s)" % (layer, os.path.join(args.results,
                                                                  record["image"]),
                                             result.steps, result.seconds))
        return 130 if result.interrupted else 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
