"""``serve``: the 2015 Twitch stream as a local page: visitors type what the
network should dream of, and watch it zoom into its hallucination
(:mod:`reproduce.stream.server` serves it)."""
import os

from .. import paths
from ..checks import Rule
from ._options import RAW, add_stream_arguments, stream_job, typed


EPILOG = """examples:
  %(prog)s                     # http://127.0.0.1:8025/
  %(prog)s --weights weights/vgg16.h5 --prior lsd2015
  %(prog)s --classes volcano --hold 20 --set steps_per_zoom=5
  %(prog)s --recipe lsd2015 --classes volcano
  %(prog)s --backend torch --weights weights/vgg16.h5 \\
      --size 840x472 --stream-size 1024x576     # the 2015 stream, on a GPU

The first start compiles the optimiser step (about a minute on 2 cores);
later starts reuse Theano's cache.  Without --recipe, the embedded
EfficientNet-Lite0 runs fourier-zoom (recognisable pictures; the 2015 recipe
paints texture on that net) and a VGG runs lsd2015: the 2015 look needs
VGG-16 (""" + paths.shown(paths.VGG16) + ", a download: " + paths.how_to_make("vgg16") + ").\n"


def register(sub):
    p = sub.add_parser("serve", help="a local page: the live zooming stream, "
                       "with a box to request what it dreams",
                       epilog=EPILOG, formatter_class=RAW)
    add_stream_arguments(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default %(default)s: this machine only)")
    p.add_argument("--port", type=typed(Rule(int, low=0, high=65535)), default=8025, help="default %(default)s")
    p.add_argument("--queue", type=typed(Rule(int, low=1, high=1000)), default=8, metavar="N",
                   help="requests that may wait (default %(default)s)")
    p.add_argument("--max-clients", type=typed(Rule(int, low=1, high=1000)), default=16,
                   help="viewers at once (default %(default)s)")
    p.add_argument("--client-timeout", type=typed(Rule(float, above=0, high=3600)), default=10.0, metavar="SECONDS",
                   help="drop a viewer that reads nothing for this long")
    p.add_argument("--fixed-pace", action="store_true",
                   help="zoom each key frame by frames_per_key frames even when the "
                        "optimiser is slower (it then pauses on the last frame); "
                        "default: the 2015 rule, 250 frames for the first key frame, "
                        "then fps over the smoothed key-frame rate")
    p.add_argument("--requests", choices=("queue", "2015"), default="queue",
                   help="which request shows next: queue (first come, first served; "
                        "default) or 2015 (one drawn at random from the latest 100 "
                        "when the hold ends, as the 2015 chat reader did)")
    p.add_argument("--threads", type=typed(Rule(int, low=1, high=256)), default=None,
                   help="BLAS threads for the optimiser (default: cores - 1)")
    p.add_argument("--verbose", action="store_true", help="log every HTTP request")
    p.set_defaults(func=run)


def describe(job, setup):
    """What the page says it runs: recipe, weights, backend, size."""
    weights = os.path.basename(str(job.weights))
    note = ("the 2015 recipe on VGG-16: the 2015 look" if job.recipe == "lsd2015"
            and "vgg" in weights.lower() else
            "the 2015 look needs VGG-16 (%s, %s) and --recipe lsd2015"
            % (paths.shown(paths.VGG16), paths.how_to_make("vgg16")))
    return {"recipe": job.recipe, "weights": weights, "backend": job.backend,
            "image_size": list(setup.profile.image_size), "note": note}


def run(args):
    from ..stream.requests import HOLD_SECONDS_2015
    from ..stream.keyframes import LiveStream, WorkerError
    from ..errors import UserError
    from ..stream.server import make_server
    from ..stream.setup import prepare
    job = stream_job(args)
    setup = prepare(job)
    stream = LiveStream(job, setup.profile, setup.image, setup.parser, setup.start,
                        hold_seconds=HOLD_SECONDS_2015 if job.hold is None else job.hold,
                        max_waiting=args.queue, adaptive=not args.fixed_pace,
                        threads=args.threads, policy=args.requests, seed=job.seed,
                        about=describe(job, setup))
    server = make_server(stream, args.host, args.port, max_clients=args.max_clients,
                         client_timeout=args.client_timeout, verbose=args.verbose)
    # Serve at once: the page says "starting" while the step compiles.
    server.start()
    print("compiling the optimiser (%s on %s, %s) at %dx%d (first run: about a "
          "minute); the page is at %s" % (job.recipe, os.path.basename(str(job.weights)),
                                          job.backend, *setup.profile.image_size,
                                          server.url()), flush=True)
    try:
        try:
            stream.start()
        except WorkerError as exc:
            raise UserError(str(exc))
        print("dreaming of %s; open %s  (Ctrl-C stops)"
              % (setup.start.overlay, server.url()), flush=True)
        # Until Ctrl-C or SIGTERM (status 130, as every command); the
        # watchdog restarts the optimiser if it dies or stalls, and gives
        # up only after repeated failed restarts.
        while not stream.wait_failed(1.0):
            pass
        raise UserError(stream.failed)
    except KeyboardInterrupt:
        pass  # the way it ends
    finally:
        stream.stop()   # the optimiser ended and reaped, whatever state it was in
        server.stop()
    print("stopped", flush=True)
    return 130
