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


def plan(job, profile, model):
    """The line said before the compile: size, where it comes from, steps,
    and for VGG-16 about how long the steps take."""
    import os

    from .. import paths
    from ..lsd2015.profiles import expected_seconds
    width, height = profile.image_size
    start_file = os.path.join(job.prior_dir or paths.LSD2015_DIR, profile.start_image) \
        if job.recipe == "lsd2015" and not job.start else None
    if job.sets("image_size"):
        origin = "as --set image_size"
    elif job.start:
        origin = "the size of %s" % job.start
    elif start_file and os.path.exists(start_file):
        origin = "the size of %s, the 2015 start image" % paths.shown(start_file)
    else:
        origin = "the %s size" % (job.profile if job.recipe == "lsd2015" else job.recipe)
    seconds = expected_seconds(profile, model) if job.backend == "theano" else None
    return "dreaming %dx%d (%s), %d steps%s; --set image_size=WxH or --steps N for less" % (
        width, height, origin, profile.steps,
        ": about %.0f min on two idle cores" % max(1, seconds / 60) if seconds else "")


def run(args):
    from ..errors import UserError
    from ..fileio import save_image
    from ..recipes import dream_picture
    from ..fileio import check_output
    if not args.classes:
        raise UserError("give at least one --classes NAME (e.g. --classes bee)")
    check_output(args.out, [args.start, args.weights, args.prior])
    job = picture_job(args)
    result = dream_picture(job, progress=not args.no_progress,
                           announce=lambda profile, model: print(
                               plan(job, profile, model), flush=True))
    save_image(result.image, args.out)
    print("%s %s: %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, result.steps,
        result.seconds, " (interrupted: kept the current image)"
        if result.interrupted else ""))
    return 130 if result.interrupted else 0
