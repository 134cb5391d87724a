"""The endless zoom of the 2015 Twitch stream, as a live stream and as a recording.

Pieces, in the order a frame travels:

* :func:`key_frames` -- the optimiser: zoom the image by the frames it will
  span, aim it at the current request's classes, take ``steps_per_zoom``
  steps of the 2015 rule; each result is a key frame.
* :class:`KeyFrameWorker` -- runs that loop in a process of its own.
  Theano holds the GIL for a whole step (measured here: a 0.25 s step held
  every other thread of the process for 0.25 s), so in a thread it would
  stall the 25 fps frames.  2015 also interpolated in other processes.
* :func:`interpolate.in_between` turns two key frames into the stream
  frames between them (the 2015 formula of :func:`frames.in_between`, with
  OpenCV); :func:`compose` writes the request on them (2015's overlay).
* :class:`Pace` -- how many stream frames the next key frame spans: the
  2015 rule live, a fixed span in recordings.
* :class:`LiveStream` -- a producer thread interpolates into a small
  bounded buffer; a pacer thread takes one frame every 1/fps seconds and
  publishes it, as JPEG, on a :class:`FrameBroadcast`.  When the buffer is
  empty (the optimiser fell behind) the pacer publishes the last frame
  again, as 2015's ``send_me_last_frame_again`` did: the stream never stalls.
* :class:`~reproduce.stream.requests.RequestBoard` -- visitors' requests: a
  bounded queue, each request held for ``hold_seconds``.
* The watchdog (:meth:`LiveStream._watch`) -- 2015's stream killed itself
  after 100 missed frames within 10 s and a shell loop restarted it.  Ours
  restarts the optimiser process when it dies or stops beating (no step
  for ``stall_seconds``), from the last key frame, while the page keeps
  showing the last frame and the request queue stays as it is.

Memory is bounded by construction: one key frame queued between the
processes, ``buffer_frames`` frames in the buffer, one JPEG in the
broadcast, ``max_waiting`` requests.

Frames are (H, W, 3); key frames float32 on 0..255, stream frames uint8.
"""
import collections
import contextlib
import dataclasses
import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time

import numpy as np

from ..errors import UserError
from . import interpolate
from .requests import HOLD_SECONDS_2015, RequestBoard

# zoomingstream.py:143 (ZoomingStream.__init__): estimated_input_fps = 1/10,
# whatever the config said: the first key frame spans ceil(25 / 0.1) = 250 frames.
ESTIMATED_KEY_RATE_2015 = 0.1
# zoomingstream.py:268 (send_frame): est = 0.1 * est + 0.9 * measured rate.
PACE_SMOOTHING_2015 = 0.9
OVERLAY_SIZE_2015 = (20, 576)  # zoomingstream.py:14: a 20 px font on the 576-row stream
STALL_SECONDS = 300.0  # no optimiser step for this long: restart it (a VGG-16 step
                       # at 840x472 takes about 20 s on 2 cores)
RESTART_TRIES = 3      # failed restarts in a row before the watchdog gives up
STARTING = "%s (starting...)"  # the caption while the optimiser compiles


@dataclasses.dataclass
class KeyFrame:
    """One optimised image and how it continues the stream.

    image (H, W, 3) float32 on 0..255; ``frames``: stream frames from the
    previous key frame to this one (its zoom is zoomspeed^(frames/fps));
    ``classes``: the (lower, upper) classes it was optimised for;
    ``seconds``: the optimiser's time for it (zoom and steps).
    """
    image: np.ndarray
    frames: int
    classes: tuple
    seconds: float = 0.0


def stream_profile(profile, model, size=None, stream_size=None):
    """``profile`` set up for ``model`` and the stream's sizes, (width, height).

    The objective's layer follows :meth:`Profile.for_model`.
    """
    changes = {}
    if size:
        changes["image_size"] = tuple(size)
    if stream_size or size:
        changes["stream_size"] = tuple(stream_size or size)
    return dataclasses.replace(profile, **changes).for_model(model)


def key_frames(dreamer, profile, aim, frames_per_key, after_step=None):
    """Yield :class:`KeyFrame` s without end from the dreamer's current image.

    Each: zoom the image by ``frames_per_key()`` stream frames (the 2015
    zoom: cubic, rotation, moments reset), aim at ``aim()`` -> (lower,
    upper) classes, take ``profile.steps_per_zoom`` steps.  Both callables
    are read once per key frame, as 2015 read the chat once per zoom;
    ``after_step()``, if given, after every step.
    """
    while True:
        started = time.perf_counter()
        n = int(frames_per_key())
        dreamer.zoom(n)
        classes = tuple(aim())
        dreamer.set_classes(*classes)
        for _ in range(profile.steps_per_zoom or 1):
            dreamer.step()
            if after_step is not None:
                after_step()
        yield KeyFrame(dreamer.get_image(), n, classes, time.perf_counter() - started)


class Pace:
    """How many stream frames the next key frame spans.

    Fixed (``adaptive=False``; recordings, ``dream``: deterministic): the
    profile's ``frames_per_key``.  Adaptive (the live page): the 2015 rule
    of zoomingstream.py ``send_frame`` (lines 263-278), exactly: the first
    key frame spans ceil(fps / 0.1) = 250 frames; each later call measures
    the key-frame rate r = 1 / (seconds since the previous call), updates
    est <- 0.1 est + 0.9 r and spans ceil(fps / est).  :meth:`waited`
    restarts the clock after the optimiser waited for a full buffer, as
    2015 reset ``last_frame_time`` while it waited (line 278).
    """

    def __init__(self, profile, adaptive, clock=time.monotonic):
        self.profile, self.adaptive, self.clock = profile, adaptive, clock
        self.estimate, self.last = ESTIMATED_KEY_RATE_2015, None

    def frames(self):
        if not self.adaptive:
            return self.profile.frames_per_key
        now = self.clock()
        if self.last is not None:
            measured = 1.0 / max(now - self.last, 1e-6)
            self.estimate = ((1 - PACE_SMOOTHING_2015) * self.estimate
                             + PACE_SMOOTHING_2015 * measured)
        self.last = now
        return int(math.ceil(self.profile.fps / self.estimate))

    def waited(self):
        """The optimiser waited for room in the buffer: that time is not its own."""
        if self.adaptive and self.last is not None:
            self.last = self.clock()


def overlay_size(rows):
    """Overlay font size for frames of ``rows`` rows: 2015's 20 px at 576 rows,
    scaled, and never below 12 px (the page shows small frames enlarged)."""
    size, at = OVERLAY_SIZE_2015
    return max(12, int(round(size * rows / float(at))))


def compose(frame, text):
    """A uint8 stream frame with the request written on it: (H, W, 3) uint8."""
    return interpolate.overlay(frame, text, overlay_size(frame.shape[0]))


encode_jpeg = interpolate.encode_jpeg


def first_frame(image, profile, out_shape):
    """The start image as a uint8 stream frame (scaled to ``out_shape`` like the rest)."""
    return next(interpolate.in_between(image, image, 1, profile, out_shape))


def recorded_frames(dreamer, image, profile, requests, hold_seconds, out_shape):
    """The stream as a recording: yield (H, W, 3) uint8 frames without end.

    Deterministic: fixed frames per key frame, and request i is current
    from video time i * hold_seconds on (the last one stays).  ``dreamer``
    must hold ``image`` already; ``requests`` have ``classes`` and ``overlay``.
    """
    count = [0]

    def current():
        seconds = count[0] / float(profile.fps)
        return requests[min(int(seconds // hold_seconds), len(requests) - 1)]

    previous = image
    pace = Pace(profile, adaptive=False)
    for key in key_frames(dreamer, profile, lambda: current().classes, pace.frames):
        for frame in interpolate.in_between(previous, key.image, key.frames, profile,
                                            out_shape):
            yield compose(frame, current().overlay)
            count[0] += 1
        previous = key.image


# ---------------------------------------------------------------- broadcast

class FrameBroadcast:
    """The latest JPEG frame, for any number of readers.

    One frame is held whatever the number of clients; a reader that is
    slower than the stream skips to the latest frame instead of queueing.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._seq, self._jpeg, self._closed = 0, None, False

    def publish(self, jpeg):
        with self._cond:
            self._seq += 1
            self._jpeg = jpeg
            self._cond.notify_all()

    def latest(self):
        """(sequence number, JPEG bytes or None)."""
        with self._cond:
            return self._seq, self._jpeg

    def wait(self, after, timeout):
        """The first frame newer than ``after``: (seq, jpeg); the old one on timeout."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after or self._closed, timeout)
            return self._seq, self._jpeg

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self):
        return self._closed


# ---------------------------------------------------------------- the worker

class WorkerError(RuntimeError):
    """The optimiser process failed; the message says why."""


@contextlib.contextmanager
def _environ(**values):
    """Set environment variables for a child process started inside the block."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _die_with(parent):
    """End this process when ``parent`` (a pid) dies, even by SIGKILL, which
    leaves it no time to stop us: the kernel's parent-death signal on Linux,
    checked once against a parent gone before it was armed.  Elsewhere the
    steps' heartbeat polls :func:`os.getppid` (:func:`_orphaned`)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the heartbeat's poll only
        pass
    if os.getppid() != parent:
        os._exit(1)


def _orphaned(parent):
    return os.getppid() != parent


# Signals that the terminal (Ctrl-C) or `timeout`/`kill -- -PGID` send to a
# whole process group: the server decides when its optimiser stops, so the
# optimiser starts with them blocked and leaves the group (:func:`_own_group`).
GROUP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _group_signals_blocked():
    """Block GROUP_SIGNALS in this thread while it starts a child, which
    inherits the mask: a Ctrl-C during the child's start-up (imports,
    unpickling) then waits in the child instead of printing a traceback
    there.  The parent loses nothing: the signal goes to another of its
    threads, or waits until the mask is restored."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, GROUP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _own_group():
    """In the optimiser: leave the server's process group, so that group
    signals reach the server only (which then stops us, and with
    :func:`os.killpg` the compiler processes Theano may have started), and
    drop any of them that arrived while they were blocked."""
    if hasattr(os, "setpgid"):
        os.setpgid(0, 0)
        # outside the terminal's foreground group now: a write to it (a
        # traceback, Theano's notes) must not stop us under `stty tostop`
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    for sig in GROUP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # discards one pending
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, GROUP_SIGNALS)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _pack(classes):
    """(lower, upper) classes as one 64-bit word: read and written whole,
    so the optimiser never sees half of a new request."""
    lower, upper = (int(c) for c in classes)
    return (lower << 32) | (upper & 0xFFFFFFFF)


def _unpack(word):
    return word >> 32, word & 0xFFFFFFFF


def _sender(conn, message):
    """Send ``message`` in a thread of its own -> (thread, errors): the
    optimiser beats and watches for stop while a large frame goes out."""
    errors = []

    def send():
        try:
            conn.send(message)
        except (OSError, ValueError) as exc:  # the server has gone
            errors.append(exc)

    thread = threading.Thread(target=send, name="send", daemon=True)
    thread.start()
    return thread, errors


def _work(job, profile, image, aim, out, stop, adaptive, heartbeat, parent):
    """The optimiser process: sends ("ready",), ("key", KeyFrame), ("error", text)
    on ``out``, its end of a one-way pipe.

    ``aim``, ``stop`` and ``heartbeat`` are shared words without locks: a
    process killed at any moment leaves no lock the server could block on.
    ``heartbeat`` gets the monotonic time after every step and while a
    frame waits to be taken: the watchdog's sign of life.  ``parent``: the
    server's pid; the process ends when the server does (SIGKILL of the
    server included), never holding its memory alone.
    """
    _own_group()
    _die_with(parent)
    try:
        _optimise(job, profile, image, aim, out, stop, adaptive, heartbeat, parent)
    finally:
        # Python's own exit of a process that holds Theano takes seconds
        # (2.4 s measured under load) and nothing of it is needed: end now.
        sys.stderr.flush()
        os._exit(0)


def _optimise(job, profile, image, aim, out, stop, adaptive, heartbeat, parent):
    """:func:`_work`'s loop."""
    from ..fileio import checkpoint
    checkpoint("optimiser")  # tests: a signal while the optimiser starts

    def beat():
        if _orphaned(parent):
            os._exit(1)
        heartbeat.value = time.monotonic()

    def put(message):
        """Hand ``message`` over -> (delivered, had to wait).  At most one
        frame is on its way: the next waits until the server took it (2015:
        "if buffer is full, STOP FILLING")."""
        thread, errors = _sender(out, message)
        thread.join(0.2)
        waited = thread.is_alive()
        while thread.is_alive():
            if stop.value:  # leave the send behind: the server reads no more
                return False, waited
            beat()
            thread.join(0.2)
        return not errors, waited

    try:
        from ..recipes import build_dreamer
        dreamer = build_dreamer(job, profile)
        dreamer.set_image(image)
        pace = Pace(profile, adaptive)
        beat()
        put(("ready",))
        for key in key_frames(dreamer, profile, lambda: _unpack(aim.value),
                              pace.frames, after_step=beat):
            if stop.value:
                break
            delivered, waited = put(("key", key))
            if not delivered:
                break
            if waited:
                pace.waited()
    except KeyboardInterrupt:
        pass
    except UserError as exc:
        put(("error", str(exc)))
    except Exception as exc:  # the parent reports it as one line
        import traceback
        traceback.print_exc()
        put(("error", "the optimiser failed: %s: %s" % (type(exc).__name__, exc)))


class KeyFrameWorker:
    """:func:`key_frames` in a process of its own (spawned: a fresh Theano),
    for the dreamer that ``job`` (a :class:`~reproduce.job.StreamJob`; its
    recipe builds it, loading the weights there: a large model is not
    copied through a pipe) makes under ``profile``, from ``image``.

    Key frames come through a one-way pipe whose writing end only the
    optimiser holds, so a read ends (EOF) as soon as the process does,
    even in the middle of a frame: stopping never blocks on a dead
    optimiser.  At most one frame is on its way; then the optimiser waits.
    ``threads``: BLAS threads for it, leaving the rest of the CPU to the frames.
    """

    def __init__(self, job, profile, image, classes, adaptive=True, threads=None):
        ctx = multiprocessing.get_context("spawn")
        self._aim = ctx.Value("q", _pack(classes), lock=False)
        self._stop = ctx.Value("b", 0, lock=False)
        self._heartbeat = ctx.Value("d", 0.0, lock=False)
        self._reader, self._writer = ctx.Pipe(duplex=False)
        self._reading = threading.Lock()  # the stream's threads take turns
        self._process = ctx.Process(
            target=_work, name="dream-optimiser", daemon=True,
            args=(job, profile, np.asarray(image, np.float32), self._aim, self._writer,
                  self._stop, adaptive, self._heartbeat, os.getpid()))
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self.error, self.ready, self._ended = None, False, False

    def start(self, timeout=600.0):
        """Start it and wait until its step is compiled; WorkerError if it
        fails, or if :meth:`stop` is called meanwhile."""
        with _environ(OPENBLAS_NUM_THREADS=self.threads, OMP_NUM_THREADS=self.threads), \
                _group_signals_blocked():
            self._process.start()
        self._writer.close()  # the optimiser's end now: EOF when it ends
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.value:
            message = self._receive(0.2)
            if message is not None and message[0] == "ready":
                self.ready = True
                return self
            if self._ended and not self.error:
                self._process.join(1.0)
                self.error = "the optimiser process ended (exit code %s)" % \
                    self._process.exitcode
            if self.error:
                self.stop()
                raise WorkerError(self.error)
        stopped = bool(self._stop.value)
        self.stop()
        raise WorkerError("stopped while it started" if stopped else
                          "the optimiser did not start within %d s" % timeout)

    def aim(self, classes):
        """Aim the next key frames at (lower, upper) classes."""
        self._aim.value = _pack(classes)

    def get(self, timeout=0.0):
        """The next :class:`KeyFrame`, or None if none came within ``timeout``
        (also while it starts, and once it has ended)."""
        if not self.ready or self._ended:
            threading.Event().wait(timeout)  # nothing can come: wait as a read would
            return None
        message = self._receive(timeout)
        return message[1] if message is not None and message[0] == "key" else None

    def _receive(self, timeout):
        """One message, or None within ``timeout``; EOF marks the end."""
        if not self._reading.acquire(timeout=max(timeout, 0)):
            return None
        try:
            if self._ended or not self._reader.poll(timeout):
                return None
            message = self._reader.recv()
        except (EOFError, OSError):  # the optimiser has ended, maybe mid-frame
            self._ended = True
            return None
        finally:
            self._reading.release()
        if message[0] == "error":
            self.error = message[1]
        return message

    @property
    def alive(self):
        return self._process.is_alive()

    @property
    def pid(self):
        return self._process.pid

    @property
    def exitcode(self):
        return self._process.exitcode

    def silent_for(self):
        """Seconds since its last sign of life (a step, or waiting for room)."""
        return time.monotonic() - self._heartbeat.value

    def wait(self, timeout):
        """Wait up to ``timeout`` s for the process to end."""
        self._process.join(timeout)

    def stop(self, timeout=2.0):
        """Ask it to stop; kill it (and what it started) if it is still busy
        after ``timeout`` s.  Returns when it has ended and been reaped."""
        self._stop.value = 1
        if self._process.pid is None:  # never started
            return
        self._process.join(timeout)
        if self._process.is_alive():
            try:  # its group (:func:`_own_group`): the compilers it started too
                os.killpg(self._process.pid, signal.SIGKILL)
            except (OSError, AttributeError):  # not its own group yet
                self._process.kill()
            self._process.join()
        self._ended = True
        if self._reading.acquire(timeout=1.0):  # not while a thread still reads
            self._reader.close()
            self._reading.release()


# ---------------------------------------------------------------- live stream

class LiveStream:
    """Requests in, JPEG frames out at ``profile.fps``: the page's stream.

    ``job`` (a :class:`~reproduce.job.StreamJob`) and ``profile`` (its
    settings at the stream's sizes) say what the optimiser builds;
    ``start_request`` is a parsed request (a :class:`~reproduce.stream.
    requests.Request`); ``parser`` parses visitors' text; ``policy`` is the
    request board's ("queue" or "2015").  The optimised image has
    ``profile.image_size``; frames have ``profile.stream_size``.
    ``make_worker(image, classes)``: a worker with :class:`KeyFrameWorker`'s
    methods (default: one for ``job``; tests pass a scripted one); the
    watchdog makes a new one from the last key frame when the running one
    dies or is silent for ``stall_seconds``.
    """

    def __init__(self, job, profile, image, parser, start_request,
                 hold_seconds=HOLD_SECONDS_2015, max_waiting=8, buffer_frames=12,
                 adaptive=True, threads=None, quality=85, make_worker=None,
                 policy="queue", stall_seconds=STALL_SECONDS, seed=0, about=None):
        self.job, self.profile, self.about = job, profile, dict(about or {})
        self.out_shape = tuple(self.profile.stream_size[::-1])
        self.board = RequestBoard(parser, start_request, hold_seconds, max_waiting,
                                  policy=policy, seed=seed)
        self.broadcast = FrameBroadcast()
        self.make_worker = make_worker or (lambda image, classes: KeyFrameWorker(
            job, profile, image, classes, adaptive, threads))
        self.worker = self.make_worker(image, start_request.classes)
        self.quality, self.stall_seconds = quality, float(stall_seconds)
        self._image = self._last_key = np.asarray(image, np.float32)
        self._frames = queue.Queue(maxsize=buffer_frames)
        self._stop = threading.Event()
        self._swap = threading.Lock()  # stop() and a restart: never both at once
        self._threads = []
        self.stats = collections.Counter()
        self.started = self.pacing_since = None  # monotonic times: ready, first frame
        self.last_key = (0.0, 0)   # the optimiser's seconds and frames for the last key frame
        self.restarts, self.restart_reason, self.failed = 0, None, None
        self._start_timeout = 600.0

    # -- life cycle
    def start(self, timeout=600.0):
        """Stream the start image while the optimiser compiles (WorkerError
        if that fails), then the dream; the watchdog from then on."""
        self.pacing_since = time.monotonic()
        self._start_timeout = timeout
        self._thread(self._pace)
        try:
            self.worker.start(timeout)
        except BaseException:
            self.stop()
            raise
        self.started = time.monotonic()
        self._thread(self._produce)
        self._thread(self._watch)
        return self

    def _thread(self, target):
        thread = threading.Thread(target=target, name="stream" + target.__name__,
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        """Stop the threads and the optimiser (a restart under way included)."""
        with self._swap:  # a restart either sees the stop or made self.worker
            self._stop.set()
        self.broadcast.close()
        self.worker.stop()
        for thread in self._threads:
            thread.join(5.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the server calls
    def submit(self, text, client=None):
        return self.board.submit(text, client)

    def status(self):
        """JSON-ready: request board, frame counters, measured fps, errors, restarts."""
        out = self.board.snapshot()
        seconds = time.monotonic() - self.pacing_since if self.pacing_since else 0.0
        out.update(frames=self.stats["frames"], fresh=self.stats["fresh"],
                   repeated=self.stats["repeated"], key_frames=self.stats["keys"],
                   fps=round(self.stats["frames"] / seconds, 2) if seconds else 0.0,
                   buffered=self._frames.qsize(),
                   error=self.failed or self.worker.error,
                   key_seconds=round(self.last_key[0], 2), key_span=self.last_key[1],
                   ready=self.started is not None, size=list(self.profile.stream_size),
                   restarts=self.restarts, restart_reason=self.restart_reason,
                   about=self.about)
        return out

    def wait_failed(self, timeout):
        """Wait up to ``timeout`` s; whether the watchdog has given up."""
        self._stop.wait(timeout)
        return bool(self.failed)

    # -- the watchdog
    def _watch(self):
        """Restart the optimiser when it dies or falls silent (every second)."""
        while not self._stop.wait(1.0):
            worker = self.worker
            if worker.alive and worker.silent_for() < self.stall_seconds:
                continue
            reason = (worker.error or "the optimiser process ended (exit code %s)"
                      % worker.exitcode) if not worker.alive else \
                "the optimiser made no step for %d s" % self.stall_seconds
            worker.stop(timeout=1.0)
            if not self._restart(reason):
                return

    def _restart(self, reason):
        """A new optimiser from the last key frame, aimed at what shows now:
        the stream goes on.  RESTART_TRIES tries; False when it gave up or
        the stream is stopping."""
        self.restart_reason = reason
        for tries in range(1, RESTART_TRIES + 1):
            with self._swap:
                if self._stop.is_set():
                    return False
                self.worker = fresh = self.make_worker(self._last_key,
                                                       self.board.current().classes)
            try:
                fresh.start(self._start_timeout)
            except WorkerError as exc:
                self.restart_reason = "%s; the restart failed: %s" % (reason, exc)
                if tries == RESTART_TRIES:
                    self.failed = "the optimiser failed %d times in a row: %s" % (
                        tries, exc)
                continue
            self.restarts += 1
            return True
        return False

    # -- the two threads
    def _produce(self):
        """Key frames -> interpolated uint8 frames into the bounded buffer."""
        previous = self._image
        while not self._stop.is_set():
            key = self.worker.get(timeout=0.2)
            if key is None:
                continue
            self.stats["keys"] += 1
            self.last_key = key.seconds, key.frames
            self._last_key = key.image
            for frame in interpolate.in_between(previous, key.image, key.frames,
                                                self.profile, self.out_shape):
                if not self._put(frame):
                    return
            previous = key.image

    def _put(self, frame):
        while not self._stop.is_set():
            try:
                self._frames.put(frame, timeout=0.2)
                return True
            except queue.Full:
                pass
        return False

    def _pace(self):
        """One frame every 1/fps s: the next one, or the last one again."""
        period = 1.0 / self.profile.fps
        last = first_frame(self._image, self.profile, self.out_shape)
        fresh, shown, aimed = True, None, None  # the start image first
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            if not fresh:  # the first tick shows the start image, whatever is queued
                try:
                    last, fresh = self._frames.get_nowait(), True
                except queue.Empty:
                    pass
            request = self.board.current()
            if request.classes != aimed:
                self.worker.aim(request.classes)
                aimed = request.classes
            # until the optimiser is ready the start image says so, instead
            # of standing still without a word for the compile's minute
            text = request.overlay if self.started is not None else \
                STARTING % request.overlay
            if fresh or text != shown:
                jpeg = encode_jpeg(compose(last, text), self.quality)
                shown = text
            self.broadcast.publish(jpeg)
            self.stats["frames"] += 1
            self.stats["fresh" if fresh else "repeated"] += 1
            fresh = False
            due += period
            if time.monotonic() - due > period:  # late: carry on, never burst
                due = time.monotonic()
