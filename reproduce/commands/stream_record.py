"""``stream``: record the zooming stream to a video, plus an animated preview
(:mod:`reproduce.stream.record` makes it)."""
from ..checks import Rule
from ._options import RAW, add_stream_arguments, stream_job, typed


EPILOG = """examples:
  %(prog)s --out results/volcano.mp4 --classes volcano --seconds 30
  %(prog)s --out results/dream.mp4 --request "rabbit and analog clock" \\
      --request bubble --seconds 20 --weights weights/vgg16.h5 --prior lsd2015
  %(prog)s --out results/volcano_fourier.mp4 --classes volcano --recipe fourier

Writes the video with the ffmpeg that the imageio-ffmpeg package ships, and
an animated WebP (or GIF) preview beside it.  Ctrl-C keeps what was recorded.
"""


def register(sub):
    p = sub.add_parser("stream", help="record the zooming stream to a video file",
                       epilog=EPILOG, formatter_class=RAW)
    add_stream_arguments(p)
    p.add_argument("--out", required=True, help="the video: .mp4, .mkv or .mov (H.264)")
    p.add_argument("--seconds", type=typed(Rule(float, above=0, high=86400)), default=30.0,
                   help="length of the video (default %(default)s)")
    p.add_argument("--request", action="append", default=[], metavar="TEXT",
                   help="a request as typed on the page (\"rabbit and analog clock\"); "
                        "give several: each holds for --hold seconds (default: an "
                        "equal share of the video), after --classes if given")
    p.add_argument("--preview", default=None,
                   help="animated preview, .webp or .gif (default: --out with .webp); "
                        "'none' for none")
    p.add_argument("--quality", type=typed(Rule(float, low=0, high=10)), default=7.0,
                   help="video quality 0-10 (default %(default)s)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args):
    from ..errors import UserError
    from ..stream.record import check_outputs, record, requests_from
    from ..stream.setup import prepare

    if not args.seconds > 0:
        raise UserError("--seconds must be positive")
    _, preview_path = check_outputs(args.out, args.preview)
    job = stream_job(args)
    setup = prepare(job)
    requests = requests_from(setup, args.request, lead=bool(args.classes))
    result, wrote_preview = record(setup, requests, args.seconds, args.out, preview_path,
                                   job.hold, args.quality, not args.no_progress)
    fps = setup.profile.fps
    print("%s %s: %.1f s of video (%d frames) in %.0f s%s%s" % (
        "stopped early, kept" if result.interrupted else "wrote", args.out,
        result.steps / float(fps), result.steps, result.seconds,
        "; preview %s" % preview_path if wrote_preview else "",
        " (interrupted)" if result.interrupted else ""))
    return 130 if result.interrupted else 0
