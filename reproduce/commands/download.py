"""``download vgg16|vgg19``: fetch MatConvNet's VGG weights (resumable,
checked) and convert them (:mod:`reproduce.convert.download`)."""
import sys

from .. import paths


def register(sub):
    from ..convert.download import DIGESTS
    p = sub.add_parser("download", help="download a MatConvNet VGG model, verify it, "
                                        "and convert it into our HDF5 weights "
                                        "(DEST/<model>.h5)")
    p.add_argument("model", choices=sorted(DIGESTS))
    p.add_argument("--dest", default=paths.WEIGHTS_DIR,
                   help="folder (default: %s)" % paths.shown(paths.WEIGHTS_DIR))
    p.add_argument("--url", help="download from here instead (a mirror)")
    p.add_argument("--sha256", help="check the file against this digest "
                                    "(replaces the published-MD5 check)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..convert.download import download_and_convert
    try:
        download_and_convert(args.model, args.dest, args.url, args.sha256,
                             progress=not args.no_progress)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
