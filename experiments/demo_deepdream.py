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
  sweep`` does all 13).

``--quick`` shrinks everything to a smoke run (for tests and CI).
"""
import argparse
import os
import sys

from reproduce import paths
from reproduce.deepdream.settings import DreamSettings
from reproduce.errors import UserError

DREAM_LAYER = "conv4_3"
DREAM_SIZE = (256, 256)                     # (width, height)
DREAM_SETTINGS = DreamSettings()            # the notebook's
SWEEP_LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3")
SWEEP_SIZE = (192, 192)
SWEEP_SETTINGS = DreamSettings(octaves=3, steps=8)
QUICK = dict(dream_size=(96, 96), sweep_size=(64, 64),
             dream=DreamSettings(octaves=2, steps=2, jitter=8),
             sweep=DreamSettings(octaves=1, steps=2, jitter=8))


def start_photo(size):
    """scikit-image's astronaut (ships with it: no download), (H, W, 3) on 0..255."""
    import numpy as np
    import skimage.data
    from PIL import Image
    photo = Image.fromarray(skimage.data.astronaut()).resize(size, Image.BICUBIC)
    return np.asarray(photo, np.float32)


def dream_picture(net, image, settings, out_dir, meta, gradients):
    """The one DeepDream picture: deepdream_01_relu4_3.png and its record."""
    from reproduce.deepdream.sweep import dream_layer
    from reproduce.deepdream.dream import rectified

    layer = rectified(net, DREAM_LAYER)
    caption = ("DeepDream: gradient ascent on 0.5*mean(a^2) of %s (%s after its ReLU), "
               "%d octaves of %d steps" % (layer, DREAM_LAYER, settings.octaves,
                                           settings.steps))
    return dream_layer(net, image, layer, settings, out_dir, "deepdream_01_" + layer,
                       caption, meta, desc="deepdream " + layer, gradients=gradients)[1]


def main(argv=None):
    from reproduce.deepdream.sweep import sweep_layers, write_input
    from reproduce.deepdream.dream import rectified
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
        image = start_photo(q.get("dream_size", DREAM_SIZE))
        write_input(image, "skimage.data.astronaut()", args.results, meta, "deepdream_")
        gradients = {}  # relu4_3 is dreamed twice: compile it once
        result = dream_picture(net, image, q.get("dream", DREAM_SETTINGS),
                               args.results, meta, gradients)
        if result.interrupted:
            return 130
        image = start_photo(q.get("sweep_size", SWEEP_SIZE))
        layers = [rectified(net, name) for name in SWEEP_LAYERS]
        records, interrupted = sweep_layers(net, image, layers,
                                            q.get("sweep", SWEEP_SETTINGS),
                                            args.results, meta, prefix="sweep_",
                                            gradients=gradients)
        print("%s: DeepDream picture (%.1f s) and a sweep of %d layers (%.1f s)"
              % (args.results, result.seconds, len(records),
                 sum(r["seconds"] for r in records)))
        return 130 if interrupted else 0
    except UserError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
