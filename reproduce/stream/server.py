"""The live page's HTTP server: the stream as MJPEG
(``multipart/x-mixed-replace``), requests posted as JSON.  Routes:

    GET  /             the page (``web/index.html``)
    GET  /stream.mjpg  the live stream, 25 frames a second
    GET  /frame.jpg    the latest frame
    GET  /status       JSON: what it dreams of now, the queue, frame counters
    POST /request      {"text": "..."} -> JSON reply (status acknowledged,
                       unknown with close matches, busy, or error)

Every client has a bounded cost: a stream client gets the latest frame
(a slow one skips frames), a client that stops reading is dropped after
``client_timeout`` seconds, at most ``max_clients`` stream at once,
request bodies are capped at :data:`MAX_BODY` bytes.
"""
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from ..errors import UserError
from ..paths import STREAM_PAGE as PAGE

MAX_BODY = 4096
BOUNDARY = b"frame"
STREAM_SNDBUF = 64 * 1024  # bytes of kernel send buffer per viewer (Linux doubles it)


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
    """The HTTP server of a :class:`~reproduce.stream.keyframes.LiveStream`."""
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
    try:
        return DreamServer((host, port), stream, **options)
    except OSError as exc:
        raise UserError("cannot listen on %s:%d (%s); pass another --port or --host"
                        % (host, port, exc.strerror or exc))
