"""``deepdream IMAGE --layer conv4_3``: Google's DeepDream on one photo, or
with ``--zoom-frames N`` dream.ipynb's zoom loop as a video."""
from .. import paths
from ._options import (RAW, add_engine_arguments, add_input_arguments,
                       add_objective_arguments, add_prior_arguments, add_settings_arguments,
                       dream_net, dream_settings, parse_memory, photo_size)

EPILOG = """examples:
  %(prog)s photo.jpg --layer conv4_3 --out results/dream.png
  %(prog)s photo.jpg --layer conv3_3 --channel 17 --out results/c17.png
  %(prog)s photo.jpg --layer conv4_2 --guide flowers.jpg --out results/guided.png
  %(prog)s photo.jpg --zoom-frames 100 --out results/loop.mp4
  %(prog)s photo.jpg --zoom-frames 100 --recipe lsd2015 \\
      --weights weights/efficientnet_lite0.h5 --classes volcano --out results/loop2015.mp4

A conv layer name means its output after the ReLU, as Caffe's blob of that
name reads after a full forward pass (its ReLU runs in place); --pre-relu
takes the raw output, which is what google/deepdream's end='conv4_3'
enhanced (pycaffe's forward(end=...) stops before the in-place ReLU layer).
"""


def register(sub):
    p = sub.add_parser("deepdream", help="enhance what a layer sees in a photo "
                                         "(Google's DeepDream)",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("image", help="the photo to dream on (PNG/JPEG)")
    add_objective_arguments(p)
    add_input_arguments(p, paths.EMBEDDED_VGG16_CONV)
    add_settings_arguments(p)
    add_engine_arguments(p)
    add_zoom_arguments(p)
    p.add_argument("--out", required=True, help="output image (PNG/JPEG), or with "
                   "--zoom-frames a video (.mp4, .mkv, .mov)")
    p.set_defaults(func=run)


def add_zoom_arguments(p):
    """dream.ipynb's zoom loop: --zoom-frames N makes a video."""
    from ..video.zoom import ZoomSettings
    d = ZoomSettings()
    g = p.add_argument_group("zoom loop (dream.ipynb's last cell: each frame "
                             "dreamed from the previous one zoomed in)")
    g.add_argument("--zoom-frames", type=int, default=None, metavar="N",
                   help="make a video of N frames (the notebook made %d)" % d.frames)
    g.add_argument("--zoom-scale", type=float, default=d.scale,
                   help="zoom in by 1/(1-s) per frame (default %(default)s, the "
                        "notebook's)")
    g.add_argument("--zoom-centre", choices=("notebook", "true"), default=d.centre,
                   help="notebook: about (h/2, w/2), half a pixel off, as "
                        "dream.ipynb (default); true: about the true centre")
    g.add_argument("--fps", type=float, default=d.fps,
                   help="frame rate of the video (default %(default)s)")
    g.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from the frame folder beside "
                        "--out (loop.mp4: loop.frames/)")
    g.add_argument("--recipe", choices=("deepdream", "lsd2015"), default="deepdream",
                   help="deepdream: DeepDream each frame (default); lsd2015: the "
                        "2015 stream's class objective, prior and update rule on a "
                        "classifier (--classes; --steps steps a frame)")
    g.add_argument("--classes", action="append", default=[], metavar="NAME",
                   help="with --recipe lsd2015: the class (twice: lower, upper half)")
    add_prior_arguments(g)


# --------------------------------------------------------------- run

def run(args):
    from ..deepdream.dream import check_octaves, compile_gradient, deepdream
    from ..deepdream.inputs import check_channel, dream_objective, load_photo, resolve_layer
    from ..fileio import save_image
    from ..nets.weights import load_model
    from ..video.io import check_picture_path
    from ..fileio import check_output

    if args.zoom_frames is not None or args.recipe != "deepdream":
        return run_zoom(args)
    check_picture_path(args.out)
    check_output(args.out, [args.image, args.weights, getattr(args, "guide", None)])
    settings = dream_settings(args)
    net = dream_net(args, settings, load_model(args.weights))
    layer = resolve_layer(net, args.layer, args.pre_relu)
    check_channel(net, layer, args.channel, args.guide)
    memory = parse_memory(args.max_memory)
    image = load_photo(args.image, net, layer, photo_size(args), memory)
    check_octaves(net, layer, image.shape[:2], settings)
    objective = dream_objective(net, layer, args.channel, args.guide, memory)
    result = deepdream(compile_gradient(net, objective), image, settings,
                       progress=not args.no_progress, desc=objective.name,
                       mean=net.model.mean_rgb())
    save_image(result.image, args.out)
    print("%s %s: %s, %d steps in %.1f s%s" % (
        "stopped early," if result.interrupted else "wrote", args.out, objective.name,
        result.steps, result.seconds,
        " (interrupted: kept what was made)" if result.interrupted else ""))
    return 130 if result.interrupted else 0


def run_zoom(args):
    """--zoom-frames: dream.ipynb's loop, of DeepDream or (--recipe lsd2015) of
    the 2015 stream's recipe."""
    import os

    from ..deepdream.dream import check_octaves, compile_gradient
    from ..deepdream.inputs import check_channel, dream_objective, load_photo, resolve_layer
    from ..errors import UserError
    from ..job import PictureJob
    from ..nets.weights import load_model
    from ..recipes import job_settings
    from ..video.dream import deepdream_frame
    from ..video.frames import check_video_output
    from ..video.io import check_even
    from ..video.zoom import ZoomSettings, class_frames, zoom_loop

    if args.zoom_frames is None:
        raise UserError("--recipe %s makes a zoom loop: give --zoom-frames N" % args.recipe)
    zoom = ZoomSettings(frames=args.zoom_frames, scale=args.zoom_scale,
                        centre=args.zoom_centre, fps=args.fps)
    zoom.check()
    check_video_output(args.out, [args.image, args.weights, args.guide, args.prior],
                       args.resume)
    settings = dream_settings(args)
    model = load_model(args.weights)
    net = dream_net(args, settings, model)
    memory = parse_memory(args.max_memory)
    run = {"image": os.path.abspath(args.image), "size": args.size,
           "weights": os.path.abspath(args.weights), "recipe": args.recipe,
           "steps": args.steps}
    if args.recipe == "lsd2015":
        job = PictureJob(weights=model, classes=tuple(args.classes), recipe="lsd2015",
                         profile="stream2015", prior=args.prior, prior_dir=args.prior_dir,
                         backend=args.backend,
                         overrides=(("precision", settings.precision),))
        model.require_classes("zoom loops of --recipe lsd2015", args.weights)
        layer = job_settings(job, model).layer
    else:
        layer = resolve_layer(net, args.layer, args.pre_relu)
        check_channel(net, layer, args.channel, args.guide)
    image = load_photo(args.image, net, layer, zoom_size(args), memory)
    check_even(image.shape[1::-1], "the frames (%s)" % args.image)
    if args.recipe == "lsd2015":
        dream_one = class_frames(job, image.shape[1::-1], args.steps, model)
        run.update(classes=list(args.classes), prior=args.prior, prior_dir=args.prior_dir,
                   backend=args.backend, precision=settings.precision)
    else:
        check_octaves(net, layer, image.shape[:2], settings)
        objective = dream_objective(net, layer, args.channel, args.guide, memory)
        dream_one = deepdream_frame(compile_gradient(net, objective), settings,
                                    net.model.mean_rgb())
        run.update(layer=layer, objective=objective.name, guide=args.guide,
                   settings=settings.settings())
    result = zoom_loop(image, dream_one, args.out, zoom, run, args.resume,
                       not args.no_progress, desc="zoom " + args.recipe)
    print(result.summary())
    return 130 if result.interrupted else 0


def zoom_size(args):
    """The loop's frame size: --size WxH as given (an odd one is refused
    later, by name), else the photo's or --size N's, rounded down to even
    numbers for H.264, saying so when that changes it."""
    from ..deepdream.inputs import fit_size
    from ..fileio import image_header
    from ..video.io import even_size
    size = photo_size(args)
    if size is not None and not isinstance(size, int):
        return size
    size = fit_size(size, image_header(args.image)) if size else image_header(args.image)
    even = even_size(size)
    if even != tuple(size):
        print("note: %s gives %dx%d frames; H.264 needs an even width and height, so "
              "the loop is %dx%d" % ((args.image,) + tuple(size) + even), flush=True)
    return even
