"""``classify IMAGE --weights W.h5``: the top classes of an image at its own size."""
import json


def register(sub):
    p = sub.add_parser("classify", help="print the top classes of an image")
    p.add_argument("image")
    p.add_argument("--weights", required=True, help="our HDF5 weights file")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true",
                   help='print {"top": [[index, description, score]], "logits": [...]}')
    p.set_defaults(func=run)


def run(args):
    from ..nets.classify import Classifier
    from ..fileio import load_image
    from ..nets.weights import load_model

    model = load_model(args.weights)
    image = load_image(args.image)
    classifier = Classifier(model)
    logits = classifier.logits(image)
    top = [list(t) for t in classifier.top(logits, args.top)]
    if args.json:
        print(json.dumps({"top": top, "logits": [float(v) for v in logits]}))
    else:
        for index, description, score in top:
            print("%8.3f  %4d  %s" % (score, index, description))
