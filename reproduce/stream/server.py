"""The live page's HTTP server: the stream as MJPEG
(``multipart/x-mixed-replace``), requests posted as JSON.  Routes:

    GET  /             the page (``web/index.html``)
    GET  /stream.mjpg  the live stream, 25 frames a second
    GET  /frame.jpg    the latest frame
    GET  /status       JSON: what it dreams of now, the queue, frame counters
    POST /request      {"text": "..."} -> JSON reply (status acknowledged,
                       unknown with close matches, busy, or error)

Slow clients cost no thread.  One selector thread accepts every connection
and reads its whole request (headers and body, non-blocking) under a
deadline of ``header_seconds``; a connection that has not sent it by then
is closed (slowloris), and when ``max_connections`` are still being read
the oldest is closed to let a new one in.  A complete request goes to a
few worker threads that compute the reply into memory; the selector
thread then writes it out, non-blocking, and drops a client that does not
read it within ``client_timeout`` seconds.  So idle, slow and non-reading
clients never hold the workers that serve /, /status and /request.  Only
a stream viewer gets a thread of its own, at most ``max_clients`` of them;
it gets the latest frame (a slow one skips frames) and is dropped after
``client_timeout`` seconds without reading.  Bodies are capped at
:data:`MAX_BODY` bytes, headers at :data:`MAX_HEAD`, JSON nesting at
:data:`fileio.JSON_DEPTH`, and one client's waiting requests at half the queue
(:class:`~reproduce.stream.requests.RequestBoard`).
"""
import collections
import io
import ipaddress
import json
import queue
import selectors
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from ..errors import UserError
from ..fileio import JSON_DEPTH, json_depth
from ..paths import STREAM_PAGE as PAGE

MAX_BODY = 4096
MAX_HEAD = 8192           # request line and headers
HEADER_SECONDS = 3.0      # a connection must have sent its whole request by then
TOO_LONG = (b"HTTP/1.0 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 32\r\n\r\nrequest line or headers too long")
WORKERS = 4               # threads computing replies for /, /status, /request
BOUNDARY = b"frame"
STREAM_SNDBUF = 64 * 1024  # bytes of kernel send buffer per viewer (Linux doubles it)


class StreamHandler(BaseHTTPRequestHandler):
    """One connection.  ``self.server`` is a :class:`DreamServer`."""
    server_version = "reproduce-stream/1"
    protocol_version = "HTTP/1.0"  # one request per connection: simple and bounded

    def setup(self):
        # the request was read by the selector; the reply goes to the live
        # socket (stream viewers) or into memory, which the selector writes
        self.connection = self.request.sock
        self.rfile = io.BytesIO(self.request.data)
        self.wfile = (socketserver._SocketWriter(self.connection) if self.request.live
                      else io.BytesIO())

    def finish(self):
        pass  # the selector or the viewer thread closes the socket

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
        self._json(200, self.server.stream.submit(text, client=self.client_address[0]))

    # -- helpers
    def _text(self, body):
        """The request text from a JSON, form or plain body; None if malformed."""
        kind = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        body = body.decode("utf-8", errors="replace")
        if kind == "application/json":
            if json_depth(body) > JSON_DEPTH:
                return None  # json.loads would recurse without end (RecursionError)
            try:
                value = json.loads(body)
            except (ValueError, RecursionError):
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


class _Request:
    """What a handler reads and where it writes: the bytes the selector read,
    and the live socket (stream viewers) or a buffer (every other route)."""

    def __init__(self, sock, data, live):
        self.sock, self.data, self.live = sock, data, live


class _Connection:
    """A socket the selector thread owns: reading its request or writing its reply."""

    def __init__(self, sock, address, deadline):
        self.sock, self.address, self.deadline = sock, address, deadline
        self.data, self.out, self.writing = b"", b"", False


class DreamServer:
    """The HTTP server of a :class:`~reproduce.stream.keyframes.LiveStream`."""

    def __init__(self, address, stream, max_clients=16, client_timeout=10.0,
                 max_connections=256, verbose=False, header_seconds=HEADER_SECONDS,
                 workers=WORKERS):
        self.stream, self.max_clients = stream, int(max_clients)
        self.max_connections = max(int(max_connections), 1)
        self.client_timeout, self.verbose = float(client_timeout), verbose
        self.header_seconds, self.n_workers = float(header_seconds), int(workers)
        with open(PAGE, "rb") as f:
            self.page = f.read()
        self.clients = self.connections = self.peak_connections = 0
        self.dropped_slow = 0          # connections closed for not sending a request
        self.closing = False
        self._clients_lock = threading.Lock()
        self._threads = []
        self._work = queue.Queue()
        self._replies = queue.Queue()  # (connection, bytes) from the workers
        self._open = collections.OrderedDict()  # socket -> _Connection, oldest first
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(128)
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.socket, selectors.EVENT_READ, "accept")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")

    # -- the selector thread
    def _loop(self):
        while not self.closing:
            for key, mask in self._selector.select(timeout=0.1):
                if key.data == "accept":
                    self._accept()
                elif key.data == "wake":
                    self._drain_wake()
                elif mask & selectors.EVENT_WRITE:
                    self._write(key.data)
                else:
                    self._read(key.data)
            self._take_replies()
            self._expire()

    def _accept(self):
        for _ in range(64):  # a burst at most per turn: the others wait in the backlog
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. out of file descriptors: the backlog keeps them
            sock.setblocking(False)
            reading = [c for c in self._open.values() if not c.writing]
            if len(reading) >= self.max_connections:
                self.dropped_slow += 1
                self._close(reading[0])  # the oldest unfinished request makes room
            conn = _Connection(sock, address, time.monotonic() + self.header_seconds)
            self._open[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)
            with self._clients_lock:
                self.connections += 1
                self.peak_connections = max(self.peak_connections, self.connections)

    def _read(self, conn):
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            return self._close(conn)
        conn.data += chunk
        complete = request_complete(conn.data)
        if complete is None:
            return
        self._selector.unregister(conn.sock)
        del self._open[conn.sock]
        if complete is False:  # never complete: answered here, no worker needed
            self._replies.put((conn, TOO_LONG))
        elif is_stream_request(conn.data) and self.clients < self.max_clients:
            thread = threading.Thread(target=self._serve_stream, args=(conn,),
                                      name="viewer", daemon=True)
            thread.start()
        else:
            self._work.put(conn)

    def _write(self, conn):
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._close(conn)
        conn.out = conn.out[sent:]
        if not conn.out:
            self._close(conn)

    def _take_replies(self):
        while True:
            try:
                conn, out = self._replies.get_nowait()
            except queue.Empty:
                return
            if self.closing or not out:
                self._close(conn, registered=False)
                continue
            conn.out, conn.writing = out, True
            conn.deadline = time.monotonic() + self.client_timeout
            self._open[conn.sock] = conn
            self._selector.register(conn.sock, selectors.EVENT_WRITE, conn)

    def _expire(self):
        now = time.monotonic()
        for conn in [c for c in self._open.values() if c.deadline < now]:
            if not conn.writing:
                self.dropped_slow += 1
            self._close(conn)

    def _close(self, conn, registered=True):
        if registered and self._open.pop(conn.sock, None) is not None:
            self._selector.unregister(conn.sock)
        try:
            conn.sock.close()
        except OSError:
            pass
        with self._clients_lock:
            self.connections -= 1

    def _wake(self):
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _drain_wake(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass

    # -- the handlers
    def _work_loop(self):
        while True:
            conn = self._work.get()
            if conn is None:
                return
            request = _Request(conn.sock, conn.data, live=False)
            try:
                handler = StreamHandler(request, conn.address, self)
                out = handler.wfile.getvalue()
            except Exception:  # noqa: BLE001  reported by handle_error, never raised
                self.handle_error(request, conn.address)
                out = b""
            self._replies.put((conn, out))
            self._wake()

    def _serve_stream(self, conn):
        """A viewer's own thread: a blocking socket, writes time out."""
        try:
            conn.sock.setblocking(True)
            conn.sock.settimeout(self.client_timeout)
            StreamHandler(_Request(conn.sock, conn.data, live=True), conn.address, self)
        except Exception:  # noqa: BLE001
            self.handle_error(None, conn.address)
        finally:
            self._close(conn, registered=False)

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

    # -- life
    def start(self):
        """Serve in background threads; returns self."""
        self._threads = [threading.Thread(target=self._loop, name="http", daemon=True)]
        self._threads += [threading.Thread(target=self._work_loop, name="http-worker",
                                           daemon=True) for _ in range(self.n_workers)]
        for thread in self._threads:
            thread.start()
        return self

    def url(self):
        host, port = self.server_address[:2]
        return "http://%s:%d/" % (host, port)

    def stop(self):
        """Stop serving (stream viewers leave within a second) and close the sockets."""
        self.closing = True
        self._wake()
        for _ in range(self.n_workers):
            self._work.put(None)
        for thread in self._threads:
            thread.join(5.0)
        self._threads = []
        for conn in list(self._open.values()):
            self._close(conn)
        while True:  # replies and requests nobody will send now
            try:
                conn = self._replies.get_nowait()[0]
            except queue.Empty:
                break
            self._close(conn, registered=False)
        self._selector.close()
        for sock in (self.socket, self._wake_r, self._wake_w):
            sock.close()


def request_complete(data):
    """True when ``data`` holds a whole request (headers and Content-Length
    body), None while it does not yet, False when it never will (too long:
    the handler then answers 413/431)."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or end > MAX_HEAD:  # the limit holds however the request arrives
        return False if len(data) > MAX_HEAD else None
    length = 0
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return True  # the handler answers 411
    if not 0 <= length <= MAX_BODY:
        return True  # the handler answers 413 without the body
    return True if len(data) >= end + 4 + length else None


def is_stream_request(data):
    line = data.split(b"\r\n", 1)[0].split()
    return len(line) >= 2 and line[0] == b"GET" and line[1].split(b"?")[0] == b"/stream.mjpg"


def is_loopback(host):
    """Whether binding ``host`` serves this machine only."""
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)
                                    if ":" not in host else host).is_loopback
    except (OSError, ValueError):
        return False


def make_server(stream, host="127.0.0.1", port=8025, **options):
    """Bind a :class:`DreamServer` (port 0: any free port); UserError if it
    cannot.  Warns on stderr when ``host`` reaches beyond this machine."""
    if not is_loopback(host):
        print("warning: --host %s serves the stream and takes requests from the "
              "network, unauthenticated; use 127.0.0.1 unless that is what you want"
              % host, file=sys.stderr)
    try:
        return DreamServer((host, port), stream, **options)
    except (OSError, OverflowError) as exc:
        raise UserError("cannot listen on %s:%s (%s); pass another --port or --host"
                        % (host, port, getattr(exc, "strerror", None) or exc))
