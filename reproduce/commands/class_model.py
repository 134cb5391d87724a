"""``class-model``: Simonyan et al.'s class models, and the least-squares
"enhance a layer" formulation solved with L-BFGS (see reproduce/deepdream/classmodels.py)."""
import os

from .. import paths
from ..checks import NON_NEGATIVE, Rule
from ._options import RAW, parse_memory, photo_size, typed

EPILOG = """examples:
  %(prog)s --method simonyan --classes volcano --out results/volcano_class_model.png
  %(prog)s --method lsq --start photo.jpg --layer conv4_3 \\
      --k 2 --out results/enhanced.png
  %(prog)s --method lsq --start photo.jpg --regulariser prior \\
      --prior weights/prior_student.h5 --out results/enhanced_prior.png
"""

DEFAULT_WEIGHTS = {"simonyan": paths.EMBEDDED_CLASSIFIER, "lsq": paths.EMBEDDED_VGG16_CONV}


def register(sub):
    from ..deepdream.settings import REGULARISERS, LeastSquaresSettings, SimonyanSettings
    s, q = SimonyanSettings(), LeastSquaresSettings(layer="")
    p = sub.add_parser("class-model", help="Simonyan et al.'s class model, or the "
                                           "least-squares layer enhancement (L-BFGS)",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("--method", choices=("simonyan", "lsq"), default="simonyan")
    p.add_argument("--weights", default=None,
                   help="our HDF5 weights (default: %s)" % ", ".join(
                       "%s for %s" % (paths.shown(w), m) for m, w in DEFAULT_WEIGHTS.items()))
    p.add_argument("--out", required=True, help="output image (PNG/JPEG)")
    p.add_argument("--size", default=None, metavar="WxH|N",
                   help="simonyan: the picture's size (default: the net's training "
                        "size); lsq: resize the --start photo (WxH, or N for its "
                        "longer side)")
    p.add_argument("--max-memory", default=None, metavar="BYTES",
                   help="refuse sizes whose estimated memory exceeds this (e.g. 4G; "
                        "default: the memory available)")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("simonyan")
    g.add_argument("--classes", default=None, metavar="NAME", help="the class to model")
    g.add_argument("--steps", type=int, default=s.steps)
    g.add_argument("--learning-rate", type=float, default=s.learning_rate)
    g.add_argument("--l2", type=float, default=s.l2,
                   help="lambda of lambda*||x||^2 (default %(default)s)")
    g = p.add_argument_group("lsq")
    g.add_argument("--start", default=None, metavar="IMAGE", help="the photo x0")
    g.add_argument("--layer", default="conv4_3",
                   help="layer to enhance; a conv layer is taken after its ReLU "
                        "(default %(default)s)")
    g.add_argument("--k", type=typed(Rule(float, above=0, high=1e6)), default=q.k,
                   help="target = k * the photo's activations (default %(default)s)")
    g.add_argument("--regulariser", choices=REGULARISERS, default=q.regulariser)
    g.add_argument("--weight", type=typed(NON_NEGATIVE), default=q.weight,
                   help="weight of the regulariser (default %(default)s)")
    g.add_argument("--iterations", type=typed(Rule(int, low=1, high=10 ** 6)), default=q.iterations)
    g.add_argument("--prior", default=None,
                   help="prior file for --regulariser prior (default "
                        "weights/prior_student.h5; 'lsd2015' for the 2015 one)")
    p.set_defaults(func=run)


def run(args):
    from ..fileio import save_image
    from ..nets.build import build_net
    from ..nets.weights import load_model

    from ..fileio import check_output
    check_output(args.out, [getattr(args, "start", None), args.weights])
    net = build_net(load_model(args.weights or DEFAULT_WEIGHTS[args.method]))
    result, what = (run_simonyan if args.method == "simonyan" else run_lsq)(args, net)
    save_image(result.image, args.out)
    print("%s %s: %s, %d %s in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, what,
        result.steps, "steps" if args.method == "simonyan" else "evaluations",
        result.seconds, " (interrupted: kept what was made)" if result.interrupted
        else ""))
    return 130 if result.interrupted else 0


def run_simonyan(args, net):
    from ..nets.classes import find_class
    from ..deepdream.classmodels import SimonyanSettings, simonyan
    from ..errors import UserError
    from ..deepdream.inputs import fit_size
    from ..nets.memory import check_fits
    model = net.model
    model.require_classes("class models")
    if not args.classes:
        raise UserError("give the class to model with --classes NAME (e.g. --classes bee)")
    if args.steps < 1:
        raise UserError("--steps must be at least 1")
    index = find_class(args.classes, model.descriptions)
    size = None
    if args.size:
        size = fit_size(photo_size(args), model.image_shape[::-1])
        net.check_input_size(size[::-1])
        check_fits(net, size[1], size[0], None, parse_memory(args.max_memory),
                   "a class model")
    settings = SimonyanSettings(steps=args.steps, learning_rate=args.learning_rate,
                                l2=args.l2, size=size)
    name = model.descriptions[index].split(",")[0]
    return simonyan(net, index, settings, not args.no_progress), \
        "class model of %s (%d)" % (name, index)


def run_lsq(args, net):
    from ..deepdream.classmodels import LeastSquaresSettings, least_squares
    from ..deepdream.dream import check_layer_input
    from ..errors import UserError
    from ..deepdream.inputs import load_photo, resolve_layer
    from ..prior.fit import load_prior_spec
    if not args.start:
        raise UserError("--method lsq enhances a photo: give it with --start IMAGE")
    if args.iterations < 1 or args.k <= 0:
        raise UserError("--iterations must be at least 1 and --k positive")
    layer = resolve_layer(net, args.layer)
    start = load_photo(args.start, net, layer, photo_size(args),
                       parse_memory(args.max_memory))
    check_layer_input(net, layer, start.shape[:2])
    prior = (load_prior_spec(args.prior) if args.regulariser == "prior" else None)
    settings = LeastSquaresSettings(layer=layer, k=args.k, regulariser=args.regulariser,
                                    weight=args.weight, iterations=args.iterations)
    return least_squares(net, start, settings, prior, not args.no_progress), \
        "%s x%g (%s, weight %g) from %s" % (layer, args.k, args.regulariser, args.weight,
                                            os.path.basename(args.start))
