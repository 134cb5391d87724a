"""``run-scripts``: scripts as tasks on a Dask cluster, one script per task
(``make figures SCHEDULER=...``)."""
import argparse

from ._options import add_cluster_arguments, shell_words

EPILOG = """examples:
  %(prog)s --args "--quick" experiments/bee.py experiments/pizza.py
  %(prog)s --scheduler tcp://10.0.0.5:8786 \\
      --args "--weights weights/vgg16.h5 --results /shared/results" experiments/*.py
"""


def register(sub):
    p = sub.add_parser("run-scripts", help="run scripts as tasks on a Dask cluster, "
                                           "one script per task",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scripts", nargs="+", metavar="SCRIPT",
                   help="Python scripts, relative to the repository")
    p.add_argument("--args", type=shell_words, default=[],
                   help="arguments given to every script (one string, split like a "
                        "shell)")
    add_cluster_arguments(p)
    p.set_defaults(func=run)


def run(args):
    import os

    from ..atlas.cluster import connect
    from ..atlas.scripts import run_scripts, script_folder
    from ..errors import UserError

    folder = script_folder()
    missing = [s for s in args.scripts if not os.path.isfile(os.path.join(folder, s))]
    if missing:
        raise UserError("%s: no such script in %s" % (", ".join(missing), folder))
    with connect(args.scheduler, args.workers) as client:
        results = run_scripts(args.scripts, args.args, client, cwd=folder)
    failed = [r["script"] for r in results if r["returncode"] != 0]
    print("%d of %d scripts done%s" % (len(results) - len(failed), len(args.scripts),
                                       "; failed: " + ", ".join(failed) if failed else ""))
    return 1 if failed else 0
