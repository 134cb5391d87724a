"""``atlas``: one picture per class, rendered on a Dask cluster, and a page of them."""
from ..paths import EMBEDDED_CLASSIFIER, JUDGE, shown
from ._options import (RAW, add_cluster_arguments, add_prior_arguments, cluster_run_status,
                       picture_job)

EPILOG = """examples:
  %(prog)s --weights weights/efficientnet_lite0.h5 --recipe fourier
  %(prog)s --recipe fourier --classes 0-49 --set image_size=96x96 \\
      --steps 16 --out-dir results/atlas_quick
  %(prog)s --recipe lsd2015 --backend torch --batch 8 \\
      --set image_size=224x224 --scheduler tcp://10.0.0.5:8786 --out-dir /shared/atlas

Re-running the same command skips every class already rendered with the same
settings; results/atlas/manifest.json records them.  On several machines, start
`dask scheduler` on one and `dask worker tcp://HOST:8786 --nworkers N
--nthreads 1` on each (the project installed at the same path, --out-dir on a
shared disk), then pass --scheduler tcp://HOST:8786 (README, "The class atlas").
"""


def register(sub):
    p = sub.add_parser("atlas", help="one picture per class on a Dask cluster, and a "
                                     "searchable page of them all",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("--weights", default=EMBEDDED_CLASSIFIER,  # from any folder
                   help="our HDF5 classifier (default %s)" % shown(EMBEDDED_CLASSIFIER))
    p.add_argument("--classes", dest="class_spec", default="all", metavar="all|LIST|FILE",
                   help="all (default); names, indices and ranges separated by "
                        "commas (\"0-49,volcano\"); or a file of them, one a line")
    p.add_argument("--recipe", choices=("lsd2015", "fourier"), default="lsd2015",
                   help="lsd2015: the 2015 recipe (default); fourier: decorrelated "
                        "Fourier image, transforms, Adam (docs/recipes.md)")
    p.add_argument("--profile", default="stream2015",
                   help="the 2015 settings of --recipe lsd2015: stream2015 (default) "
                        "or image2015")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a setting of the recipe, e.g. --set image_size=96x96")
    p.add_argument("--steps", type=int, help="shortcut for --set steps=N")
    add_prior_arguments(p)
    p.add_argument("--start", default=None, help="start image (lsd2015: default the "
                                                 "profile's 2015 one, else grey noise)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=("theano", "torch"), default="theano")
    p.add_argument("--batch", type=int, default=1,
                   help="classes per task, rendered as one batch (torch backend, "
                        "lsd2015 recipe; default 1)")
    p.add_argument("--out-dir", default="results/atlas")
    add_cluster_arguments(p)
    p.add_argument("--judge", default=None,
                   help="weights of the classifier that gives each picture's top 5 "
                        "(default %s when it exists; 'none': no judge)" % shown(JUDGE))
    p.add_argument("--title", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run, classes=[])  # each picture's class comes from --classes


def run(args):
    import os

    from ..atlas.cluster import make_atlas
    from ..atlas.plan import make_job
    from ..fileio import check_output_dir

    check_output_dir(args.out_dir)
    judge = None if args.judge == "none" else (
        args.judge or (JUDGE if os.path.exists(JUDGE) else None))
    job, model = make_job(picture_job(args), args.batch, judge)
    result = make_atlas(job, model, args.class_spec, args.out_dir, args.scheduler,
                        args.workers, args.title, not args.no_progress)
    return cluster_run_status(result, args.out_dir, "", ("classes_per_hour",
                                                         "classes per hour"), "classes")
