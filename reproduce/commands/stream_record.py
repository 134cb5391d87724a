"""``stream``: record the zooming stream to a video, plus an animated preview.

The frames are the live page's (same key frames, same 2015 zoom and
in-between frames, same overlay), made as fast as the CPU allows instead
of in real time, with a fixed zoom per key frame, so the same options give
the same video.  Requests follow each other every ``--hold`` seconds of video.
"""
import math
import os
import time

EPILOG = """examples:
  python -m reproduce stream --out results/volcano.mp4 --classes volcano --seconds 30
  python -m reproduce stream --out dream.mp4 --request "rabbit and analog clock" \\
      --request bubble --seconds 20 --weights weights/vgg16.h5 --prior lsd2015

Writes the video with the ffmpeg that the imageio-ffmpeg package ships, and
an animated WebP (or GIF) preview beside it.  Ctrl-C keeps what was recorded.
"""

VIDEO_CODECS = {".mp4": "libx264", ".mkv": "libx264", ".mov": "libx264"}
PREVIEW_FRAMES = 100        # at most, spread over the video (a time-lapse)
PREVIEW_MS = 80             # per preview frame: 12.5 frames a second
PREVIEW_WIDTH = 336


def register(sub):
    import argparse

    from .serve import add_stream_arguments
    p = sub.add_parser("stream", help="record the zooming stream to a video file",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_stream_arguments(p)
    p.add_argument("--out", required=True, help="the video: .mp4, .mkv or .mov (H.264)")
    p.add_argument("--seconds", type=float, default=30.0,
                   help="length of the video (default %(default)s)")
    p.add_argument("--request", action="append", default=[], metavar="TEXT",
                   help="a request as typed on the page (\"rabbit and analog clock\"); "
                        "give several: each holds for --hold seconds (default: an "
                        "equal share of the video), after --classes if given")
    p.add_argument("--preview", default=None,
                   help="animated preview, .webp or .gif (default: --out with .webp); "
                        "'none' for none")
    p.add_argument("--quality", type=float, default=7.0,
                   help="video quality 0-10 (default %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def requests_from(args, setup):
    """The recording's requests: --classes (if given) then each --request."""
    from ..errors import UserError
    requests = [setup.start] if args.classes or not args.request else []
    for text in args.request:
        request = setup.parser.parse(text)
        if not request.ok or request.unknown:
            raise UserError("--request %r: unknown %s; close matches: %s" % (
                text, ", ".join(request.unknown) or "(nothing to match)",
                "; ".join(request.suggestions) or "none"))
        requests.append(request)
    return requests


def check_outputs(args):
    """(video codec, preview path or None); UserError for unknown suffixes."""
    from ..errors import UserError
    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in VIDEO_CODECS:
        raise UserError("%s: unknown video type; use %s" % (args.out,
                        ", ".join(sorted(VIDEO_CODECS))))
    preview = args.preview or os.path.splitext(args.out)[0] + ".webp"
    if preview == "none":
        return VIDEO_CODECS[suffix], None
    if os.path.splitext(preview)[1].lower() not in (".webp", ".gif"):
        raise UserError("%s: the preview must be .webp or .gif" % preview)
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


def run(args):
    import imageio_ffmpeg
    from tqdm import tqdm

    from ..errors import UserError
    from ..fileio import atomic_path
    from ..nets.build import build_net
    from ..lsd2015.dreamer import Dreamer
    from ..stream.keyframes import recorded_frames
    from ..nets.weights import load_model
    from .serve import prepare

    if not args.seconds > 0:
        raise UserError("--seconds must be positive")
    codec, preview_path = check_outputs(args)
    setup = prepare(args)
    width, height = setup.profile.stream_size
    if width % 2 or height % 2:
        raise UserError("stream size %dx%d: H.264 needs an even width and height"
                        % (width, height))
    requests = requests_from(args, setup)
    hold = args.hold or args.seconds / len(requests)
    fps = setup.profile.fps
    total = int(round(args.seconds * fps))

    dreamer = Dreamer(build_net(load_model(setup.weights)), setup.profile, setup.prior)
    dreamer.set_image(setup.image)
    frames = recorded_frames(dreamer, setup.image, setup.profile, requests, hold,
                             (height, width))
    preview = Preview(total)
    started, count, interrupted = time.time(), 0, False
    bar = tqdm(total=total, unit="frame", disable=args.no_progress,
               desc=" then ".join(r.overlay for r in requests)[:60])
    with atomic_path(args.out) as tmp:
        writer = imageio_ffmpeg.write_frames(
            tmp, (width, height), fps=fps, codec=codec, pix_fmt_out="yuv420p",
            quality=args.quality, macro_block_size=2, ffmpeg_log_level="error")
        writer.send(None)  # starts ffmpeg
        try:
            for count, frame in enumerate(frames, 1):
                writer.send(frame)
                preview.add(count - 1, frame)
                bar.update(1)
                if count >= total:
                    break
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
            writer.close()  # finalises the file, also after Ctrl-C
        if count == 0:
            raise KeyboardInterrupt  # nothing recorded: leave no empty video
    wrote_preview = preview_path and preview.save(preview_path)
    print("%s %s: %.1f s of video (%d frames) in %.0f s%s%s" % (
        "stopped early, kept" if interrupted else "wrote", args.out, count / float(fps),
        count, time.time() - started,
        "; preview %s" % preview_path if wrote_preview else "",
        " (interrupted)" if interrupted else ""))
    return 130 if interrupted else 0
