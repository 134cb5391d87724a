"""``dream``: one class picture (or two classes, one per half) the 2015 way."""

EPILOG = """examples:
  python -m reproduce dream --weights weights/vgg16.h5 --classes bee --out results/bee.png
  python -m reproduce dream --weights weights/vgg16.h5 --classes rabbit \\
      --classes "analog clock" --profile stream2015 --set steps=100 --out results/rabbit.png
  python -m reproduce dream --recipe fourier --weights weights/efficientnet_lite0.h5 \\
      --classes volcano --out results/volcano_fourier.png
"""


def add_prior_arguments(p):
    """--prior and --prior-dir, as every command that runs the 2015 recipe takes them."""
    p.add_argument("--prior", default=None,
                   help="prior HDF5 file (default weights/prior_student.h5), "
                        "'lsd2015' for the 2015 files, or 'none'")
    p.add_argument("--prior-dir", default=None,
                   help="folder holding the 2015 prior .npy files and start "
                        "images (default ../shared/reference/lsd2015)")


def add_dream_arguments(p):
    """The options shared by ``dream`` and the figure scripts."""
    p.add_argument("--weights", default="weights/vgg16.h5", help="our HDF5 weights")
    p.add_argument("--classes", action="append", default=[], metavar="NAME",
                   help="class to dream (give twice: the first goes to the lower "
                        "half of the image, the second to the upper half)")
    p.add_argument("--recipe", default="lsd2015",
                   help="lsd2015: pixels, patch prior, the 2015 update rule, zoom "
                        "(default); fourier: decorrelated Fourier image, random "
                        "transforms, Adam (docs/recipes.md)")
    p.add_argument("--profile", default="image2015",
                   help="stream2015 or image2015 (default %(default)s); the 2015 "
                        "settings of --recipe lsd2015 (fourier has its own)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a profile setting, e.g. --set learning_rate=2 "
                        "--set image_size=448x448 (see docs)")
    p.add_argument("--steps", type=int, help="shortcut for --set steps=N")
    add_prior_arguments(p)
    p.add_argument("--start", default=None,
                   help="start image (default: the profile's 2015 start image "
                        "if found, else seeded grey noise); its size is used "
                        "unless --set image_size=WxH is given")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("theano", "torch"), default="theano",
                   help="theano: the reference (default); torch: the PyTorch port, "
                        "on CUDA when available (needs requirements-torch.txt)")
    p.add_argument("--overlay", action="store_true",
                   help="write the class names on the picture, as the stream did")
    p.add_argument("--no-progress", action="store_true")


def register(sub):
    p = sub.add_parser("dream", help="make a class picture with the 2015 method",
                       epilog=EPILOG, formatter_class=_raw())
    add_dream_arguments(p)
    p.add_argument("--out", required=True, help="output image (PNG/JPEG)")
    p.set_defaults(func=run)


def _raw():
    import argparse
    return argparse.RawDescriptionHelpFormatter


def run(args):
    from ..errors import UserError
    from ..fileio import save_image
    from ..pipeline import dream_picture
    if not args.classes:
        raise UserError("give at least one --classes NAME (e.g. --classes bee)")
    result = dream_picture(args)
    save_image(result.image, args.out)
    print("%s %s: %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, result.steps,
        result.seconds, " (interrupted: kept the current image)"
        if result.interrupted else ""))
    return 130 if result.interrupted else 0
