"""How much flicker the optical flow removes from a DeepDream video.

Dreams the demo's own clip (a pan and zoom across scikit-image's cat, made
by ``experiments/demo_deepdream.py``) twice on the embedded HED VGG-16 at
relu4_3: with the flow (each frame started from 0.5 x the frame + 0.5 x
the previous dream warped along OpenCV's Farneback flow) and frame by frame
without it (``--blend 0``).  Prints, for the input and each output, the
mean frame-to-frame change (mean |frame t - frame t-1| on 0..255) and the
change left after warping frame t-1 along the input's own flow (the part
motion does not explain: flicker), and the time per frame; measured on the
lossless frames, before H.264.  ``--strip`` writes a picture of every k-th
frame: input, without flow, with flow.

Usage: python experiments/video_coherence.py [--frames 24] [--size 160x112]
           [--octaves 3] [--steps 6] [--strip docs/images/video_strip.jpg]
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def strip(rows, path, columns=6, gap=4):
    """Save every k-th frame of each row (lists of (H, W, 3) uint8) as one picture."""
    import numpy as np

    from reproduce.fileio import save_image
    n = len(rows[0])
    picks = [round(i * (n - 1) / (columns - 1)) for i in range(columns)]
    h, w = rows[0][0].shape[:2]
    sheet = np.full((len(rows) * (h + gap) - gap, columns * (w + gap) - gap, 3), 17,
                    np.uint8)
    for r, frames in enumerate(rows):
        for c, i in enumerate(picks):
            sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = \
                frames[i]
    save_image(sheet, path)
    return picks


def main(argv=None):
    import numpy as np

    from demo_deepdream import VIDEO_FPS, pan_zoom_clip
    from reproduce import objectives
    from reproduce.deepdream.dream import compile_gradient
    from reproduce.nets.naming import rectified
    from reproduce.deepdream.settings import DreamSettings
    from reproduce.nets.build import build_net
    from reproduce.nets.weights import load_model
    from reproduce.video.dream import FlowSettings, deepdream_frame, dream_film
    from reproduce.video.flow import compensated_change, frame_change
    from reproduce.video.frames import FrameFolder
    from reproduce.video.io import probe

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=os.path.join(ROOT, "weights", "vgg16_conv_hed.h5"))
    p.add_argument("--layer", default="conv4_3")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--size", default="160x112")
    p.add_argument("--octaves", type=int, default=3)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--blend", type=float, default=FlowSettings().blend)
    p.add_argument("--strip", default=None, help="write the frame strip here")
    args = p.parse_args(argv)

    size = tuple(int(v) for v in args.size.split("x"))
    settings = DreamSettings(octaves=args.octaves, steps=args.steps)
    net = build_net(load_model(args.weights))
    layer = rectified(net, args.layer)
    gradient = compile_gradient(net, objectives.layer_l2(layer))
    work = tempfile.mkdtemp(prefix="coherence-")
    try:
        clip = os.path.join(work, "input.mp4")
        inputs = pan_zoom_clip(clip, args.frames, size, VIDEO_FPS)
        outputs, rows = {}, []
        # one after the other in one process, on one compiled gradient
        for name, blend in (("without flow (--blend 0)", 0.0),
                            ("with flow (--blend %g)" % args.blend, args.blend)):
            out = os.path.join(work, "%g.mp4" % blend)
            result = dream_film(probe(clip), deepdream_frame(gradient, settings), out,
                                size, FlowSettings(blend=blend), keep_frames=True,
                                desc=name)
            frames = list(FrameFolder(out, {}).frames())
            outputs[name] = frames, result.seconds_per_frame
        print("| frames | mean frame-to-frame change | change left after the input's "
              "flow (flicker) | s a frame |")
        print("|---|---|---|---|")
        print("| input clip | %.2f | %.2f | |" % (frame_change(inputs),
                                                 compensated_change(inputs, inputs)))
        for name, (frames, per_frame) in outputs.items():
            print("| %s | %.2f | %.2f | %.2f |" % (name, frame_change(frames),
                                                  compensated_change(frames, inputs),
                                                  per_frame))
            rows.append(frames)
        if args.strip:
            picks = strip([list(inputs)] + rows, args.strip)
            print("%s: frames %s; rows: input, without flow, with flow"
                  % (args.strip, ", ".join(map(str, picks))))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
