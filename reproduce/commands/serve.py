"""``serve``: the 2015 Twitch stream as a local page: visitors type what the
network should dream of, and watch it zoom into its hallucination
(:mod:`reproduce.stream.server` serves it)."""
import dataclasses
import os

from .dream import add_prior_arguments

EPILOG = """examples:
  python -m reproduce serve                     # http://127.0.0.1:8025/
  python -m reproduce serve --weights weights/vgg16.h5 --prior lsd2015
  python -m reproduce serve --classes volcano --hold 20 --set steps_per_zoom=5

The first start compiles the optimiser step (about a minute on 2 cores);
later starts reuse Theano's cache.  With the embedded EfficientNet-Lite0
the 2015 recipe paints textures rather than recognisable objects; pass
--weights weights/vgg16.h5 (`make weights`) for the 2015 look.
"""

DEFAULT_WEIGHTS = "weights/efficientnet_lite0.h5"
DEFAULT_SIZE = (336, 192)


# ---------------------------------------------------------------- options

def parse_size(text):
    """"336x192" -> (336, 192); UserError otherwise."""
    from ..errors import UserError
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError("size %r: expected WIDTHxHEIGHT, e.g. 336x192" % text)
    if not (8 <= width <= 4096 and 8 <= height <= 4096):
        raise UserError("size %r: width and height must be 8 to 4096 pixels" % text)
    return width, height


def add_stream_arguments(p):
    """Options that ``serve`` and ``stream`` share."""
    p.add_argument("--weights", default=DEFAULT_WEIGHTS,
                   help="our HDF5 classifier (default %(default)s, the offline "
                        "EfficientNet-Lite0; weights/vgg16.h5 for the 2015 net)")
    p.add_argument("--size", default="%dx%d" % DEFAULT_SIZE, metavar="WxH",
                   help="size of the optimised image (default %(default)s; the "
                        "2015 stream optimised 840x472 on a GPU)")
    p.add_argument("--stream-size", default=None, metavar="WxH",
                   help="size of the stream frames (default: --size; 2015: 1024x576)")
    p.add_argument("--classes", action="append", default=[], metavar="NAME",
                   help="what to dream of first (give twice: the first goes to "
                        "the lower half); default: a class drawn with --seed, "
                        "as 2015 drew one at random")
    p.add_argument("--profile", default="stream2015", help="default %(default)s")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a profile setting, e.g. --set steps_per_zoom=5")
    add_prior_arguments(p)
    p.add_argument("--start", default=None,
                   help="start image (default: the 2015 one if found, else "
                        "seeded grey noise), resized to --size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hold", type=float, default=None, metavar="SECONDS",
                   help="how long each request holds before the next one "
                        "(serve: default 60, the 2015 hold_subject_seconds)")


@dataclasses.dataclass
class Setup:
    """Everything a stream needs, checked before anything starts."""
    weights: str
    descriptions: list
    profile: object
    prior: object
    image: object       # (H, W, 3) float32, 0..255
    parser: object      # requests.RequestParser
    start: object       # requests.Request


def prepare(args):
    """Options -> :class:`Setup`; every mistake is one UserError line."""
    import numpy as np

    from ..nets.classes import find_class
    from ..errors import UserError
    from ..pipeline import load_prior_option, start_image
    from ..lsd2015.profiles import get_profile
    from ..stream.requests import RequestParser, request_for
    from ..stream.keyframes import stream_profile
    from ..nets.weights import load_model

    if args.weights == DEFAULT_WEIGHTS and not os.path.exists(args.weights):
        raise UserError("%s: not found; make it with `make weights-embedded` (or "
                        "`python -m reproduce convert-embedded --dest weights/`), "
                        "or pass --weights" % args.weights)
    size = parse_size(args.size)
    stream_size = parse_size(args.stream_size) if args.stream_size else size
    if len(args.classes) > 2:
        raise UserError("--classes given %d times; at most 2 (lower and upper half)"
                        % len(args.classes))
    model = load_model(args.weights)
    if not model.has_classes:
        raise UserError("%s has no classes (a feature extractor); the stream needs a "
                        "classifier such as %s" % (args.weights, DEFAULT_WEIGHTS))
    profile = stream_profile(get_profile(args.profile, args.set), model, size,
                             stream_size)
    if not profile.steps_per_zoom or profile.fps < 1 or profile.frames_per_key < 1:
        raise UserError("a stream needs steps_per_zoom, fps and frames_per_key >= 1")
    descriptions = list(model.descriptions)
    del model  # the optimiser process loads its own copy
    classes = [find_class(name, descriptions) for name in args.classes]
    if not classes:
        classes = [int(np.random.RandomState(args.seed).randint(len(descriptions)))]
    image, profile = start_image(profile, args.start, args.prior_dir, args.seed,
                                 explicit_size=True)
    prior = load_prior_option(args.prior, args.prior_dir)
    return Setup(args.weights, descriptions, profile, prior, image,
                 RequestParser(descriptions), request_for(classes, descriptions))


# ---------------------------------------------------------------- command

def register(sub):
    import argparse
    p = sub.add_parser("serve", help="a local page: the live zooming stream, "
                       "with a box to request what it dreams",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_stream_arguments(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s: this machine only)")
    p.add_argument("--port", type=int, default=8025, help="default %(default)s")
    p.add_argument("--queue", type=int, default=8, metavar="N",
                   help="requests that may wait (default %(default)s)")
    p.add_argument("--max-clients", type=int, default=16,
                   help="viewers at once (default %(default)s)")
    p.add_argument("--client-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="drop a viewer that reads nothing for this long")
    p.add_argument("--fixed-pace", action="store_true",
                   help="zoom each key frame by frames_per_key frames even when the "
                        "optimiser is slower (it then pauses on the last frame); "
                        "default: adapt, as 2015 did")
    p.add_argument("--threads", type=int, default=None,
                   help="BLAS threads for the optimiser (default: cores - 1)")
    p.add_argument("--verbose", action="store_true", help="log every HTTP request")
    p.set_defaults(func=run)


def run(args):
    from ..stream.requests import HOLD_SECONDS_2015
    from ..stream.keyframes import LiveStream, WorkerError
    from ..errors import UserError
    from ..stream.server import make_server
    setup = prepare(args)
    stream = LiveStream(setup.weights, setup.profile, setup.prior, setup.image,
                        setup.parser, setup.start,
                        hold_seconds=HOLD_SECONDS_2015 if args.hold is None else args.hold,
                        max_waiting=args.queue, adaptive=not args.fixed_pace,
                        threads=args.threads)
    server = make_server(stream, args.host, args.port, max_clients=args.max_clients,
                         client_timeout=args.client_timeout, verbose=args.verbose)
    # Serve at once: the page says "starting" while the step compiles.
    server.start()
    print("compiling the optimiser for %s at %dx%d (first run: about a minute); "
          "the page is at %s" % (os.path.basename(setup.weights),
                                 *setup.profile.image_size, server.url()), flush=True)
    try:
        try:
            stream.start()
        except WorkerError as exc:
            raise UserError(str(exc))
        print("dreaming of %s; open %s  (Ctrl-C stops)"
              % (setup.start.overlay, server.url()), flush=True)
        while stream.worker.alive:  # until Ctrl-C, or the optimiser dies
            stream.worker.wait(1.0)
        if stream.worker.error:
            raise UserError(stream.worker.error)
        raise UserError("the optimiser process ended unexpectedly (exit code %s)"
                        % stream.worker.exitcode)
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.stop()
        stream.stop()
    return 0
