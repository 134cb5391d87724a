"""The live stream and its server: queue, pacing, and robustness on loopback.

One server runs for the module, in this process, on an ephemeral port of
127.0.0.1, with the real optimiser process on the tiny VGG at 64x64 (no
prior).  Every loop is bounded in count and time; waits poll a condition.
"""
import http.client
import json
import socket
import struct
import threading
import time

import numpy as np
import pytest

from reproduce.stream.server import MAX_BODY, make_server
from reproduce.lsd2015.profiles import get_profile
from reproduce.stream.requests import RequestBoard, RequestParser, request_for
from reproduce.job import StreamJob
from reproduce.stream.keyframes import (FrameBroadcast, KeyFrame, LiveStream, Pace,
                                        stream_profile)

SIZE = (64, 64)
STREAM_SIZE = (96, 64)
MAX_WAITING = 4
MAX_CLIENTS = 6
CLIENT_TIMEOUT = 1.0
STALL_SECONDS = 60.0    # a tiny-VGG step takes milliseconds


def wait_until(condition, timeout=60.0):
    """Poll ``condition`` until it holds or ``timeout`` s pass; its last value.

    The timeout is generous: it costs nothing when the condition holds, and
    a loaded 2-core CI machine can be slow to run the frame threads.
    """
    deadline, tick = time.monotonic() + timeout, threading.Event()
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        tick.wait(0.02)


def tiny_setup(tiny_model, sets=()):
    profile = stream_profile(get_profile("stream2015", [("steps_per_zoom", 2)] + list(sets)),
                             tiny_model, SIZE, STREAM_SIZE)
    image = (128 + 8 * np.random.RandomState(0).randn(SIZE[1], SIZE[0], 3)).astype(np.float32)
    parser = RequestParser(tiny_model.descriptions)
    return profile, image, parser, request_for([1], tiny_model.descriptions)


@pytest.fixture(scope="module")
def server(tiny_model):
    profile, image, parser, start = tiny_setup(tiny_model)
    stream = LiveStream(StreamJob(weights=tiny_model, prior="none"), profile, image, parser,
                        start, hold_seconds=3600, max_waiting=MAX_WAITING, threads=1,
                        stall_seconds=STALL_SECONDS)
    stream.start(timeout=300)
    srv = make_server(stream, "127.0.0.1", 0, max_clients=MAX_CLIENTS,
                      client_timeout=CLIENT_TIMEOUT).start()
    yield srv
    srv.stop()
    stream.stop()
    assert not stream.worker.alive


def get(server, path, timeout=10):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type"), response.read()


def post(server, body, kind="application/json", timeout=10):
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    conn.request("POST", "/request", body, {"Content-Type": kind})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def status(server):
    return json.loads(get(server, "/status")[2])


class MJPEGReader:
    """A viewer of /stream.mjpg on a raw socket; ``frame()`` reads the next JPEG."""

    def __init__(self, server, rcvbuf=None, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(server.server_address[:2])
        self.sock.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
        self.file = None

    def start(self):
        self.file = self.sock.makefile("rb")
        head = self.file.readline()
        headers = {}
        for line in iter(self.file.readline, b"\r\n"):
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        return int(head.split()[1]), headers

    def frame(self):
        assert self.file.readline() == b"--frame\r\n"
        headers = dict(line.decode().strip().split(": ", 1)
                       for line in iter(self.file.readline, b"\r\n"))
        assert headers["Content-Type"] == "image/jpeg"
        jpeg = self.file.read(int(headers["Content-Length"]))
        assert self.file.read(2) == b"\r\n"
        return jpeg

    def reset(self):
        """Vanish mid-stream: close with a TCP reset, as a killed browser tab does."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self):
        if self.file:
            self.file.close()
        self.sock.close()


def assert_serving(server):
    """The server answers, and its stream delivers new, decodable frames."""
    from PIL import Image
    import io
    reader = MJPEGReader(server)
    try:
        code, headers = reader.start()
        assert code == 200 and headers["content-type"].startswith("multipart/x-mixed-replace")
        frames = [reader.frame() for _ in range(3)]
    finally:
        reader.close()
    # its handler notices the close at its next write or two
    assert wait_until(lambda: server.clients == 0)
    image = Image.open(io.BytesIO(frames[-1]))
    assert image.size == STREAM_SIZE
    assert status(server)["error"] is None


# ---------------------------------------------------------------- units

def test_board_queues_holds_and_turns_away():
    now = [0.0]
    parser = RequestParser(["volcano", "bee", "pizza, pizza pie", "analog clock"])
    board = RequestBoard(parser, request_for([3], parser.descriptions), hold_seconds=60,
                         max_waiting=2, clock=lambda: now[0])
    first = board.submit("volcano")
    assert first["status"] == "acknowledged" and first["position"] == 0  # start: no hold
    assert board.current().overlay == "volcano"
    assert board.submit("bee")["position"] == 1
    second = board.submit("pizza and volcano")
    assert second["position"] == 2 and second["starts_in"] == 120
    assert board.submit("analog clock")["status"] == "busy"
    assert board.submit("xyzzy")["status"] == "unknown"
    now[0] = 59.0
    assert board.current().overlay == "volcano"
    now[0] = 60.0
    assert board.current().overlay == "bee"
    now[0] = 120.0
    assert board.current().classes == (2, 0)  # pizza lower, volcano upper
    snap = board.snapshot()
    assert snap["waiting"] == [] and snap["hold_left"] == 60.0
    now[0] = 1000.0  # nothing waits: the current request stays
    assert board.current().overlay == "pizza & volcano"


def pace_2015(fps, call_times):
    """zoomingstream.py send_frame (lines 263-274), ported literally: the
    frames_before_next_image of each call at the given times."""
    estimated_input_fps, last_frame_time, out = 1. / 10, None, []
    for now in call_times:
        if last_frame_time is None:
            last_frame_time = now
        else:
            estimated_fps = 1. / (now - last_frame_time)
            estimated_input_fps = 0.1 * estimated_input_fps + 0.9 * estimated_fps
            last_frame_time = now
        out.append(int(np.ceil(fps / estimated_input_fps)))
    return out


def test_pace_is_the_2015_rule_live_and_fixed_in_recordings():
    profile = get_profile("stream2015")
    rng = np.random.RandomState(0)
    times = np.cumsum(np.concatenate([[5.0], rng.uniform(0.05, 12.0, 40)]))
    clock = iter(times).__next__
    adaptive, fixed = Pace(profile, True, clock=clock), Pace(profile, False)
    got = [adaptive.frames() for _ in times]
    assert got == pace_2015(profile.fps, times)
    assert got[0] == 250                           # ceil(25 / 0.1)
    assert len(set(got)) > 10                      # it follows the measured rate
    assert [fixed.frames() for _ in range(3)] == [profile.frames_per_key] * 3
    # Waiting for a full buffer restarts the clock, as 2015's busy loop did.
    now = [0.0]
    pace = Pace(profile, True, clock=lambda: now[0])
    pace.frames()
    now[0] = 10.0
    pace.waited()          # blocked from 0 to 10 s: not the optimiser's time
    now[0] = 12.0
    assert pace.frames() == pace_2015(profile.fps, [0.0, 2.0])[1]


def test_broadcast_holds_one_frame_and_readers_skip_to_the_latest():
    broadcast = FrameBroadcast()
    for i in range(100):
        broadcast.publish(b"%d" % i)
    assert broadcast.wait(0, timeout=0) == (100, b"99")
    assert broadcast.wait(100, timeout=0.01) == (100, b"99")  # times out: old frame
    broadcast.close()
    assert broadcast.wait(100, timeout=5)[0] == 100            # close wakes readers


class ScriptedWorker:
    """One key frame, then nothing: an optimiser that has fallen behind."""
    error, alive, exitcode, pid = None, True, None, None

    def __init__(self, image):
        self.keys = [KeyFrame(image * 0.5, 17, (1, 1))]
        self.aimed = []

    def start(self, timeout=None):
        return self

    def aim(self, classes):
        self.aimed.append(classes)

    def get(self, timeout=0.0):
        if self.keys:
            return self.keys.pop()
        threading.Event().wait(timeout)
        return None

    def silent_for(self):
        return 0.0

    def stop(self, timeout=None):
        pass


class CompilingWorker(ScriptedWorker):
    """Starts when ``compiled`` is set, then has no key frame."""

    def __init__(self, image):
        super().__init__(image)
        self.keys, self.compiled = [], threading.Event()

    def start(self, timeout=None):
        self.compiled.wait(60)
        return self


def test_the_start_image_says_it_is_starting(tiny_model):
    """While the optimiser compiles (a minute the first time) the stream
    shows the start image captioned "(starting...)", then the caption alone."""
    from reproduce.stream.keyframes import STARTING, compose, encode_jpeg, first_frame
    profile, image, parser, start = tiny_setup(tiny_model)
    worker = CompilingWorker(image)
    stream = LiveStream(None, profile, image, parser, start,
                        make_worker=lambda image, classes: worker)
    shown = first_frame(image, profile, stream.out_shape)
    starter = threading.Thread(target=stream.start)
    starter.start()
    try:
        starting = encode_jpeg(compose(shown, STARTING % start.overlay), stream.quality)
        assert wait_until(lambda: stream.broadcast.latest()[1] == starting)
        assert not stream.status()["ready"]
        worker.compiled.set()
        starter.join(60)
        ready = encode_jpeg(compose(shown, start.overlay), stream.quality)
        assert wait_until(lambda: stream.broadcast.latest()[1] == ready)
    finally:
        worker.compiled.set()
        starter.join(60)
        stream.stop()


def test_the_last_frame_repeats_when_the_optimiser_falls_behind(tiny_model):
    profile, image, parser, start = tiny_setup(tiny_model)
    worker = ScriptedWorker(image)
    stream = LiveStream(None, profile, image, parser, start,
                        make_worker=lambda image, classes: worker, hold_seconds=0)
    with stream:
        seq0 = stream.broadcast.latest()[0]
        assert wait_until(lambda: stream.stats["fresh"] == 18
                          and stream.stats["repeated"] >= 10), stream.stats
        frames = stream.stats["frames"]
        # 1 start frame + 17 in-between frames, then the last one again and again
        assert stream.stats["fresh"] == 18 and stream.stats["keys"] == 1
        assert stream.broadcast.latest()[0] - seq0 >= frames - 1
        # a request changes the overlay of the repeated frame, and aims the worker
        before = stream.broadcast.latest()[1]
        assert stream.submit("volcano")["status"] == "acknowledged"
        assert wait_until(lambda: stream.broadcast.latest()[1] != before)
        assert wait_until(lambda: worker.aimed[-1:] == [(980, 980)])
        elapsed = time.monotonic() - stream.pacing_since
        assert stream.status()["fps"] > 15 and stream.stats["frames"] <= 25 * elapsed + 2
        assert stream.status()["restarts"] == 0


# ---------------------------------------------------------------- the server

def test_page_status_and_frames_that_change(server):
    code, kind, page = get(server, "/")
    assert code == 200 and kind.startswith("text/html")
    assert b'src="stream.mjpg"' in page and b'id="text"' in page
    reader = MJPEGReader(server)
    try:
        assert reader.start()[0] == 200
        frames = [reader.frame() for _ in range(40)]
    finally:
        reader.close()
    assert wait_until(lambda: server.clients == 0)
    assert len(set(frames)) > 10  # the zoom moves every frame
    code, kind, jpeg = get(server, "/frame.jpg")
    assert code == 200 and kind == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    # the first key frame spans 250 frames (the 2015 rule): 10 s
    assert wait_until(lambda: status(server)["key_frames"] >= 2)
    s = status(server)
    assert s["frames"] >= 40 and s["error"] is None
    assert get(server, "/nothing")[0] == 404


def test_many_requests_at_once(server):
    texts = ["volcano", "bee and analog clock", "xyzzy", "\x00garbage\x00", "pizza",
             "a" * 150]
    replies, errors = [], []

    def visitor(k):
        try:
            for i in range(8):
                replies.append(post(server, {"text": texts[(k + i) % len(texts)]}))
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(replies) == 96
    assert all(code == 200 for code, _ in replies)
    statuses = [reply["status"] for _, reply in replies]
    assert set(statuses) <= {"acknowledged", "unknown", "busy"}
    assert "unknown" in statuses and "busy" in statuses
    queued = [r for _, r in replies if r["status"] == "acknowledged"
              and not r["message"].startswith("already")]  # repeats are skipped
    assert len(queued) <= MAX_WAITING + 1
    s = status(server)
    # bounded: the rest were turned away, and all of these came from one
    # address, which may hold half the queue
    assert len(s["waiting"]) == MAX_WAITING // 2
    assert s["submitted"] >= 96
    assert_serving(server)


def test_garbage_and_very_long_text(server):
    code, reply = post(server, {"text": "volcano " + "x" * 3000})
    assert code == 200 and len(reply["text"]) == 200
    code, reply = post(server, b"{not json", "application/json")
    assert code == 400 and reply["status"] == "error"
    assert post(server, {"text": 42})[0] == 400
    assert post(server, [1, 2])[0] == 400
    code, reply = post(server, bytes(range(256)) * 4, "application/octet-stream")
    assert code == 200 and reply["status"] in ("unknown", "acknowledged", "busy")
    assert post(server, b"text=bee%20and%20volcano",
                "application/x-www-form-urlencoded")[1]["overlay"] == "bee & volcano"
    # a body over the cap is refused unread
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.putrequest("POST", "/request")
    conn.putheader("Content-Length", str(10 * MAX_BODY))
    conn.endheaders()
    assert conn.getresponse().status == 413
    # not HTTP at all, and a request line far too long
    for junk in (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", b"GET /" + b"a" * 70000 + b"\r\n\r\n"):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(junk)
            answer = sock.recv(300)
        # an error page (HTTP/0.9-style, with no status line, for a request
        # line without a version), never a crash or a hang
        assert answer.startswith(b"HTTP/1.0 4") or b"Error code: 4" in answer
    assert_serving(server)


def test_clients_that_disconnect_mid_stream(server):
    baseline = threading.active_count()
    for round_ in range(3):
        readers = [MJPEGReader(server) for _ in range(MAX_CLIENTS)]
        for reader in readers:
            assert reader.start()[0] == 200
            reader.frame()
        assert wait_until(lambda: server.clients == MAX_CLIENTS)
        for i, reader in enumerate(readers):
            reader.reset() if i % 2 else reader.close()
        assert wait_until(lambda: server.clients == 0), "handlers did not notice"
    assert wait_until(lambda: threading.active_count() <= baseline + 1)
    assert_serving(server)


def test_a_client_that_never_reads(server):
    """It is dropped after the client timeout; meanwhile the others are served."""
    stalled = MJPEGReader(server, rcvbuf=4096)  # sent the request, reads nothing
    try:
        assert wait_until(lambda: server.clients == 1)
        reader = MJPEGReader(server)
        assert reader.start()[0] == 200
        started, got = time.monotonic(), 0
        while got < 50:  # 2 s of stream while the stalled one's buffers fill
            reader.frame()
            got += 1
        rate = got / (time.monotonic() - started)
        assert rate > 15, "the stalled viewer slowed the others down: %.1f fps" % rate
        reader.close()
        # the kernel buffers hold ~128 KB: full within a second at 25 fps, then
        # the write blocks for CLIENT_TIMEOUT seconds and the handler gives up
        assert wait_until(lambda: server.clients == 0, timeout=15), \
            "a viewer that never reads was kept"
    finally:
        stalled.close()
    # bounded everywhere: one frame in the broadcast, a bounded frame buffer
    stream = server.stream
    assert stream._frames.qsize() <= stream._frames.maxsize
    assert_serving(server)


def test_viewers_are_capped(server):
    readers = [MJPEGReader(server) for _ in range(MAX_CLIENTS)]
    try:
        for reader in readers:
            assert reader.start()[0] == 200
        extra = MJPEGReader(server)
        code, _ = extra.start()
        extra.close()
        assert code == 503
    finally:
        for reader in readers:
            reader.close()
    assert wait_until(lambda: server.clients == 0)
    assert_serving(server)


def rss():
    """This process's resident memory in bytes (Linux)."""
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_stays_bounded_over_many_visitors(server):
    """A thousand requests and a hundred viewers leave no memory behind."""
    def burst():
        texts = ["volcano", "bee and analog clock", "pizza " + "q" * 150, "\x00" * 50]
        for i in range(250):
            post(server, {"text": texts[i % len(texts)]})
        for _ in range(25):
            reader = MJPEGReader(server)
            reader.start()
            reader.frame()
            reader.reset()
            assert wait_until(lambda: server.clients == 0)

    burst()  # warm up: caches, allocator arenas
    before = rss()
    for _ in range(4):
        burst()
    grown = rss() - before
    # a leak of 8 kB per request or viewer (a request, a frame) would show
    # as 9 MB here; frames in flight are a few hundred kB
    assert grown < 8e6, "memory grew by %.1f MB" % (grown / 1e6)
    s = status(server)
    assert len(s["waiting"]) <= MAX_WAITING and s["buffered"] <= 12


@pytest.mark.parametrize("extra, names", [
    (["--classes", "no such class"], "closest"),
    (["--size", "12x"], "WIDTHxHEIGHT"),
    (["--classes", "bee", "--classes", "volcano", "--classes", "pizza"], "at most 2"),
    (["--port", "PORT_IN_USE"], "cannot listen"),
    (["--prior", "/nonexistent/prior.h5"], "/nonexistent/prior.h5"),
    (["--recipe", "nope"], "unknown recipe"),
    (["--recipe", "fourier", "--backend", "torch"], "Theano engine only"),
])
def test_serve_bad_options_are_one_line(tiny_weights, capsys, extra, names):
    from reproduce.cli import main
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        extra = [str(busy.getsockname()[1]) if e == "PORT_IN_USE" else e for e in extra]
        argv = ["serve", "--weights", tiny_weights, "--size", "64x64", "--prior", "none"]
        assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and names in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _timed_status(server):
    start = time.monotonic()
    code, _, body = get(server, "/status", timeout=5)
    return code, time.monotonic() - start


@pytest.mark.slow
def test_slowloris_and_idle_connections(server):
    """100 connections that trickle their headers and 100 that send nothing
    take no worker: a normal client keeps its answers within a second, and
    the header deadline closes them all."""
    host, port = server.server_address[:2]
    slow, idle, times = [], [], []
    dropped = server.dropped_slow
    try:
        for i in range(100):
            idle.append(socket.create_connection((host, port), timeout=5))
            sock = socket.create_connection((host, port), timeout=5)
            sock.sendall(b"GET /status HTTP/1.0\r\nX-Slow: ")
            slow.append(sock)
            if i % 10 == 0:
                code, seconds = _timed_status(server)
                assert code == 200
                times.append(seconds)
        for _ in range(10):  # keep trickling, while a normal client asks
            for sock in slow:
                try:
                    sock.send(b"a")
                except OSError:
                    pass
            code, seconds = _timed_status(server)
            assert code == 200
            times.append(seconds)
        assert max(times) < 1.0, times
        # none of them ever completes its headers: the deadline drops them all
        assert wait_until(lambda: server.dropped_slow - dropped >= 200, timeout=30)
        assert wait_until(lambda: server.connections == 0, timeout=30)
    finally:
        for sock in slow + idle:
            sock.close()
    assert_serving(server)


def test_non_reading_clients_hold_no_worker(server):
    """Clients that ask for the page and never read the reply: the selector
    holds their bytes, the workers go on serving others."""
    host, port = server.server_address[:2]
    lazy = []
    try:
        for _ in range(40):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            sock.connect((host, port))
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            lazy.append(sock)
        code, seconds = _timed_status(server)
        assert code == 200 and seconds < 1.0
    finally:
        for sock in lazy:
            sock.close()
    assert_serving(server)


def test_connection_cap_makes_room(server):
    """Past max_connections unfinished requests, the oldest is closed for a
    new one: a newcomer always gets in."""
    host, port = server.server_address[:2]
    old = server.max_connections
    server.max_connections = 20
    idle = []
    try:
        for _ in range(40):
            idle.append(socket.create_connection((host, port), timeout=5))
        code, seconds = _timed_status(server)
        assert code == 200 and seconds < 1.0
        assert server.peak_connections >= 20
    finally:
        server.max_connections = old
        for sock in idle:
            sock.close()


def test_deeply_nested_json_is_400(server):
    assert post(server, b"[" * 2000 + b"]" * 2000)[0] == 400
    assert post(server, b'{"text": ' + b"[" * 100 + b"]" * 100 + b"}")[0] == 400


def test_one_client_cannot_fill_the_queue(tiny_model):
    """Half the queue at most per client address; others still get in."""
    _, _, parser, start = tiny_setup(tiny_model)
    board = RequestBoard(parser, start, hold_seconds=3600, max_waiting=4)
    board.submit("volcano")  # shows at once: the start request held for none
    replies = [board.submit("bee", client="10.0.0.1")["status"] for _ in range(5)]
    assert replies == ["acknowledged"] * 2 + ["busy"] * 3
    assert board.submit("pizza", client="10.0.0.2")["status"] == "acknowledged"


def test_warns_beyond_loopback(capsys):
    from reproduce.stream.server import is_loopback
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")


# ---------------------------------------------------------------- the watchdog

@pytest.mark.slow
def test_a_killed_or_stalled_optimiser_is_restarted(tiny_model):
    import os
    import signal
    profile, image, parser, start = tiny_setup(tiny_model)
    stream = LiveStream(StreamJob(weights=tiny_model, prior="none"), profile, image, parser,
                        start, hold_seconds=3600, threads=1, stall_seconds=5.0)
    stream.start(timeout=300)
    srv = make_server(stream, "127.0.0.1", 0).start()
    try:
        assert stream.submit("volcano")["position"] == 0
        assert stream.submit("bee")["position"] == 1
        assert wait_until(lambda: status(srv)["key_frames"] >= 2)
        for how, reason in ((signal.SIGKILL, "ended"), (signal.SIGSTOP, "no step")):
            old, keys = stream.worker, status(srv)["key_frames"]
            restarts = status(srv)["restarts"]
            os.kill(old.pid, how)
            # The page keeps serving the last frame while the optimiser is away.
            frames = status(srv)["frames"]
            assert wait_until(lambda: status(srv)["frames"] > frames + 25)
            assert get(srv, "/frame.jpg")[0] == 200
            assert wait_until(lambda: status(srv)["restarts"] == restarts + 1, 600)
            assert wait_until(lambda: status(srv)["key_frames"] > keys + 1, 120)
            s = status(srv)
            assert stream.worker is not old and not old.alive
            assert reason in s["restart_reason"] and s["error"] is None
            # the request queue is as it was, and the new worker dreams of it
            assert s["overlay"] == "volcano" and s["waiting"] == ["bee"]
    finally:
        srv.stop()
        stream.stop()
    assert not stream.worker.alive


@pytest.mark.slow
def test_the_stream_on_the_pytorch_port(tiny_model):
    """The GPU stream's path (serve --backend torch), here on torch's CPU build."""
    pytest.importorskip("torch")
    from reproduce.stream.keyframes import KeyFrameWorker
    profile, image, parser, start = tiny_setup(tiny_model)
    worker = KeyFrameWorker(StreamJob(weights=tiny_model, prior="none", backend="torch"),
                            profile, image, (1, 1), adaptive=False, threads=1)
    worker.start(timeout=120)
    try:
        keys = [worker.get(timeout=60) for _ in range(2)]
    finally:
        worker.stop()
    assert all(k is not None and k.frames == profile.frames_per_key for k in keys)
    assert keys[0].image.shape == image.shape and not np.allclose(keys[0].image, image)
    assert worker.error is None


def test_serve_rejects_a_recipe_the_backend_cannot_run(tiny_weights, capsys):
    from reproduce.cli import main
    assert main(["serve", "--weights", tiny_weights, "--size", "64x64", "--recipe",
                 "fourier-zoom", "--backend", "torch"]) == 2
    err = capsys.readouterr().err
    assert "fourier-zoom runs on the Theano engine only" in err, err
