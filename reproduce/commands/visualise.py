"""``visualise --objective relu4_3:76``: a picture of any unit (a channel, a
neuron, a layer, a class logit, their sums) made from noise, with the
Fourier recipe or the 2015 one (``reproduce.render``)."""
from .. import paths
from ..checks import Rule
from ._options import RAW, parse_sets, seed_type, typed

EPILOG = """objective grammar (--objective):
%s

A conv layer's name means its output after its ReLU (conv4_3 = relu4_3).

examples (offline, embedded weights):
  python -m reproduce visualise --objective relu4_3:76 --out results/relu4_3_76.png
  python -m reproduce visualise --objective "-relu4_3:76" --out results/neg76.png
  python -m reproduce visualise --objective "relu4_3:76@centre" --size 128 \\
      --out results/neuron76.png
  python -m reproduce visualise --objective "relu3_3:20 + 0.5*relu4_3:76" \\
      --recipe lsd2015 --steps 50 --out results/mix.png
  python -m reproduce visualise --weights weights/efficientnet_lite0.h5 \\
      --objective class:volcano --out results/volcano.png
  python -m reproduce visualise --objective "relu4_3:76 + 100*diversity:relu4_3" \\
      --batch 4 --size 128 --out results/diverse76.png
"""


def register(sub):
    from ..objectives import SPEC_GRAMMAR
    p = sub.add_parser("visualise", aliases=["visualize"],
                       help="make a picture of any unit: a channel, a neuron, a "
                            "layer, a class (Lucid-style objectives)",
                       epilog=EPILOG % SPEC_GRAMMAR, formatter_class=RAW)
    p.add_argument("--objective", required=True, metavar="SPEC",
                   help='what to maximise, e.g. "relu4_3:76" (grammar below)')
    p.add_argument("--weights", default=paths.EMBEDDED_VGG16_CONV,
                   help="our HDF5 weights (default %s)" % paths.shown(paths.EMBEDDED_VGG16_CONV))
    p.add_argument("--recipe", choices=("fourier", "lsd2015"), default="fourier",
                   help="fourier: decorrelated Fourier image, random transforms, "
                        "Adam (default); lsd2015: pixels, the patch prior, the 2015 "
                        "update rule (image2015 settings)")
    p.add_argument("--size", default="224", metavar="N|WxH",
                   help="picture size (default %(default)s)")
    p.add_argument("--steps", type=typed(Rule(int, low=1, high=100000)), default=None,
                   help="optimisation steps (default: the recipe's)")
    p.add_argument("--seed", type=seed_type(), default=0)
    p.add_argument("--batch", type=typed(Rule(int, low=1, high=64)), default=1,
                   metavar="N", help="make N pictures at once, written as OUT-0.png .. "
                   "OUT-<N-1>.png (for diversity:LAYER; default 1)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="any other setting of the recipe, e.g. --set learning_rate=0.1")
    p.add_argument("--prior", default=None,
                   help="with --recipe lsd2015: prior HDF5 file (default %s) or 'none'"
                        % paths.shown(paths.PRIOR))
    p.add_argument("--out", required=True, help="output picture (.png or .jpg)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..api import render
    from ..fileio import check_output
    from ..recipes import base_settings
    from ._options import parse_size
    from ..errors import UserError
    import os
    if os.path.splitext(args.out)[1].lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError("--out %s: give a .png or .jpg picture" % args.out)
    stem, ext = os.path.splitext(args.out)
    outs = [args.out] if args.batch == 1 else ["%s-%d%s" % (stem, i, ext)
                                               for i in range(args.batch)]
    for out in outs:
        check_output(out, [args.weights, args.prior])
    size = parse_size(args.size, side=True, least=8, most=4096)
    overrides = parse_sets(base_settings(args.recipe), args.set)
    result = render(args.weights, args.objective, recipe=args.recipe, size=size,
                    steps=args.steps, seed=args.seed, batch=args.batch, settings=overrides,
                    prior=args.prior, progress=not args.no_progress)
    for index, out in enumerate(outs):
        result.save(out, index)
    print("%s %s: %s, %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", " ".join(outs),
        result.info["objective"], result.steps, result.seconds,
        " (interrupted: kept the current image)" if result.interrupted else ""))
    return 130 if result.interrupted else 0
