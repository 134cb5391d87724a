"""``download vgg16|vgg19|googlenet|places205``: fetch MatConvNet's VGG
weights (:mod:`reproduce.convert.download`) or Caffe's GoogLeNets
(:mod:`reproduce.convert.caffe_zoo`), resumable and checked, and convert them."""
import sys

from .. import paths


def register(sub):
    from ..convert.caffe_zoo import ZOO
    from ..convert.download import DIGESTS
    p = sub.add_parser("download", help="download a MatConvNet VGG model or a Caffe "
                                        "GoogLeNet, verify it, and convert it into our "
                                        "HDF5 weights (DEST/<model>.h5)")
    p.add_argument("model", choices=sorted(DIGESTS) + sorted(ZOO))
    p.add_argument("--dest", default=paths.WEIGHTS_DIR,
                   help="folder (default: %s)" % paths.shown(paths.WEIGHTS_DIR))
    p.add_argument("--url", help="download from here instead (a mirror; for a "
                                 "GoogLeNet: a folder URL holding its files)")
    p.add_argument("--sha256", help="check the file (a GoogLeNet's caffemodel or "
                                    "archive) against this digest (replaces the "
                                    "published MD5 or SHA-1 check)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..convert import caffe_zoo, download
    from ..fileio import check_output_dir
    check_output_dir(args.dest, option="--dest")
    if args.url:
        download.check_url(args.url)
    convert = (caffe_zoo.download_and_convert if args.model in caffe_zoo.ZOO
               else download.download_and_convert)
    try:
        convert(args.model, args.dest, args.url, args.sha256,
                progress=not args.no_progress)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
