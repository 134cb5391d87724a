"""``dream``: one class picture (or two classes, one per half) the 2015 way."""
from ._options import RAW, add_dream_arguments, picture_job

EPILOG = """examples:
  %(prog)s --weights weights/vgg16.h5 --classes bee --out results/bee.png
  %(prog)s --weights weights/vgg16.h5 --classes rabbit \\
      --classes "analog clock" --profile stream2015 --set steps=100 --out results/rabbit.png
  %(prog)s --recipe fourier --weights weights/efficientnet_lite0.h5 \\
      --classes volcano --out results/volcano_fourier.png
"""


def register(sub):
    p = sub.add_parser("dream", help="make a class picture with the 2015 method",
                       epilog=EPILOG, formatter_class=RAW)
    add_dream_arguments(p)
    p.add_argument("--out", required=True, help="output image (PNG/JPEG)")
    p.set_defaults(func=run)


def run(args):
    from ..errors import UserError
    from ..fileio import save_image
    from ..recipes import dream_picture
    from ..fileio import check_output
    if not args.classes:
        raise UserError("give at least one --classes NAME (e.g. --classes bee)")
    check_output(args.out, [args.start, args.weights, args.prior])
    result = dream_picture(picture_job(args), progress=not args.no_progress)
    save_image(result.image, args.out)
    print("%s %s: %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, result.steps,
        result.seconds, " (interrupted: kept the current image)"
        if result.interrupted else ""))
    return 130 if result.interrupted else 0
