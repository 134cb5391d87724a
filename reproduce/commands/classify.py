"""``classify IMAGE [--weights W.h5]``: the top classes of an image."""
import json

from .. import paths
from ..checks import Rule
from ._options import typed


def register(sub):
    p = sub.add_parser("classify", help="print the top classes of an image")
    p.add_argument("image")
    p.add_argument("--weights", default=paths.EMBEDDED_CLASSIFIER,
                   help="our HDF5 classifier (default %s)" % paths.shown(paths.EMBEDDED_CLASSIFIER))
    p.add_argument("--size", default="model", choices=("model", "native"),
                   help="model (default): the model's own view, shorter side resized "
                        "and the centre cropped to its training size; native: the "
                        "whole photo at its own size, logit map averaged")
    p.add_argument("--top", type=typed(Rule(int, low=1, high=100000)), default=5)
    p.add_argument("--max-memory", default=None, metavar="SIZE",
                   help="refuse images whose pass needs more (e.g. 4G; default: the "
                        "memory available)")
    p.add_argument("--json", action="store_true",
                   help='print {"top": [[index, description, score]], "logits": [...]}')
    p.set_defaults(func=run)


def run(args):
    from ..errors import UserError
    from ..nets.classify import Classifier
    from ..nets.memory import parse_bytes
    from ..nets.weights import load_model

    if args.top < 1:
        raise UserError("--top %d: give a positive number of classes" % args.top)
    limit = parse_bytes(args.max_memory) if args.max_memory else None
    classifier = Classifier(load_model(args.weights))
    image = classifier.load(args.image, args.size, limit)
    logits = classifier.logits(image)
    top = [list(t) for t in classifier.top(logits, args.top)]
    if args.json:
        print(json.dumps({"top": top, "logits": [float(v) for v in logits]}))
    else:
        for index, description, score in top:
            print("%8.3f  %4d  %s" % (score, index, description))
