"""``serve``: the 2015 Twitch stream as a local page: visitors type what the
network should dream of, and watch it zoom into its hallucination.

The page (``reproduce/web/index.html``) shows the stream as MJPEG
(``multipart/x-mixed-replace``) and posts requests as JSON.  Routes:

    GET  /             the page
    GET  /stream.mjpg  the live stream, 25 frames a second
    GET  /frame.jpg    the latest frame
    GET  /status       JSON: what it dreams of now, the queue, frame counters
    POST /request      {"text": "..."} -> JSON reply (status acknowledged,
                       unknown with close matches, busy, or error)

Every client has a bounded cost: a stream client gets the latest frame
(a slow one skips frames), a client that stops reading is dropped after
``--client-timeout`` seconds, at most ``--max-clients`` stream at once,
request bodies are capped at :data:`MAX_BODY` bytes.
"""
import dataclasses
import json
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

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
MAX_BODY = 4096
PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "web", "index.html")
BOUNDARY = b"frame"
STREAM_SNDBUF = 64 * 1024  # bytes of kernel send buffer per viewer (Linux doubles it)


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

    from ..classes import find_class
    from ..errors import UserError
    from ..pipeline import load_prior_option, start_image
    from ..profiles import get_profile
    from ..requests import RequestParser, request_for
    from ..stream import stream_profile
    from ..weights import load_model

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


# ---------------------------------------------------------------- HTTP

class StreamHandler(BaseHTTPRequestHandler):
    """One connection.  ``self.server`` is a :class:`DreamServer`."""
    server_version = "reproduce-stream/1"
    protocol_version = "HTTP/1.0"  # one request per connection: simple and bounded

    def setup(self):
        self.timeout = self.server.client_timeout  # reads and writes
        super().setup()

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    # -- routes
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, self.server.page, "text/html; charset=utf-8")
        elif path == "/stream.mjpg":
            self._stream()
        elif path == "/frame.jpg":
            _, jpeg = self.server.stream.broadcast.latest()
            if jpeg is None:
                self._json(503, {"status": "error", "message": "no frame yet"})
            else:
                self._send(200, jpeg, "image/jpeg")
        elif path == "/status":
            status = self.server.stream.status()
            status.update(clients=self.server.clients,
                          connections=self.server.connections)
            self._json(200, status)
        else:
            self._json(404, {"status": "error", "message": "no such page: %s"
                             % path[:100]})

    def do_POST(self):
        if self.path.split("?", 1)[0] != "/request":
            return self._json(404, {"status": "error", "message": "POST /request only"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._json(411, {"status": "error", "message": "Content-Length needed"})
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            return self._json(413, {"status": "error", "message":
                                    "request body over %d bytes" % MAX_BODY})
        text = self._text(self.rfile.read(length))
        if text is None:
            return self._json(400, {"status": "error", "message":
                                    'send JSON {"text": "..."} or a form field text'})
        self._json(200, self.server.stream.submit(text))

    # -- helpers
    def _text(self, body):
        """The request text from a JSON, form or plain body; None if malformed."""
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = body.decode("utf-8", errors="replace")
        if kind == "application/json":
            try:
                value = json.loads(body)
            except ValueError:
                return None
            value = value.get("text") if isinstance(value, dict) else None
            return value if isinstance(value, str) else None
        if kind == "application/x-www-form-urlencoded":
            return (parse_qs(body).get("text") or [""])[0]
        return body

    def _send(self, code, body, kind):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code, value):
        self._send(code, json.dumps(value).encode("utf-8"), "application/json")

    def _stream(self):
        """MJPEG: each new frame as one part, until the client goes or we stop."""
        if not self.server.enter_client():
            return self._json(503, {"status": "busy", "message": "too many viewers"})
        try:
            # A small kernel buffer: a viewer that stops reading fills it
            # within a second and is dropped after client_timeout seconds.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=%s"
                             % BOUNDARY.decode())
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            broadcast, seq = self.server.stream.broadcast, 0
            while not broadcast.closed and not self.server.closing:
                seq, jpeg = broadcast.wait(seq, timeout=1.0)
                if jpeg is None:
                    continue
                self.wfile.write(b"--%s\r\nContent-Type: image/jpeg\r\n"
                                 b"Content-Length: %d\r\n\r\n%s\r\n"
                                 % (BOUNDARY, len(jpeg), jpeg))
        except (OSError, socket.timeout):
            pass  # the client left, or stopped reading for client_timeout seconds
        finally:
            self.server.leave_client()


class DreamServer(ThreadingHTTPServer):
    """The HTTP server of a :class:`~reproduce.stream.LiveStream`."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, stream, max_clients=16, client_timeout=10.0,
                 max_connections=64, verbose=False):
        self.stream, self.max_clients = stream, int(max_clients)
        self.max_connections = max(int(max_connections), self.max_clients + 1)
        self.client_timeout, self.verbose = float(client_timeout), verbose
        with open(PAGE, "rb") as f:
            self.page = f.read()
        self.clients = self.connections = self.peak_connections = 0
        self.closing = False
        self._clients_lock = threading.Lock()
        super().__init__(address, StreamHandler)

    # One thread per connection, at most max_connections at once: beyond
    # that a connection is closed at once (each lasts at most client_timeout
    # seconds idle, so the slots come back).
    def process_request(self, request, client_address):
        with self._clients_lock:
            if self.connections >= self.max_connections:
                self.shutdown_request(request)
                return
            self.connections += 1
            self.peak_connections = max(self.peak_connections, self.connections)
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self):
        with self._clients_lock:
            self.connections -= 1

    def enter_client(self):
        with self._clients_lock:
            if self.clients >= self.max_clients:
                return False
            self.clients += 1
            return True

    def leave_client(self):
        with self._clients_lock:
            self.clients -= 1

    def handle_error(self, request, client_address):
        """A client's misbehaviour never reaches the console as a traceback."""
        import sys
        exc = sys.exc_info()[1]
        if self.verbose or not isinstance(exc, (OSError, ValueError)):
            print("warning: %s from %s: %s" % (type(exc).__name__, client_address[0],
                                                exc), file=sys.stderr)

    def start(self):
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(target=self.serve_forever,
                                        kwargs={"poll_interval": 0.2},
                                        name="http", daemon=True)
        self._thread.start()
        return self

    def url(self):
        host, port = self.server_address[:2]
        return "http://%s:%d/" % (host, port)

    def stop(self):
        """Stop serving (stream clients leave within a second) and close the socket."""
        self.closing = True
        if getattr(self, "_thread", None) is not None:
            self.shutdown()
            self._thread.join(5.0)
            self._thread = None
        self.server_close()


def make_server(stream, host="127.0.0.1", port=8025, **options):
    """Bind a :class:`DreamServer` (port 0: any free port); UserError if it cannot."""
    from ..errors import UserError
    try:
        return DreamServer((host, port), stream, **options)
    except OSError as exc:
        raise UserError("cannot listen on %s:%d (%s); pass another --port or --host"
                        % (host, port, exc.strerror or exc))


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
    from ..requests import HOLD_SECONDS_2015
    from ..stream import LiveStream, WorkerError
    from ..errors import UserError
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
