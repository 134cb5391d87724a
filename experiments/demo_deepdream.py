"""``make demo``, DeepDream half: offline, on the CPU, with the embedded weights.

Writes to ``results/demo/`` (each picture with a JSON record in the format
of ``experiments/figure.py``, so ``experiments/gallery.py --results
results/demo`` builds the page):

* ``deepdream_*``: scikit-image's astronaut photo at 256x256, DeepDream on
  conv4_3 (after its ReLU) of the HED VGG-16 with the notebook's settings
  (4 octaves of 10 steps, octave scale 1.4, step 1.5, jitter 32);
* ``sweep_*``: the same photo at 192x192 dreamed at the last conv layer of
  each of VGG-16's five blocks (conv1_2, conv2_2, conv3_3, conv4_3,
  conv5_3), 3 octaves of 8 steps each: a subset of the 13 layers, to
  keep the demo to about two minutes on two cores (``python -m reproduce
  sweep`` does all 13);
* ``video_*``: a clip the demo makes itself (a slow pan and zoom across
  scikit-image's cat photo, 2 s at 12 fps, 160x112), dreamed frame by frame
  at relu4_3, each frame started from the previous dream warped along
  OpenCV's Farneback flow (``python -m reproduce video``): the .mp4, an
  animated .webp preview, and the input clip beside them;
* ``zoom_*``: dream.ipynb's zoom loop from the astronaut at 160x160, each
  frame dreamed at relu4_3 from the previous one zoomed in by 1/(1-0.05)
  (``python -m reproduce deepdream IMAGE --zoom-frames N``).

``--quick`` shrinks everything to a smoke run (for tests and CI).
"""
import argparse
import os
import sys

from reproduce import paths
from reproduce.deepdream.inputs import astronaut
from reproduce.deepdream.settings import DreamSettings
from reproduce.errors import UserError

DREAM_LAYER = "conv4_3"
DREAM_SIZE = (256, 256)                     # (width, height)
DREAM_SETTINGS = DreamSettings()            # the notebook's
SWEEP_LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")
SWEEP_SIZE = (192, 192)
SWEEP_SETTINGS = DreamSettings(octaves=3, steps=8)
VIDEO_LAYER = "conv4_3"
VIDEO_SIZE = (160, 112)                     # (width, height): even, for H.264
VIDEO_FRAMES, VIDEO_FPS = 24, 12
VIDEO_SETTINGS = DreamSettings(octaves=3, steps=6)
ZOOM_SIZE = (160, 160)
ZOOM_FRAMES = 24
ZOOM_SETTINGS = DreamSettings(octaves=3, steps=6)
QUICK = dict(dream_size=(96, 96), sweep_size=(64, 64),
             dream=DreamSettings(octaves=2, steps=2, jitter=8),
             sweep=DreamSettings(octaves=1, steps=2, jitter=8),
             video_size=(64, 48), video_frames=4, zoom_size=(64, 64), zoom_frames=3,
             video=DreamSettings(octaves=1, steps=2, jitter=8))


def pan_zoom_clip(path, frames, size, fps, photo=None):
    """Write ``path``: a slow pan and zoom across scikit-image's cat photo
    (``frames`` frames at ``fps``, ``size`` = (W, H)); returns the frames.

    A window of the photo's aspect ratio slides left to right while it
    shrinks from 80% to 65% of the photo's width: motion of every kind a
    film has (translation and scale), with no download.
    """
    import numpy as np
    import skimage.data
    from PIL import Image

    from reproduce.video.io import write_video
    photo = Image.fromarray(skimage.data.chelsea() if photo is None else photo)
    clip = []
    for i in range(frames):
        t = i / max(1, frames - 1)
        width = photo.width * (0.80 - 0.15 * t)
        height = width * size[1] / size[0]
        left = (photo.width - width) * (0.1 + 0.8 * t)
        top = (photo.height - height) / 2
        clip.append(np.asarray(photo.resize(size, Image.BICUBIC, box=(
            left, top, left + width, top + height))))
    write_video(clip, path, fps, size)
    return clip


def input_record(clip, meta, frames, size):
    """The record of the demo's own input clip (shown before its dream)."""
    from reproduce.report.gallery import write_record
    from reproduce.video.io import read_frames, save_preview
    name = os.path.splitext(os.path.basename(clip))[0]
    save_preview(read_frames(clip), os.path.join(os.path.dirname(clip), name + ".webp"))
    record = dict(meta, name=name, image=name + ".webp", video=os.path.basename(clip),
                  classes=["input clip"], caption="The input clip, made by the demo: "
                  "%d frames at %d fps, %dx%d" % ((frames, VIDEO_FPS) + tuple(size)),
                  seconds=0, steps=0, interrupted=False,
                  settings={"source": "skimage.data.chelsea(), panned and zoomed"})
    write_record(record, os.path.join(os.path.dirname(clip), name + ".json"))


def video_record(name, caption, meta, result, settings, preview_of=None, **extra):
    """The gallery record of a video: the animated preview is its picture."""
    from reproduce.report.gallery import write_record
    from reproduce.video.io import read_frames, save_preview

    out_dir = os.path.dirname(result.path)
    preview = name + ".webp"
    save_preview(read_frames(preview_of or result.path), os.path.join(out_dir, preview))
    record = dict(meta, name=name, image=preview, video=os.path.basename(result.path),
                  classes=[extra.pop("layer")], caption=caption,
                  seconds=round(result.seconds, 1), steps=result.frames * settings.octaves
                  * settings.steps, interrupted=result.interrupted,
                  settings=dict(settings.settings(), frames=result.frames,
                                seconds_per_frame=round(result.seconds_per_frame, 2),
                                **extra))
    write_record(record, os.path.join(out_dir, name + ".json"))
    return record


def dream_video(net, gradients, out_dir, meta, q):
    """The flow-coherent clip: video_00_input.mp4 made here, dreamed into
    video_01_relu4_3.mp4, each with a preview and a record."""
    from reproduce import objectives
    from reproduce.deepdream.dream import compile_gradient
    from reproduce.nets.naming import rectified
    from reproduce.video.dream import FlowSettings, deepdream_frame, dream_film
    from reproduce.video.frames import folder_for
    from reproduce.video.io import probe

    layer = rectified(net, VIDEO_LAYER)
    size, frames = q.get("video_size", VIDEO_SIZE), q.get("video_frames", VIDEO_FRAMES)
    settings = q.get("video", VIDEO_SETTINGS)
    clip = os.path.join(out_dir, "video_00_input.mp4")
    os.makedirs(out_dir, exist_ok=True)
    pan_zoom_clip(clip, frames, size, VIDEO_FPS)
    input_record(clip, meta, frames, size)
    if layer not in gradients:
        gradients[layer] = compile_gradient(net, objectives.layer_l2(layer))
    flow = FlowSettings()
    out = os.path.join(out_dir, "video_01_%s.mp4" % layer)
    result = dream_film(probe(clip), deepdream_frame(gradients[layer], settings), out,
                        size, flow, resume=os.path.isdir(folder_for(out)),
                        desc="video " + layer)
    caption = ("Video: a pan and zoom across scikit-image's cat (%d frames at %d fps, "
               "made by the demo), DeepDream at %s every frame; each frame starts "
               "from %g x the frame + %g x the previous dream warped along "
               "OpenCV's Farneback flow" % (frames, VIDEO_FPS, layer, 1 - flow.blend,
                                            flow.blend))
    video_record("video_01_" + layer, caption, meta, result, settings, layer=layer,
                 blend=flow.blend, flow=flow.flow, size="%dx%d" % size)
    return result


def dream_zoom(net, gradients, out_dir, meta, q):
    """dream.ipynb's zoom loop from the astronaut: zoom_01_relu4_3.mp4."""
    from reproduce import objectives
    from reproduce.deepdream.dream import compile_gradient
    from reproduce.nets.naming import rectified
    from reproduce.video.dream import deepdream_frame
    from reproduce.video.frames import folder_for
    from reproduce.video.zoom import ZoomSettings, zoom_loop

    layer = rectified(net, VIDEO_LAYER)
    settings = q.get("video", ZOOM_SETTINGS)
    zoom = ZoomSettings(frames=q.get("zoom_frames", ZOOM_FRAMES), fps=VIDEO_FPS)
    image = astronaut(q.get("zoom_size", ZOOM_SIZE))
    if layer not in gradients:
        gradients[layer] = compile_gradient(net, objectives.layer_l2(layer))
    out = os.path.join(out_dir, "zoom_01_%s.mp4" % layer)
    result = zoom_loop(image, deepdream_frame(gradients[layer], settings), out, zoom,
                       resume=os.path.isdir(folder_for(out)), desc="zoom " + layer)
    caption = ("Zoom loop (dream.ipynb's last cell): the astronaut dreamed at %s, then "
               "each frame dreamed from the previous one zoomed in by 1/(1-%g) about "
               "the centre; %d frames at %d fps" % (layer, zoom.scale, zoom.frames,
                                                    zoom.fps))
    video_record("zoom_01_" + layer, caption, meta, result, settings, layer=layer,
                 zoom_scale=zoom.scale, zoom_centre=zoom.centre,
                 size="%dx%d" % image.shape[1::-1])
    return result


def dream_picture(net, image, settings, out_dir, meta, gradients):
    """The one DeepDream picture: deepdream_01_relu4_3.png and its record."""
    from reproduce.deepdream.sweep import dream_layer, save_layer
    from reproduce.nets.naming import rectified

    layer = rectified(net, DREAM_LAYER)
    caption = ("DeepDream: gradient ascent on 0.5*mean(a^2) of %s (%s after its ReLU), "
               "%d octaves of %d steps" % (layer, DREAM_LAYER, settings.octaves,
                                           settings.steps))
    result = dream_layer(net, image, layer, settings, desc="deepdream " + layer,
                         gradients=gradients)
    save_layer(result, image, layer, settings, out_dir, "deepdream_01_" + layer,
               caption, meta)
    return result


def main(argv=None):
    from reproduce.deepdream.sweep import sweep_layers, write_input
    from reproduce.nets.naming import rectified
    from reproduce.nets.build import build_net
    from reproduce.nets.weights import load_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=paths.EMBEDDED_VGG16_CONV)
    p.add_argument("--results", default=os.path.join(paths.RESULTS_DIR, "demo"))
    p.add_argument("--quick", action="store_true", help="tiny sizes and steps: a smoke run")
    args = p.parse_args(argv)
    try:
        if not os.path.exists(args.weights):
            raise UserError("%s not found; run `make setup` (it converts the embedded "
                            "weights) or pass --weights" % args.weights)
        net = build_net(load_model(args.weights))
        meta = {"weights": os.path.basename(args.weights), "prior": "none",
                "quick": args.quick}
        q = QUICK if args.quick else {}
        image = astronaut(q.get("dream_size", DREAM_SIZE))
        write_input(image, "skimage.data.astronaut()", args.results, meta, "deepdream_")
        gradients = {}  # relu4_3 is dreamed twice: compile it once
        result = dream_picture(net, image, q.get("dream", DREAM_SETTINGS),
                               args.results, meta, gradients)
        if result.interrupted:
            return 130
        image = astronaut(q.get("sweep_size", SWEEP_SIZE))
        layers = [rectified(net, name) for name in SWEEP_LAYERS]
        # the gallery page is built from the records by experiments/gallery.py
        records, interrupted = sweep_layers(net, image, layers,
                                            q.get("sweep", SWEEP_SETTINGS),
                                            args.results, meta, lambda records: None,
                                            None, prefix="sweep_", gradients=gradients)
        if interrupted:
            return 130
        video = dream_video(net, gradients, args.results, meta, q)
        if video.interrupted:
            return 130
        zoom = dream_zoom(net, gradients, args.results, meta, q)
        print("%s: DeepDream picture (%.1f s), a sweep of %d layers (%.1f s), a video "
              "(%d frames, %.1f s a frame) and a zoom loop (%d frames, %.1f s a frame)"
              % (args.results, result.seconds, len(records),
                 sum(r["seconds"] for r in records), video.frames,
                 video.seconds_per_frame, zoom.frames, zoom.seconds_per_frame))
        return 130 if zoom.interrupted else 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
