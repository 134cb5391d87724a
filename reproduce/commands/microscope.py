"""``microscope``: every channel of chosen layers visualised on a Dask cluster,
and pages to browse them from a folder (:mod:`reproduce.microscope`)."""
from .. import paths
from ._options import RAW, cluster_run_status, parse_sets, parse_size, seed_type, typed

EPILOG = """examples:
  python -m reproduce microscope --layers conv1_1,conv3_3,conv5_3 --channels 8 \\
      --size 64 --steps 32 --out-dir results/microscope_quick
  python -m reproduce microscope --channels 0-15,76 --out-dir results/microscope
  python -m reproduce microscope --weights weights/bvlc_googlenet.h5 \\
      --scheduler tcp://10.0.0.5:8786 --out-dir /shared/microscope

Default layers: every conv layer's output (after its ReLU) of a VGG; the stem
and every inception_*/output of a GoogLeNet.  Each unit gets a picture that
maximises its channel, one that minimises it, --diverse more from other
starts, and DeepDream of the channel on a fixed photo; each layer gets
DeepDream of the whole layer.  Re-running the same command renders nothing
twice; results/microscope/index.html is the start page (docs/microscope.md).
"""


def register(sub):
    from ..checks import Rule
    from ..microscope.plan import DIVERSE, DREAM, PHOTO_SIDE
    p = sub.add_parser("microscope", help="every channel of chosen layers visualised "
                                          "on a Dask cluster, and pages to browse them",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("--weights", default=paths.shown(paths.EMBEDDED_VGG16_CONV),
                   help="our HDF5 weights (default %(default)s)")
    p.add_argument("--layers", default=None, metavar="A,B,...",
                   help="comma-separated layers (default: every conv layer of a VGG; "
                        "the stem and every inception_*/output of a GoogLeNet)")
    p.add_argument("--channels", default="all", metavar="all|N|LIST",
                   help="all (default); N: the first N of each layer; or indices and "
                        "ranges such as 0-7,76 (one channel: 76,)")
    p.add_argument("--size", default="128", metavar="N|WxH",
                   help="the unit pictures' size (default %(default)s)")
    p.add_argument("--steps", type=typed(Rule(int, low=1, high=100000)), default=None,
                   help="steps of each unit picture (default: the fourier recipe's 256)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="another setting of the fourier recipe, e.g. --set "
                        "learning_rate=0.1")
    p.add_argument("--diverse", type=int, default=DIVERSE,
                   help="diverse pictures per unit (default %(default)s; 0: none)")
    p.add_argument("--photo", default=None,
                   help="the photo DeepDream starts from (default: scikit-image's "
                        "astronaut)")
    p.add_argument("--photo-size", type=int, default=PHOTO_SIDE,
                   help="its longer side in pixels (default %(default)s)")
    p.add_argument("--dream-octaves", type=int, default=DREAM.octaves,
                   help="DeepDream octaves (default %(default)s)")
    p.add_argument("--dream-steps", type=int, default=DREAM.steps,
                   help="DeepDream steps per octave (default %(default)s)")
    p.add_argument("--seed", type=seed_type(), default=0)
    p.add_argument("--batch", type=int, default=1,
                   help="channels of one layer per task (default %(default)s)")
    p.add_argument("--out-dir", default=paths.shown(paths.RESULTS_DIR) + "/microscope")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="an existing Dask scheduler (default: a local cluster, one "
                        "worker process per core)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--title", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    import dataclasses
    import os

    from ..errors import UserError
    from ..fileio import check_output
    from ..job import PictureJob
    from ..microscope.plan import DREAM, make_job, parse_layers
    from ..microscope.run import make_microscope
    from ..recipes import base_settings

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers %d: give at least 1 worker process" % args.workers)
    size = parse_size(args.size, side=True, least=8, most=4096)
    size = (size, size) if isinstance(size, int) else size
    overrides = (("image_size", size),) + parse_sets(base_settings("fourier"), args.set)
    if args.steps is not None:
        overrides += (("steps", args.steps),)
    picture = PictureJob(weights=args.weights, recipe="fourier", overrides=overrides,
                         seed=args.seed)
    dream = dataclasses.replace(DREAM, octaves=args.dream_octaves, steps=args.dream_steps)
    # the start page, checked before the work: a folder that is a file, or
    # cannot be written, is refused before any worker starts
    check_output(os.path.join(args.out_dir, "index.html"), option="--out-dir")
    job, _ = make_job(picture, args.diverse, dream, args.photo, args.photo_size, args.batch)
    result = make_microscope(job, parse_layers(args.layers), args.channels, args.out_dir,
                             args.scheduler, args.workers, args.title,
                             not args.no_progress)
    return cluster_run_status(result, args.out_dir, " (units and layer pictures)",
                              ("units_per_hour", "per hour"), "units")
