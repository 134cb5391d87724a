"""``deepdream IMAGE --layer conv4_3``: Google's DeepDream on one photo."""
import argparse

EPILOG = """examples:
  python -m reproduce deepdream photo.jpg --layer conv4_3 --out results/dream.png
  python -m reproduce deepdream photo.jpg --layer conv3_3 --channel 17 --out c17.png
  python -m reproduce deepdream photo.jpg --layer conv4_2 --guide flowers.jpg --out g.png

A conv layer name means its output after the ReLU, as Caffe's in-place
blobs (and so google/deepdream) have it; --pre-relu takes it before.
"""

DEFAULT_WEIGHTS = "weights/vgg16_conv_hed.h5"


def add_settings_arguments(p, defaults=None):
    """DeepDream's numeric settings, defaulting to ``defaults`` (a DreamSettings)."""
    from ..deepdream.settings import DreamSettings
    d = defaults or DreamSettings()
    p.add_argument("--octaves", type=int, default=d.octaves,
                   help="pyramid levels (default %(default)s)")
    p.add_argument("--octave-scale", type=float, default=d.octave_scale,
                   help="size ratio between octaves (default %(default)s)")
    p.add_argument("--steps", type=int, default=d.steps,
                   help="gradient steps per octave (default %(default)s)")
    p.add_argument("--step-size", type=float, default=d.step_size,
                   help="step in pixels relative to mean |gradient| (default %(default)s)")
    p.add_argument("--jitter", type=int, default=d.jitter,
                   help="largest random roll in pixels (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="of the jitter")


def add_input_arguments(p, size=None):
    """Weights, image size and memory limit: shared by deepdream and sweep."""
    p.add_argument("--weights", default=DEFAULT_WEIGHTS,
                   help="our HDF5 weights (default %(default)s: the embedded "
                        "VGG-16 conv stack)")
    p.add_argument("--size", default=size, metavar="WxH|N",
                   help="resize the image first: WxH, or N for its longer side "
                        "(default: %s)" % (size or "its own size"))
    p.add_argument("--max-memory", default=None, metavar="BYTES",
                   help="refuse images whose estimated forward+backward memory "
                        "exceeds this (e.g. 4G; default: the memory available)")
    p.add_argument("--no-progress", action="store_true")


def settings_from(args):
    from ..deepdream.settings import DreamSettings
    settings = DreamSettings(octaves=args.octaves, octave_scale=args.octave_scale,
                             steps=args.steps, step_size=args.step_size,
                             jitter=args.jitter, seed=args.seed)
    settings.check()
    return settings


def register(sub):
    p = sub.add_parser("deepdream", help="enhance what a layer sees in a photo "
                                         "(Google's DeepDream)",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image", help="the photo to dream on (PNG/JPEG)")
    p.add_argument("--layer", default="conv4_3", help="layer to enhance "
                   "(default %(default)s; a wrong name lists the valid ones)")
    p.add_argument("--channel", type=int, default=None,
                   help="enhance this channel of the layer only")
    p.add_argument("--guide", default=None, metavar="IMAGE",
                   help="guided dreaming: match the features of this image")
    p.add_argument("--pre-relu", action="store_true",
                   help="take a conv layer's output before its ReLU")
    add_input_arguments(p)
    add_settings_arguments(p)
    p.add_argument("--out", required=True, help="output image (PNG/JPEG)")
    p.set_defaults(func=run)


# --------------------------------------------------------------- input

def parse_size(text, size):
    """--size 'WxH' or 'N' (longer side) for an image of ``size`` = (W, H) -> (W, H)."""
    from ..errors import UserError
    try:
        if "x" in text.lower():
            w, h = (int(v) for v in text.lower().split("x"))
        else:
            n = int(text)
            scale = n / float(max(size))
            w, h = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
    except ValueError:
        raise UserError("--size %r: give WxH (e.g. 320x240) or one number for the "
                        "longer side" % text)
    if w < 1 or h < 1:
        raise UserError("--size %r: width and height must be positive" % text)
    return w, h


def image_size(path):
    """(W, H) of an image file from its header, or None where PIL cannot tell
    (load_image then reports the problem in full)."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return im.size
    except Exception:  # noqa: BLE001  (any failure: load_image explains it)
        return None


def load_photo(path, size_option, net, layer, max_memory, what="the image"):
    """Read ``path`` (resized per --size) as (H, W, 3) on 0..255, after checking
    from its header that a pass through ``net`` up to ``layer`` fits in memory."""
    from ..fileio import load_image
    from ..nets.memory import check_fits, parse_bytes
    size = image_size(path)
    if size is not None:
        if size_option:
            size = parse_size(size_option, size)
        limit = parse_bytes(max_memory) if max_memory else None
        check_fits(net, size[1], size[0], layer, limit, "%s %s" % (what, path))
    return load_image(path, size if size_option else None)


def resolve_layer(net, name, pre_relu=False):
    """The layer to enhance for ``--layer name`` (see deepdream.rectified)."""
    from ..deepdream.dream import rectified
    net.layer(name)  # unknown name -> UserError listing the valid ones
    return name if pre_relu else rectified(net, name)


def check_channel(net, layer, channel, guide=None):
    from ..errors import UserError
    if channel is None:
        return
    if guide:
        raise UserError("--channel and --guide do not combine: the guide's features "
                        "span all channels of the layer")
    n = net.output_shape(*net.model.image_size, name=layer)[1]
    if not 0 <= channel < n:
        raise UserError("layer %s has %d channels; --channel must be 0..%d"
                        % (layer, n, n - 1))


# --------------------------------------------------------------- run

def run(args):
    from .. import objectives
    from ..deepdream.dream import check_octaves, compile_gradient, deepdream, guide_features
    from ..fileio import save_image
    from ..nets.build import build_net
    from ..nets.weights import load_model

    net = build_net(load_model(args.weights))
    layer = resolve_layer(net, args.layer, args.pre_relu)
    check_channel(net, layer, args.channel, args.guide)
    settings = settings_from(args)
    image = load_photo(args.image, args.size, net, layer, args.max_memory)
    check_octaves(net, layer, image.shape[:2], settings)
    if args.guide:
        guide = load_photo(args.guide, None, net, layer, args.max_memory,
                           "the guide image")
        objective = objectives.guide(layer, guide_features(net, layer, guide))
    else:
        objective = objectives.layer_l2(layer, args.channel)
    result = deepdream(compile_gradient(net, objective), image, settings,
                       progress=not args.no_progress, desc=objective.name)
    save_image(result.image, args.out)
    print("%s %s: %s, %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, objective.name,
        result.steps, result.seconds,
        " (interrupted: kept what was made)" if result.interrupted else ""))
    return 130 if result.interrupted else 0
