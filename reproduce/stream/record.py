"""The zooming stream recorded to a video, plus an animated preview.

The frames are the live page's (same key frames, same 2015 zoom and
in-between frames, same overlay), made as fast as the CPU allows instead
of in real time, with a fixed zoom per key frame, so the same job gives
the same video.  Requests follow each other every ``hold`` seconds of video.
"""
import os
import sys

from ..errors import UserError

# The stream's time-lapse keeps at most every 2nd frame: 12.5 of its 25 a second.
PREVIEW_STRIDE = 2


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
    from ..video.io import check_video_path
    check_output(out)
    codec = check_video_path(out)
    preview = preview or os.path.splitext(out)[0] + ".webp"
    if preview == "none":
        return codec, None
    if os.path.splitext(preview)[1].lower() not in (".webp", ".gif"):
        raise UserError("%s: the preview must be .webp or .gif" % preview)
    check_output(preview, [out], option="--preview")
    return codec, preview


def record(setup, requests, seconds, out, preview_path=None, hold=None, quality=7.0,
           progress=True):
    """Record ``seconds`` of the stream of ``setup`` to ``out`` (H.264), and its
    preview to ``preview_path`` (None: none) -> (:class:`reproduce.loop.Result`
    whose ``steps`` counts the frames written and ``image`` is the last frame,
    whether a preview was written).

    ``hold``: seconds of video each request holds (default: an equal share).
    Ctrl-C keeps what was recorded; with nothing recorded, no file is left.
    """
    from .keyframes import recorded_frames
    from ..fileio import deferred_interrupts
    from ..loop import Loop, Result
    from ..recipes import build_dreamer
    from ..video.io import Preview, check_even, encoding

    check_outputs(out, preview_path or "none")
    if not seconds > 0:
        raise UserError("--seconds must be positive")
    width, height = setup.profile.stream_size
    check_even((width, height), "the stream frames")
    hold = hold or seconds / len(requests)
    fps = setup.profile.fps
    total = int(round(seconds * fps))

    dreamer = build_dreamer(setup.job, setup.profile)
    dreamer.set_image(setup.image)
    frames = recorded_frames(dreamer, setup.image, setup.profile, requests, hold,
                             (height, width))
    preview, frame = Preview(total, least_stride=PREVIEW_STRIDE), None
    # from the end of the loop to past the rename, Ctrl-C and SIGTERM wait:
    # the video and its preview are published together or not at all
    final = deferred_interrupts(active=False)
    with final, encoding(out, fps, (width, height), quality) as video:
        try:
            with Loop(total, " then ".join(r.overlay for r in requests)[:60], progress,
                      unit="frame") as loop:
                for frame in frames:
                    video.send(frame)
                    preview.add(loop.count, frame)
                    loop.tick()
                    if loop.count >= total:
                        break
        finally:
            final.start()
            video.close()  # finalises the file, also after Ctrl-C
        if loop.count == 0:
            raise KeyboardInterrupt  # nothing recorded: leave no empty video
        wrote_preview = False
        if preview_path:
            try:  # before the video's rename: a failure leaves no half-publication
                wrote_preview = preview.save(preview_path) > 0
            except (OSError, ValueError) as exc:
                print("warning: %s: preview not written (%s); the video is kept"
                      % (preview_path, exc), file=sys.stderr)
    return Result(frame, loop.count, loop.seconds, loop.interrupted, [],
                  setup.profile, tuple(r.classes for r in requests)), wrote_preview
