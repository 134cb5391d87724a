"""Films in and out, through the ffmpeg that the imageio-ffmpeg wheel ships.

Frames are (H, W, 3) uint8 RGB.  :func:`probe` reads what a film is (size,
frame rate, frame count, audio) and refuses what is not one with a
UserError; :func:`read_frames` decodes it, scaled by ffmpeg when asked;
:func:`write_video` encodes H.264 (yuv420p, so even sizes only) with, when
asked, the audio track of another file cut to the video's length;
:func:`encoding` is the encode itself, for callers that send frames as they
make them; :func:`save_preview` (or :class:`Preview`, frame by frame) writes
an animated WebP/GIF time-lapse for pages.
Every output is written to a temporary file and renamed.
"""
import contextlib
import dataclasses
import logging
import math
import os
import re

import numpy as np

from ..checks import Rule
from ..errors import UserError
from ..fileio import atomic_path

VIDEO_CODECS = {".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264"}
# Audio codecs an mp4/mkv/mov takes as they are; any other is re-encoded to AAC.
COPY_AUDIO = {"aac", "mp3", "ac3", "eac3", "alac"}
PREVIEW_FRAMES = 100        # at most, spread over the video (a time-lapse)
PREVIEW_WIDTH = 336
PREVIEW_MS = 80              # per preview frame of a time-lapse: 12.5 a second
# the frame rates we write: ffmpeg reads a rate as a fraction, so inf, 1e300
# or 1e-300 make no playable video; 240 is the stream's ceiling too
VIDEO_FPS = Rule(float, low=0.1, high=240)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    path: str
    size: tuple              # (width, height) of the decoded frames
    fps: float
    frames: int              # counted by decoding, not estimated
    seconds: float           # frames / fps
    audio_codec: str = None  # None: no audio track


def probe(path):
    """What ``path`` holds -> :class:`VideoInfo`; UserError unless it is a film
    with a video stream ffmpeg can decode."""
    import imageio_ffmpeg
    if not os.path.isfile(path):
        raise UserError("%s: no such video file" % path)
    try:
        reader = imageio_ffmpeg.read_frames(path)
        meta = next(reader)
        reader.close()
    except (OSError, RuntimeError, StopIteration, ValueError, IndexError) as exc:
        # ffmpeg's log (in the message) lists the streams it found, if any
        if re.search(r"Stream #\S+.*: (Audio|Subtitle|Data)", str(exc)) and \
                not re.search(r"Stream #\S+.*: Video", str(exc)):
            raise UserError("%s: has no video stream (only audio or data); give a "
                            "film with a video track" % path)
        raise UserError("%s: cannot read this as a video; give a film ffmpeg can "
                        "decode (.mp4, .mkv, .mov, .webm ...)" % path)
    fps = float(meta.get("fps") or 0)
    frames = _decode_all(path, fps) if 0 < fps <= 1000 else 0
    if frames < 1:
        raise UserError("%s: ffmpeg finds no decodable video frames (or no frame "
                        "rate) in it; give a film with a video track" % path)
    return VideoInfo(path, tuple(meta["size"]), fps, frames, frames / fps,
                     meta.get("audio_codec"))


def _decode_all(path, fps):
    """Decode the whole film (video and audio) once, as :func:`read_frames`
    will: the number of frames at ``fps``.  The frames are counted at a
    constant rate, so a film of variable rate keeps its timing (frames are
    repeated where the film held them longer; counting its stored frames
    instead made a shorter video and cut its audio).  A decoding error is
    a damaged film: refused now, not a video that silently lacks half its
    frames or its sound."""
    import subprocess

    import imageio_ffmpeg
    done = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", path,
         "-map", "0:v:0", "-map", "0:a:0?", "-fps_mode", "cfr", "-r", "%.6f" % fps,
         "-f", "null", "-progress", "pipe:1", "-nostats", "-"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    # "[h264 @ 0x55e2...] Invalid NAL unit size": the first error, without its source
    errors = [" ".join(re.sub(r"\[[^\]]*\]\s*", "", line).split())
              for line in done.stderr.splitlines() if line.strip()]
    if any(re.search(r"cannot allocate memory|out of memory|pthread_create|resource "
                     r"temporarily unavailable", line, re.I)
           for line in errors):  # the machine, not the film
        raise UserError("%s: ffmpeg ran out of memory or threads decoding it (%s); free "
                        "some memory and run again" % (path, errors[0][:120]))
    if errors or done.returncode:
        raise UserError("%s: the film is damaged (ffmpeg: %s); re-encode what can be "
                        "read, e.g. `ffmpeg -i %s -c:v libx264 -c:a aac repaired.mp4`, "
                        "and give that" % (path, (errors or ["exit status %d"
                                                            % done.returncode])[0][:120],
                                           path))
    counts = re.findall(r"^frame=(\d+)", done.stdout, re.M)
    return int(counts[-1]) if counts else 0


def read_frames(path, size=None):
    """Yield the frames of ``path`` as (H, W, 3) uint8, scaled by ffmpeg to
    ``size`` = (width, height) when given (bicubic, as ``fileio.load_image``)."""
    import imageio_ffmpeg
    output = ["-vf", "scale=%d:%d:flags=bicubic" % tuple(size)] if size else None
    # imageio-ffmpeg logs a warning whenever the size read is not the source's
    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)
    reader = imageio_ffmpeg.read_frames(path, output_params=output)
    try:
        width, height = next(reader)["size"]
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def check_video_path(path):
    """The H.264 codec for ``path`` by its suffix; UserError for other types."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in VIDEO_CODECS:
        raise UserError("%s: unknown video type; use %s" % (path, ", ".join(
            sorted(VIDEO_CODECS))))
    return VIDEO_CODECS[suffix]


def check_picture_path(path):
    """UserError when a one-picture output ``path`` names a video."""
    if os.path.splitext(path)[1].lower() in VIDEO_CODECS:
        raise UserError("%s is a video: add --zoom-frames N for the zoom loop, or "
                        "give a .png/.jpg for one picture" % path)


def even_size(size):
    """(W, H) rounded down to even numbers (at least 2), as H.264 needs them."""
    return tuple(max(2, n - n % 2) for n in size)


def check_even(size, what="the frames"):
    """H.264 in yuv420p halves the colour resolution: width and height must be even."""
    if size[0] % 2 or size[1] % 2:
        raise UserError("%s are %dx%d: H.264 needs an even width and height; give "
                        "--size with even numbers" % ((what,) + tuple(size)))


class Encoder:
    """An ffmpeg H.264 encode in progress (see :func:`encoding`)."""

    def __init__(self, writer):
        self.writer, self.count, self.closed = writer, 0, False

    def send(self, frame):
        """Encode one (H, W, 3) uint8 frame."""
        self.writer.send(np.ascontiguousarray(frame, np.uint8))
        self.count += 1

    def close(self):
        """Finish the file (it plays from here on); later calls do nothing."""
        if not self.closed:
            self.closed = True
            self.writer.close()


@contextlib.contextmanager
def encoding(path, fps, size, quality=7.0, audio=None):
    """Yield an :class:`Encoder` writing H.264 (``size`` = (W, H), even) to a
    temporary file beside ``path``; ffmpeg is closed when the ``with`` ends,
    also on Ctrl-C, and the file renamed onto ``path`` unless it ends with an
    exception.  The body may close it first, to do more before the rename
    (a preview that goes with it).  No frame sent raises UserError, no file.
    ``audio``: imageio-ffmpeg's audio keywords (see :func:`write_video`)."""
    import imageio_ffmpeg
    codec = check_video_path(path)
    check_even(size)
    with atomic_path(path) as tmp:
        video = Encoder(imageio_ffmpeg.write_frames(
            tmp, tuple(size), fps=fps, codec=codec, pix_fmt_out="yuv420p",
            quality=quality, macro_block_size=2, ffmpeg_log_level="error", **(audio or {})))
        video.writer.send(None)  # starts ffmpeg
        try:
            yield video
        finally:
            video.close()
        if video.count == 0:
            raise UserError("%s: no frames to write" % path)


def write_video(frames, path, fps, size, audio_from=None, audio_codec=None,
                quality=7.0, count=None):
    """Encode ``frames`` (an iterable of (H, W, 3) uint8, ``size`` = (W, H)) to
    ``path`` at ``fps``, atomically.  ``audio_from``: a file whose first audio
    track (codec ``audio_codec``, as :func:`probe` names it) goes with the
    video, cut to the video's length, ``count`` frames (default: len(frames)).
    Returns the number of frames written; none written raises UserError and
    leaves no file."""
    check_video_path(path)
    check_even(size)
    audio = {}
    if audio_from is not None and audio_codec is not None:
        if count is None:
            frames = list(frames)
            count = len(frames)
        # -t, not -shortest: an audio track a little shorter than the video
        # (AAC codes whole 1024-sample frames) must not cut video frames off
        audio = dict(audio_path=audio_from, output_params=["-t", "%.6f" % (count / fps)],
                     audio_codec="copy" if audio_codec in COPY_AUDIO else "aac")
    with encoding(path, fps, size, quality, audio) as video:
        for frame in frames:
            video.send(frame)
    return video.count


class Preview:
    """Every ``stride``-th of ``total`` frames, at most PREVIEW_FRAMES of them,
    downscaled to ``width``, gathered as they come for an animated time-lapse.
    ``least_stride``: keep no more than every so many frames."""

    def __init__(self, total, width=PREVIEW_WIDTH, least_stride=1):
        self.stride = max(least_stride, math.ceil(total / float(PREVIEW_FRAMES)))
        self.width, self.frames = width, []

    def add(self, index, frame):
        """Frame ``index`` (uint8 (H, W, 3)): kept when the stride picks it."""
        from PIL import Image
        if index % self.stride == 0 and len(self.frames) < PREVIEW_FRAMES:
            image = Image.fromarray(np.asarray(frame, np.uint8))
            if image.width > self.width:
                image = image.resize((self.width, round(image.height * self.width
                                                        / image.width)), Image.LANCZOS)
            self.frames.append(image)

    def save(self, path, frame_ms=PREVIEW_MS):
        """An animated WebP (or GIF, by suffix), ``frame_ms`` per frame,
        atomically -> the number of frames (0: none kept, no file)."""
        if not self.frames:
            return 0
        kind = "GIF" if path.lower().endswith(".gif") else "WEBP"
        with atomic_path(path) as tmp:
            self.frames[0].save(tmp, format=kind, save_all=True,
                                append_images=self.frames[1:], duration=frame_ms, loop=0,
                                **({"quality": 60} if kind == "WEBP" else {}))
        return len(self.frames)


def save_preview(frames, path, total=None, frame_ms=PREVIEW_MS, width=PREVIEW_WIDTH):
    """An animated WebP (or GIF, by suffix) of every k-th of ``frames`` (uint8),
    at most PREVIEW_FRAMES of them and ``width`` pixels wide, atomically,
    ``frame_ms`` per source frame (k times that per preview frame).
    ``total``: the number of frames, to choose k up front (default: all are
    kept in memory first).  Returns the number of preview frames."""
    frames = frames if total is not None else list(frames)
    preview = Preview(len(frames) if total is None else total, width)
    for i, frame in enumerate(frames):
        preview.add(i, frame)
    return preview.save(path, frame_ms * preview.stride)
