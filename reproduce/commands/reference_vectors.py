"""``reference-vectors``: every stage of the 2015 pipeline, for ports to test against."""
from ._options import RAW, parse_size, seed_type


EPILOG = """example:
  %(prog)s --weights weights/vgg16.h5 \\
      --prior weights/prior_student.h5 --out results/reference.h5
The schema and the tolerances a port should meet: docs/reference-vectors.md
"""


def register(sub):
    from .. import reference
    p = sub.add_parser("reference-vectors",
                       help="write the inputs and outputs of every stage (HDF5)",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("--weights", required=True, help="our HDF5 weights (a classifier)")
    p.add_argument("--prior", required=True,
                   help="prior HDF5 file, or 'lsd2015' for the 2015 files (--prior-dir)")
    p.add_argument("--prior-dir", default=None,
                   help="folder of the 2015 prior files, with --prior lsd2015")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--size", default="%dx%d" % reference.DEFAULT_SIZE, metavar="WxH",
                   help="image size (default %(default)s)")
    p.add_argument("--seed", type=seed_type(), default=0, help="seed of the start image")
    p.add_argument("--classes", action="append", default=None, metavar="NAME",
                   help="the two target classes, lower then upper half "
                        "(default: 'wood rabbit', 'analog clock')")
    p.add_argument("--layer", default=None,
                   help="layer of the DeepDream gradient (default conv4_3, else the "
                        "last feature conv)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..loop import progress_bar

    from .. import reference
    from ..errors import UserError

    from ..fileio import check_output
    check_output(args.out, [args.weights, args.prior])
    size = parse_size(args.size)
    classes = args.classes or list(reference.DEFAULT_CLASSES)
    if len(classes) != 2:
        raise UserError("--classes: give exactly two (lower half, then upper half), "
                        "got %d" % len(classes))
    if args.prior == "none":
        raise UserError("--prior none: reference vectors need a prior (a file or lsd2015)")
    job = reference.reference_job(args.weights, args.prior, args.prior_dir, size,
                                  args.seed, classes)
    bars = []  # drawn once compute has read and checked every file, not before

    def progress(n):
        if not bars:
            bars.append(progress_bar(total=2 + reference.STEPS, unit="step",
                                     disable=args.no_progress, desc="reference steps"))
        bars[0].update(n)
    try:
        arrays, attrs = reference.compute(job, args.layer, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    sources = [("weights", args.weights)]
    if args.prior == "lsd2015":
        attrs.update(prior="lsd2015", prior_sha256="")  # several .npy files
    else:
        sources.append(("prior", args.prior))
    reference.write(args.out, arrays, attrs, sources)
    print("wrote %s: %d arrays at %dx%d" % (args.out, len(arrays), *size))
    return 0
