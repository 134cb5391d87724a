"""``deepdream IMAGE --layer conv4_3``: Google's DeepDream on one photo."""
from .. import paths
from ._options import (RAW, add_input_arguments, add_settings_arguments, dream_settings,
                       parse_memory, photo_size)

EPILOG = """examples:
  python -m reproduce deepdream photo.jpg --layer conv4_3 --out results/dream.png
  python -m reproduce deepdream photo.jpg --layer conv3_3 --channel 17 --out c17.png
  python -m reproduce deepdream photo.jpg --layer conv4_2 --guide flowers.jpg --out g.png

A conv layer name means its output after the ReLU, as Caffe's in-place
blobs (and so google/deepdream) have it; --pre-relu takes it before.
"""


def register(sub):
    p = sub.add_parser("deepdream", help="enhance what a layer sees in a photo "
                                         "(Google's DeepDream)",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("image", help="the photo to dream on (PNG/JPEG)")
    p.add_argument("--layer", default="conv4_3", help="layer to enhance "
                   "(default %(default)s; a wrong name lists the valid ones)")
    p.add_argument("--channel", type=int, default=None,
                   help="enhance this channel of the layer only")
    p.add_argument("--guide", default=None, metavar="IMAGE",
                   help="guided dreaming: match the features of this image")
    p.add_argument("--pre-relu", action="store_true",
                   help="take a conv layer's output before its ReLU")
    add_input_arguments(p, paths.EMBEDDED_VGG16_CONV)
    add_settings_arguments(p)
    p.add_argument("--out", required=True, help="output image (PNG/JPEG)")
    p.set_defaults(func=run)


# --------------------------------------------------------------- run

def run(args):
    from .. import objectives
    from ..deepdream.dream import check_octaves, compile_gradient, deepdream, guide_features
    from ..deepdream.inputs import check_channel, load_photo, resolve_layer
    from ..fileio import save_image
    from ..nets.build import build_net
    from ..nets.weights import load_model

    net = build_net(load_model(args.weights))
    layer = resolve_layer(net, args.layer, args.pre_relu)
    check_channel(net, layer, args.channel, args.guide)
    settings = dream_settings(args)
    memory = parse_memory(args.max_memory)
    image = load_photo(args.image, net, layer, photo_size(args), memory)
    check_octaves(net, layer, image.shape[:2], settings)
    if args.guide:
        guide = load_photo(args.guide, net, layer, None, memory, "the guide image")
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
