"""The keras-io DeepDream example (no package): its formulas restated.

Source: github.com/keras-team/keras-io, examples/generative/deep_dream.py
(commit 0a57de4), cited by the names of its functions and settings.
Nothing of its code is used; it runs InceptionV3 in TensorFlow, restated
here on our model in PyTorch.

defaults: inception_v3.preprocess_input (x / 127.5 - 1), compute_loss
(coeff x sum(a[:, 2:-2, 2:-2]^2) / size(a)), gradient_ascent_step (g /
max(mean|g|, 1e-6), step 0.01, no clipping), 3 octaves at 1.4 with the
lost detail reinjected.  aligned: our preprocessing in its formulas.
"""
import cv2
import numpy as np
import torch

from _common import Results, read_inputs
from _torch import keras_inception_stages, output_of, pixels, rule_steps

SOURCE = "keras-team/keras-io@0a57de4 examples/generative/deep_dream.py"
inputs, out = read_inputs()
res = Results({"keras-io deepdream": SOURCE + " (restated)"})
start = inputs["start"]
H, W = start.shape[:2]
net, PRE, LEVELS = keras_inception_stages(
    inputs, res, "preprocess_image: inception_v3.preprocess_input, x / 127.5 - 1 on RGB: no "
    "per-channel mean, range -1..1",
    "model.get_layer(name).output: Keras layers carry their activation (InceptionV3's "
    "mixed layers concatenate ReLU outputs), so after the ReLU")


def loss_of(a):
    """compute_loss for one layer of coefficient 1: the squares summed over
    the activation without its 2-pixel border, over the whole size."""
    return (a[:, :, 2:-2, 2:-2] ** 2).sum() / a.numel()


for mode in ("defaults", "aligned"):
    image = pixels(start, grad=True)
    value = loss_of(output_of(net, getattr(net, inputs["relu"]), PRE[mode](image / 255.0),
                              grad=True))
    grad, = torch.autograd.grad(value, image)
    note = ("compute_loss: coeff x sum(a[:, 2:-2, 2:-2]^2) / size(a): the border left out "
            "and no 0.5 (layer_settings weigh mixed4-7 by 1-2.5)")
    res.scored(mode, value, grad, note, "deepdream")


def make_rule(mode, step=0.01):
    """gradient_ascent_step: g / max(mean|g|, 1e-6), img += 0.01 g in the input's
    units, not clipped."""
    def rule(image, grad, k):
        g = np.asarray(grad, np.float32)[0].transpose(1, 2, 0) * LEVELS[mode]
        g = g / max(np.abs(g).mean(), 1e-6)
        return image + step * g * LEVELS[mode]
    return rule


for mode in ("defaults", "aligned"):
    first, forced = rule_steps(make_rule(mode), inputs)
    note = ("gradient_ascent_step: 0.01 g / mean|g| in -1..1 units = 1.275 levels where "
            "dream.ipynb takes 1.5, and never clipped" if mode == "defaults" else
            "its step of 0.01 input units is 0.01 level under our preprocessing")
    res.steps(mode, first, forced, note, kind="deepdream")

res.both("jitter", None, "no shift: the example never rolls the image")


def octaves(count, scale):
    """successive_shapes: int(dim / scale^i), smallest first; each octave starts from
    the image resized (tf.image.resize, bilinear: cv2's here) and gets the detail
    lost by shrinking the original reinjected."""
    shapes = [(int(H / scale ** i), int(W / scale ** i)) for i in range(count)][::-1]
    return [cv2.resize(start, (c, r)) for r, c in shapes]


res.put("defaults", "octaves", octaves(3, 1.4),
        "num_octave 3, octave_scale 1.4: int() sizes; the dreamed image is resized up and "
        "the original's lost detail reinjected, where dream.ipynb adds the dreamed detail")
res.put("aligned", "octaves", octaves(4, 1.4), "dream.ipynb's 4 octaves in its formula")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no image prior (max_loss 15 stops an octave early instead)")
res.write(out)
