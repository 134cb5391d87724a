"""``sweep IMAGE``: DeepDream one photo at every conv layer, and a gallery page
(:mod:`reproduce.deepdream.sweep`).

Each layer gets its own compiled gradient (about a second each once
Theano's cache holds the ops; the very first compile of a fresh cache
takes about a minute).
"""
import os
import sys

from .. import paths
from ..deepdream.sweep import SWEEP_SETTINGS, SWEEP_SIDE
from ._options import (RAW, add_engine_arguments, add_input_arguments,
                       add_settings_arguments, dream_net, dream_settings, parse_memory,
                       photo_size)

EPILOG = """examples:
  %(prog)s photo.jpg
  %(prog)s photo.jpg --layers conv3_3,conv4_3 --size 320 --steps 10

Writes NN_LAYER.png and NN_LAYER.json per layer, and index.html, to --out-dir.
The page is rewritten after each layer: Ctrl-C (or SIGTERM) leaves a complete
gallery of the layers made so far, or nothing before the first one.
"""


def register(sub):
    p = sub.add_parser("sweep", help="DeepDream a photo at every conv layer and "
                                     "write a gallery page",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("image", help="the photo (PNG/JPEG)")
    p.add_argument("--out-dir", default=os.path.join(paths.RESULTS_DIR, "sweep"))
    p.add_argument("--layers", default=None, metavar="A,B,...",
                   help="comma-separated layers (default: every conv layer)")
    add_input_arguments(p, paths.EMBEDDED_VGG16_CONV, size=str(SWEEP_SIDE))
    add_settings_arguments(p, SWEEP_SETTINGS)
    add_engine_arguments(p)
    p.set_defaults(func=run)


def run(args):
    from ..deepdream.dream import check_octaves
    from ..deepdream.inputs import load_photo
    from ..deepdream.sweep import resolve_layers, sweep_intro, sweep_layers
    from ..errors import UserError
    from ..nets.weights import load_model
    from ..report.gallery import build

    from ..fileio import check_output, check_output_dir
    # the folder and its page, checked before the work: a folder that is a
    # file, or cannot be written, is refused before any layer is dreamed
    check_output_dir(args.out_dir)
    check_output(os.path.join(args.out_dir, "index.html"), [args.image], option="--out-dir")
    settings = dream_settings(args)
    net = dream_net(args, settings, load_model(args.weights))
    names = None
    if args.layers is not None:
        names = [name.strip() for name in args.layers.split(",") if name.strip()]
        if not names:
            raise UserError("--layers %r names no layer; give e.g. conv3_3,conv4_3"
                            % args.layers)
    layers = resolve_layers(net, names)
    image = load_photo(args.image, net, layers[-1], photo_size(args),
                       parse_memory(args.max_memory))
    for layer in layers:
        check_octaves(net, layer, image.shape[:2], settings)

    meta = {"weights": os.path.basename(args.weights), "prior": "none", "quick": False}
    title = "Layer sweep: %s on %s" % (os.path.basename(args.image), net.model.model_name)
    pages = []

    def publish(records):
        pages[:] = [build(args.out_dir, title, sweep_intro(settings), records)[0]]

    records, interrupted = sweep_layers(net, image, layers, settings, args.out_dir,
                                        meta, publish, os.path.basename(args.image),
                                        not args.no_progress)
    if not pages:
        print("interrupted before the first layer was made: nothing written",
              file=sys.stderr)
        return 130
    print("%s %s: %d of %d layers in %.1f s" % (
        "stopped early," if interrupted else "wrote", pages[0], len(records) - 1,
        len(layers), sum(r["seconds"] for r in records)))
    return 130 if interrupted else 0
