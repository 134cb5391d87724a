"""``conformance``: the modern ports against the 2015 reference, stage by stage."""
from ._options import RAW

EPILOG = """examples:
  python -m reproduce conformance                 # the small VGG-16-shaped model
  python -m reproduce conformance --build torch --build tf --json results/conformance.json
  python -m reproduce conformance --weights w.h5 --reference ref.h5 --ports lucent
The ports run in their own venvs (requirements-conformance-torch.txt,
requirements-conformance-tf.txt; `make conformance` builds both).  A port
not installed is a skipped row that names the command installing it.
docs/conformance.md explains every cell.
"""


def register(sub):
    p = sub.add_parser("conformance", help="run the modern ports on the reference, "
                       "stage by stage, and print the table", epilog=EPILOG,
                       formatter_class=RAW)
    p.add_argument("--weights", default=None,
                   help="our HDF5 weights, a VGG-like classifier (default: a VGG-16-shaped "
                        "model at an eighth of the widths, made here)")
    p.add_argument("--prior", default=None, help="prior HDF5 file (default weights/"
                   "prior_student.h5)")
    p.add_argument("--reference", default=None,
                   help="a reference-vectors file of --weights (default: computed now)")
    p.add_argument("--ports", action="append", default=None, metavar="NAME",
                   help="only this port (repeat for more)")
    p.add_argument("--build", action="append", default=[], choices=("torch", "tf"),
                   help="build this ports' venv first where it is missing (needs the "
                        "package registry once)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the table as JSON")
    p.add_argument("--expect", default=None, metavar="FILE",
                   help="compare with an expectations file; exit 1 where a cell changed")
    p.add_argument("--write-expect", default=None, metavar="FILE",
                   help="write the table's cells into an expectations file (the "
                        "other models' entries in it are kept)")
    p.set_defaults(func=run)


def run(args):
    import sys

    from .. import conformance
    from ..conformance import table as tables

    from ..fileio import check_output
    for out in (args.json, args.write_expect):
        if out:
            check_output(out, [p for p in (args.weights, args.prior, args.reference) if p])
    expected = tables.read_expectations(args.expect) if args.expect else None

    def log(text):
        print("conformance: %s" % text, file=sys.stderr)

    result = conformance.measure(args.weights, args.prior, args.reference, args.ports,
                                 args.build, progress=log,
                                 log=log)
    print(tables.render(result))
    if args.json:
        tables.write_json(args.json, result)
    if args.write_expect:
        import os
        keep = (tables.read_expectations(args.write_expect)
                if os.path.exists(args.write_expect) else None)
        tables.write_expectations(args.write_expect, result, keep)
    if expected is not None:
        changed = tables.changes(result, expected)
        for line in changed:
            print("changed: %s" % line)
        return 1 if changed else 0
    return 0
