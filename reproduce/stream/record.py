"""The zooming stream recorded to a video, plus an animated preview.

The frames are the live page's (same key frames, same 2015 zoom and
in-between frames, same overlay), made as fast as the CPU allows instead
of in real time, with a fixed zoom per key frame, so the same job gives
the same video.  Requests follow each other every ``hold`` seconds of video.
"""
import math
import os
import sys

from ..errors import UserError

VIDEO_CODECS = {".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264"}
PREVIEW_FRAMES = 100        # at most, spread over the video (a time-lapse)
PREVIEW_MS = 80             # per preview frame: 12.5 frames a second
PREVIEW_WIDTH = 336


def requests_from(setup, texts, lead=True):
    """The recording's requests: the setup's first request (``lead``) then
    each of ``texts`` as typed on the page."""
    requests = [setup.start] if lead or not texts else []
    for text in texts:
        request = setup.parser.parse(text)
        if not request.ok or request.unknown:
            raise UserError("--request %r: unknown %s; close matches: %s" % (
                text, ", ".join(request.unknown) or "(nothing to match)",
                "; ".join(request.suggestions) or "none"))
        requests.append(request)
    return requests


def check_outputs(out, preview=None):
    """(video codec, preview path or None) for video ``out`` and ``preview``
    (None: ``out`` with .webp; "none": no preview); UserError for unknown suffixes."""
    from ..fileio import check_output
    check_output(out)
    suffix = os.path.splitext(out)[1].lower()
    if suffix not in VIDEO_CODECS:
        raise UserError("%s: unknown video type; use %s" % (out,
                        ", ".join(sorted(VIDEO_CODECS))))
    preview = preview or os.path.splitext(out)[0] + ".webp"
    if preview == "none":
        return VIDEO_CODECS[suffix], None
    if os.path.splitext(preview)[1].lower() not in (".webp", ".gif"):
        raise UserError("%s: the preview must be .webp or .gif" % preview)
    check_output(preview, [out], option="--preview")
    return VIDEO_CODECS[suffix], preview


class Preview:
    """Every ``stride``-th frame, downscaled, for an animated WebP/GIF time-lapse."""

    def __init__(self, total_frames):
        self.stride = max(2, math.ceil(total_frames / float(PREVIEW_FRAMES)))
        self.frames = []

    def add(self, index, frame):
        from PIL import Image
        if index % self.stride == 0 and len(self.frames) < PREVIEW_FRAMES:
            image = Image.fromarray(frame)
            if image.width > PREVIEW_WIDTH:
                image = image.resize((PREVIEW_WIDTH, round(image.height * PREVIEW_WIDTH
                                                           / image.width)), Image.LANCZOS)
            self.frames.append(image)

    def save(self, path):
        from ..fileio import atomic_path
        if not self.frames:
            return False
        kind = "GIF" if path.lower().endswith(".gif") else "WEBP"
        with atomic_path(path) as tmp:
            self.frames[0].save(tmp, format=kind, save_all=True,
                                append_images=self.frames[1:], duration=PREVIEW_MS,
                                loop=0, **({"quality": 60} if kind == "WEBP" else {}))
        return True


def record(setup, requests, seconds, out, preview_path=None, hold=None, quality=7.0,
           progress=True):
    """Record ``seconds`` of the stream of ``setup`` to ``out`` (H.264), and its
    preview to ``preview_path`` (None: none) -> (:class:`reproduce.loop.Result`
    whose ``steps`` counts the frames written and ``image`` is the last frame,
    whether a preview was written).

    ``hold``: seconds of video each request holds (default: an equal share).
    Ctrl-C keeps what was recorded; with nothing recorded, no file is left.
    """
    import imageio_ffmpeg

    from .keyframes import recorded_frames
    from ..fileio import atomic_path, deferred_interrupts
    from ..loop import Loop, Result
    from ..recipes import build_dreamer

    codec, _ = check_outputs(out, preview_path or "none")
    if not seconds > 0:
        raise UserError("--seconds must be positive")
    width, height = setup.profile.stream_size
    if width % 2 or height % 2:
        raise UserError("stream size %dx%d: H.264 needs an even width and height"
                        % (width, height))
    hold = hold or seconds / len(requests)
    fps = setup.profile.fps
    total = int(round(seconds * fps))

    dreamer = build_dreamer(setup.job, setup.profile)
    dreamer.set_image(setup.image)
    frames = recorded_frames(dreamer, setup.image, setup.profile, requests, hold,
                             (height, width))
    preview, frame = Preview(total), None
    # from the end of the loop to past the rename, Ctrl-C and SIGTERM wait:
    # the video and its preview are published together or not at all
    final = deferred_interrupts(active=False)
    with final, atomic_path(out) as tmp:
        writer = imageio_ffmpeg.write_frames(
            tmp, (width, height), fps=fps, codec=codec, pix_fmt_out="yuv420p",
            quality=quality, macro_block_size=2, ffmpeg_log_level="error")
        writer.send(None)  # starts ffmpeg
        try:
            with Loop(total, " then ".join(r.overlay for r in requests)[:60], progress,
                      unit="frame") as loop:
                for frame in frames:
                    writer.send(frame)
                    preview.add(loop.count, frame)
                    loop.tick()
                    if loop.count >= total:
                        break
        finally:
            final.start()
            writer.close()  # finalises the file, also after Ctrl-C
        if loop.count == 0:
            raise KeyboardInterrupt  # nothing recorded: leave no empty video
        wrote_preview = False
        if preview_path:
            try:  # before the video's rename: a failure leaves no half-publication
                wrote_preview = preview.save(preview_path)
            except (OSError, ValueError) as exc:
                print("warning: %s: preview not written (%s); the video is kept"
                      % (preview_path, exc), file=sys.stderr)
    return Result(frame, loop.count, loop.seconds, loop.interrupted, [],
                  setup.profile, tuple(r.classes for r in requests)), wrote_preview
