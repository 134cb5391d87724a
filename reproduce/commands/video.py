"""``video IN.mp4 --layer relu4_3 --out OUT.mp4``: DeepDream every frame of a
film, each frame started from the previous dream warped along the optical flow."""
from .. import paths
from ._options import (RAW, add_engine_arguments, add_input_arguments,
                       add_objective_arguments, add_settings_arguments, dream_net,
                       dream_settings, parse_memory, photo_size)

EPILOG = """examples:
  %(prog)s film.mp4 --layer relu4_3 --size 320 --out results/dream.mp4
  %(prog)s film.mp4 --layer relu4_3 --blend 0 --out results/flicker.mp4
  %(prog)s film.mp4 --layer relu4_3 --size 320 --out results/dream.mp4 --resume

Frame t starts from (1 - blend) * frame t + blend * (dream t-1 warped along the
flow from frame t back to frame t-1).  The video keeps the film's frame rate,
frame count and audio track.  Frames go to a folder beside OUT as they are
made (results/dream.mp4: results/dream.frames/): Ctrl-C writes OUT with the
frames done so far, and --resume continues.
"""


def register(sub):
    from ..video.dream import FlowSettings
    from ..video.flow import FLOW_METHODS
    d = FlowSettings()
    p = sub.add_parser("video", help="DeepDream every frame of a film, coherent along "
                                     "the optical flow",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("input", help="the film (.mp4, .mkv, .mov, ...: what ffmpeg reads)")
    add_objective_arguments(p, layer="relu4_3")
    add_input_arguments(p, paths.EMBEDDED_VGG16_CONV)
    add_settings_arguments(p)
    add_engine_arguments(p)
    p.add_argument("--blend", type=float, default=d.blend,
                   help="weight of the warped previous dream in each frame's start "
                        "(default %(default)s; 0: every frame on its own)")
    p.add_argument("--flow", choices=FLOW_METHODS, default=d.flow,
                   help="optical flow between input frames (default %(default)s: "
                        "OpenCV's Farneback; dis: dense inverse search; none: zero)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from OUT.frames/")
    p.add_argument("--keep-frames", action="store_true",
                   help="keep OUT.frames/ (one PNG per frame) after the video is written")
    p.add_argument("--out", required=True, help="the video: .mp4, .mkv or .mov (H.264)")
    p.set_defaults(func=run)


def run(args):
    import os

    from ..deepdream.dream import check_octaves, compile_gradient
    from ..deepdream.inputs import check_channel, dream_objective, resolve_layer
    from ..nets.memory import check_fits
    from ..nets.weights import load_model
    from ..video import io
    from ..video.dream import FlowSettings, deepdream_frame, dream_film, frame_size
    from ..video.frames import check_video_output

    check_video_output(args.out, [args.input, args.weights, args.guide], args.resume)
    flow = FlowSettings(blend=args.blend, flow=args.flow)
    flow.check()
    settings = dream_settings(args)
    memory = parse_memory(args.max_memory)
    info = io.probe(args.input)
    size = frame_size(photo_size(args), info.size)
    io.check_even(size, "the frames of %s" % args.input)
    net = dream_net(args, settings, load_model(args.weights))
    layer = resolve_layer(net, args.layer, args.pre_relu)
    check_channel(net, layer, args.channel, args.guide)
    check_fits(net, size[1], size[0], layer, memory, "a frame of %s" % args.input)
    check_octaves(net, layer, size[::-1], settings)
    objective = dream_objective(net, layer, args.channel, args.guide, memory)
    run = {"weights": os.path.abspath(args.weights), "layer": layer,
           "objective": objective.name, "guide": args.guide,
           "settings": settings.settings(), "backend": args.backend}
    result = dream_film(info, deepdream_frame(compile_gradient(net, objective), settings,
                                                 net.model.mean_rgb()),
                        args.out, size, flow, run, args.resume, not args.no_progress,
                        "video " + layer, args.keep_frames)
    print(result.summary())
    return 130 if result.interrupted else 0
