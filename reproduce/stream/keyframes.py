"""The endless zoom of the 2015 Twitch stream, as a live stream and as a recording.

Pieces, in the order a frame travels:

* :func:`key_frames` -- the optimiser: zoom the image by the frames it will
  span, aim it at the current request's classes, take ``steps_per_zoom``
  steps of the 2015 rule; each result is a key frame.
* :class:`KeyFrameWorker` -- runs that loop in a process of its own.
  Theano holds the GIL for a whole step (measured here: a 0.25 s step held
  every other thread of the process for 0.25 s), so in a thread it would
  stall the 25 fps frames.  2015 also interpolated in other processes.
* :func:`frames.in_between` turns two key frames into the stream frames
  between them; :func:`compose` writes the request on them (2015's overlay).
* :class:`LiveStream` -- a producer thread interpolates into a small
  bounded buffer; a pacer thread takes one frame every 1/fps seconds and
  publishes it, as JPEG, on a :class:`FrameBroadcast`.  When the buffer is
  empty (the optimiser fell behind) the pacer publishes the last frame
  again, as 2015's ``send_me_last_frame_again`` did: the stream never stalls.
* :class:`~reproduce.stream.requests.RequestBoard` -- visitors' requests: a
  bounded queue, each request held for ``hold_seconds``.

Memory is bounded by construction: one key frame queued between the
processes, ``buffer_frames`` frames in the buffer, one JPEG in the
broadcast, ``max_waiting`` requests.

Frames are (H, W, 3); key frames float32 on 0..255, stream frames uint8.
"""
import collections
import contextlib
import dataclasses
import io
import math
import multiprocessing
import os
import queue
import threading
import time

import numpy as np

from ..lsd2015 import frames as framelib
from ..errors import UserError
from ..fileio import to_uint8
from .requests import HOLD_SECONDS_2015, RequestBoard

# zoomingstream.py, send_frame: the estimate of the key-frame rate is
# 0.1 * old + 0.9 * new.  We smooth the key-frame period the same way.
PACE_SMOOTHING_2015 = 0.9
MAX_SECONDS_PER_KEY = 10.0     # caps the zoom of one key frame when the optimiser is slow
OVERLAY_SIZE_2015 = (20, 576)  # zoomingstream.py: a 20 px font on the 576-row stream


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


def key_frames(dreamer, profile, aim, frames_per_key):
    """Yield :class:`KeyFrame` s without end from the dreamer's current image.

    Each: zoom the image by ``frames_per_key()`` stream frames (the 2015
    zoom: cubic, rotation, moments reset), aim at ``aim()`` -> (lower,
    upper) classes, take ``profile.steps_per_zoom`` steps.  Both callables
    are read once per key frame, as 2015 read the chat once per zoom.
    """
    while True:
        started = time.perf_counter()
        n = int(frames_per_key())
        dreamer.zoom(n)
        classes = tuple(aim())
        dreamer.set_classes(*classes)
        for _ in range(profile.steps_per_zoom or 1):
            dreamer.step()
        yield KeyFrame(dreamer.get_image(), n, classes, time.perf_counter() - started)


class Pace:
    """How many stream frames the next key frame spans.

    Fixed: the profile's ``frames_per_key`` (recordings: deterministic).
    Adaptive (live, as 2015's ``frames_before_next_image``): enough frames
    to play while the optimiser makes the next key frame, fps times its
    smoothed period, never fewer than ``frames_per_key`` and never more
    than :data:`MAX_SECONDS_PER_KEY` of stream.
    """

    def __init__(self, profile, adaptive):
        self.profile, self.adaptive, self.period = profile, adaptive, None

    def frames(self):
        least = self.profile.frames_per_key
        if not self.adaptive or self.period is None:
            return least
        most = int(MAX_SECONDS_PER_KEY * self.profile.fps)
        return int(min(most, max(least, math.ceil(self.period * self.profile.fps))))

    def update(self, seconds):
        self.period = seconds if self.period is None else (
            PACE_SMOOTHING_2015 * seconds + (1 - PACE_SMOOTHING_2015) * self.period)


def overlay_size(rows):
    """Overlay font size for frames of ``rows`` rows: 2015's 20 px at 576 rows,
    scaled, and never below 12 px (the page shows small frames enlarged)."""
    size, at = OVERLAY_SIZE_2015
    return max(12, int(round(size * rows / float(at))))


def compose(frame, text):
    """A stream frame with the request written on it: (H, W, 3) uint8."""
    if text:
        frame = framelib.overlay_text(frame, text, overlay_size(frame.shape[0]))
    return to_uint8(frame)


def encode_jpeg(frame, quality=85):
    """(H, W, 3) uint8 -> JPEG bytes."""
    from PIL import Image
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def first_frame(image, profile, out_shape):
    """The start image as a stream frame (scaled to ``out_shape`` like the rest)."""
    return next(framelib.in_between(image, image, 1, profile, out_shape))


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
        for frame in framelib.in_between(previous, key.image, key.frames, profile,
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


def _work(job, profile, image, classes, keys, stop, adaptive):
    """The optimiser process: messages ("ready",), ("key", KeyFrame), ("error", text)."""
    def put(message):
        while not stop.is_set():
            try:
                keys.put(message, timeout=0.2)
                return True
            except queue.Full:
                pass
        return False

    keys.cancel_join_thread()  # never hang at exit on an unread key frame
    try:
        from ..recipes import build_dreamer
        dreamer = build_dreamer(job, profile)
        pace = Pace(profile, adaptive)
        if adaptive:  # time one step, so the first key frame's zoom fits too
            dreamer.set_image(image)
            started = time.perf_counter()
            dreamer.step()
            pace.update((time.perf_counter() - started) * (profile.steps_per_zoom or 1))
        dreamer.set_image(image)  # (again: the timing step leaves no trace)
        put(("ready",))
        for key in key_frames(dreamer, profile, lambda: tuple(classes[:]), pace.frames):
            pace.update(key.seconds)
            if stop.is_set() or not put(("key", key)):
                break
    except KeyboardInterrupt:
        pass
    except UserError as exc:
        put(("error", str(exc)))
    except Exception as exc:  # the parent reports it as one line
        import traceback
        traceback.print_exc()
        put(("error", "the optimiser failed: %s: %s" % (type(exc).__name__, exc)))


class KeyFrameWorker:
    """:func:`key_frames` in a process of its own (spawned: a fresh Theano).

    ``job`` is a :class:`~reproduce.job.StreamJob` (its recipe builds the
    dreamer there; weights given as a path are loaded there, so a large
    model is not copied through a pipe), ``profile`` its resolved settings
    (:mod:`reproduce.stream.setup`), ``image`` the start.  At most
    ``max_ahead`` key frames wait for the parent; then the worker waits
    too (2015: "if buffer is full, STOP FILLING").  ``threads``: BLAS
    threads for it, leaving the rest of the CPU to the frames.
    """

    def __init__(self, job, profile, image, classes, adaptive=True,
                 threads=None, max_ahead=1):
        ctx = multiprocessing.get_context("spawn")
        self._classes = ctx.Array("i", [int(c) for c in classes], lock=True)
        self._keys = ctx.Queue(maxsize=max_ahead)
        self._stop = ctx.Event()
        self._process = ctx.Process(
            target=_work, name="dream-optimiser", daemon=True,
            args=(job, profile, np.asarray(image, np.float32),
                  self._classes, self._keys, self._stop, adaptive))
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self.error = None

    def start(self, timeout=600.0):
        """Start it and wait until its step is compiled; WorkerError if it fails."""
        with _environ(OPENBLAS_NUM_THREADS=self.threads, OMP_NUM_THREADS=self.threads):
            self._process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive(1.0)
            if message is not None and message[0] == "ready":
                return self
            if message is None and not self._process.is_alive():
                self.error = "the optimiser process ended (exit code %s)" % \
                    self._process.exitcode
            if self.error:
                self.stop()
                raise WorkerError(self.error)
        self.stop()
        raise WorkerError("the optimiser did not start within %d s" % timeout)

    def aim(self, classes):
        """Aim the next key frames at (lower, upper) classes."""
        self._classes[:] = [int(c) for c in classes]

    def get(self, timeout=0.0):
        """The next :class:`KeyFrame`, or None if none came within ``timeout``."""
        message = self._receive(timeout)
        return message[1] if message is not None and message[0] == "key" else None

    def _receive(self, timeout):
        try:
            message = self._keys.get(timeout=timeout) if timeout else self._keys.get_nowait()
        except queue.Empty:
            return None
        except (EOFError, OSError):
            message = ("error", "the optimiser process ended")
        if message[0] == "error":
            self.error = message[1]
        return message

    @property
    def alive(self):
        return self._process.is_alive()

    @property
    def exitcode(self):
        return self._process.exitcode

    def wait(self, timeout):
        """Wait up to ``timeout`` s for the process to end."""
        self._process.join(timeout)

    def stop(self, timeout=2.0):
        """Ask it to stop; terminate it if it is still busy after ``timeout`` s."""
        if self._process.pid is None:  # never started
            return
        self._stop.set()
        deadline = time.monotonic() + timeout
        while self._process.is_alive() and time.monotonic() < deadline:
            self._receive(0.1)  # drain, so a blocked put returns
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(1.0)


# ---------------------------------------------------------------- live stream

class LiveStream:
    """Requests in, JPEG frames out at ``profile.fps``: the page's stream.

    ``start_request`` is a parsed request (a :class:`~reproduce.stream.requests.
    Request`); ``parser`` parses visitors' text.  The optimised image has
    ``profile.image_size``; frames have ``profile.stream_size``.
    ``worker``: anything with :class:`KeyFrameWorker`'s methods (default:
    one for ``job``; tests pass a scripted one).
    """

    def __init__(self, job, profile, image, parser, start_request,
                 hold_seconds=HOLD_SECONDS_2015, max_waiting=8, buffer_frames=12,
                 adaptive=True, threads=None, quality=85, worker=None):
        self.profile = profile
        self.out_shape = tuple(profile.stream_size[::-1])
        self.board = RequestBoard(parser, start_request, hold_seconds, max_waiting)
        self.broadcast = FrameBroadcast()
        self.worker = worker or KeyFrameWorker(job, profile, image,
                                               start_request.classes, adaptive, threads)
        self.quality = quality
        self._image = np.asarray(image, np.float32)
        self._frames = queue.Queue(maxsize=buffer_frames)
        self._stop = threading.Event()
        self._threads = []
        self.stats = collections.Counter()
        self.started = self.pacing_since = None  # monotonic times: ready, first frame
        self.last_key = (0.0, 0)   # the optimiser's seconds and frames for the last key frame

    # -- life cycle
    def start(self, timeout=600.0):
        """Stream the start image while the optimiser compiles (WorkerError
        if that fails), then the dream."""
        self.pacing_since = time.monotonic()
        self._thread(self._pace)
        try:
            self.worker.start(timeout)
        except BaseException:
            self.stop()
            raise
        self.started = time.monotonic()
        self._thread(self._produce)
        return self

    def _thread(self, target):
        thread = threading.Thread(target=target, name="stream" + target.__name__,
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
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
    def submit(self, text):
        return self.board.submit(text)

    def status(self):
        """JSON-ready: request board, frame counters, measured fps, errors."""
        out = self.board.snapshot()
        seconds = time.monotonic() - self.pacing_since if self.pacing_since else 0.0
        out.update(frames=self.stats["frames"], fresh=self.stats["fresh"],
                   repeated=self.stats["repeated"], key_frames=self.stats["keys"],
                   fps=round(self.stats["frames"] / seconds, 2) if seconds else 0.0,
                   buffered=self._frames.qsize(), error=self.worker.error,
                   key_seconds=round(self.last_key[0], 2), key_span=self.last_key[1],
                   ready=self.started is not None, size=list(self.profile.stream_size))
        return out

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
            for frame in framelib.in_between(previous, key.image, key.frames,
                                             self.profile, self.out_shape):
                if not self._put(to_uint8(frame)):
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
        last = to_uint8(first_frame(self._image, self.profile, self.out_shape))
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
            if fresh or request.overlay != shown:
                jpeg = encode_jpeg(compose(last, request.overlay), self.quality)
                shown = request.overlay
            self.broadcast.publish(jpeg)
            self.stats["frames"] += 1
            self.stats["fresh" if fresh else "repeated"] += 1
            fresh = False
            due += period
            if time.monotonic() - due > period:  # late: carry on, never burst
                due = time.monotonic()
