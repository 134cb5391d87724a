"""``blas``: which OpenBLAS kernels this machine runs, and the survey that chose them."""


def register(sub):
    p = sub.add_parser("blas", help="print the BLAS kernels chosen for this CPU and "
                                    "how each candidate measured")
    p.add_argument("--remeasure", action="store_true",
                   help="measure every candidate again (about 10-20 s) and keep the "
                        "result for later runs; the new choice applies from the next run")
    p.set_defaults(func=run)


def run(args):
    from .. import blas

    print(blas.describe())
    found = blas.load_survey(remeasure=args.remeasure) if (
        args.remeasure or blas.current_survey() is None) else blas.current_survey()
    print("measured on %s, library %s and numpy's and scipy's own; correct means every "
          "product within %.1e (float32) and %.1e (float64) of an extended-precision sum, "
          "relative to |A|@|B|" % (found["cpu"] or "an unknown CPU", found["library"],
                                   blas.CHECK_TOLERANCE, blas.CHECK_TOLERANCE64))
    for row in blas.table(found):
        print(row)
