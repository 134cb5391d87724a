"""``python -m bench [SECTION ...]``: run the named bench sections, or all of them.

``python -m bench SECTION --option ...``: one section, the options passed to
it (``python -m bench stream --repeats 2``)."""
import argparse
import importlib
import os
import sys

from reproduce import blas

# (name, module): each module has main(argv=None) and prints its own report
SECTIONS = [
    ("foundation", "bench.bench_foundation"),
    ("stream", "bench.bench_stream"),
    ("race", "bench.bench_race"),
    ("fourier", "bench.bench_fourier"),
    ("caffe", "bench.bench_caffe"),
    ("atlas", "bench.bench_atlas"),
    ("winograd", "bench.bench_winograd"),
    ("precision", "bench.bench_precision"),
    ("requests", "bench.bench_requests"),
]


def main(argv=None):
    names = [name for name, _ in SECTIONS]
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help="any of: %s (default: all)" % ", ".join(names))
    args, passed = parser.parse_known_args(argv)
    if passed and len(args.sections) != 1:
        parser.error("options (%s) go to one section: name exactly one" % " ".join(passed))
    unknown = sorted(set(args.sections) - set(names))
    if unknown:
        parser.error("unknown section(s) %s; choose from %s"
                     % (", ".join(unknown), ", ".join(names)))
    for name, module in SECTIONS:
        if not args.sections or name in args.sections:
            print("== %s: %s; load %s" % (name, blas.describe(), " ".join(
                "%.2f" % v for v in os.getloadavg())), flush=True)
            importlib.import_module(module).main(passed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
