"""The TensorFlow DeepDream tutorial (no package): its formulas restated.

Source: github.com/tensorflow/docs, site/en/tutorials/generative/
deepdream.ipynb (commit 7c36502), cited by the notebook's cell ids.
Nothing of its code is used; it runs InceptionV3 in TensorFlow, restated
here on our model in PyTorch.

defaults: inception_v3.preprocess_input (x / 127.5 - 1), calc_loss (the
sum over layers of mean(a): cell 8MhfSweXXiuq), g / (std(g) + 1e-8), step
0.01, clip to -1..1 (cells qRScWg_VNqvj, x__TZ0uqNbGm), random_roll up to
the tile size 512 (cell oGgLHk7o80ac), octaves range(-2, 3) at scale 1.3
(cell gA-15DM4NbGk).  aligned: our preprocessing in its formulas.
"""
import cv2
import numpy as np
import torch

from _common import JITTER_NOTE, Results, read_inputs
from _torch import keras_inception_stages, output_of, pixels, rule_steps

SOURCE = "tensorflow/docs@7c36502 site/en/tutorials/generative/deepdream.ipynb"
inputs, out = read_inputs()
res = Results({"tf deepdream tutorial": SOURCE + " (restated)"})
start = inputs["start"]
H, W = start.shape[:2]
net, PRE, LEVELS = keras_inception_stages(
    inputs, res, "inception_v3.preprocess_input: x / 127.5 - 1 on RGB (cell 9vHEcy7dTysi)",
    "base_model.get_layer(name).output: Keras layers carry their activation, so after "
    "the ReLU")

for mode in ("defaults", "aligned"):
    image = pixels(start, grad=True)
    value = output_of(net, getattr(net, inputs["relu"]), PRE[mode](image / 255.0),
                      grad=True).mean()
    grad, = torch.autograd.grad(value, image)
    note = "calc_loss: mean(a), summed over layers (cell 8MhfSweXXiuq), not 0.5 mean(a^2)"
    res.scored(mode, value, grad, note, "deepdream")


def make_rule(mode, step=0.01):
    """DeepDream.__call__: g / (std(g) + 1e-8), img += 0.01 g, clip to -1..1."""
    def rule(image, grad, k):
        g = np.asarray(grad, np.float32)[0].transpose(1, 2, 0) * LEVELS[mode]
        g = g / (g.std() + 1e-8)
        return np.clip(image + step * g * LEVELS[mode], 0, 255)  # -1..1 is 0..255
    return rule


for mode in ("defaults", "aligned"):
    first, forced = rule_steps(make_rule(mode), inputs)
    note = ("0.01 g / std(g) in -1..1 units (cell qRScWg_VNqvj): 1.275 levels per std, "
            "where dream.ipynb moves 1.5 levels per mean|g|" if mode == "defaults" else
            "its step of 0.01 input units is 0.01 level under our preprocessing")
    res.steps(mode, first, forced, note, kind="deepdream")

dy, dx = (int(v) for v in inputs["jitter"])
res.both("jitter", np.roll(start, (dy, dx), axis=(0, 1)),
         "random_roll: tf.roll by tf.random.uniform(-512, 512) each axis, undone on the "
         "gradient (cells oGgLHk7o80ac, x__TZ0uqNbGm): the roll of dream.ipynb but 16 times "
         "wider; " + JITTER_NOTE % "nothing: the same roll")


def octaves(steps, scale):
    """run_deep_dream_with_octaves: sizes int(base x scale^n), each octave the
    (dreamed) image resized, bilinear: the whole image, no detail."""
    bases, image = [], start
    for n in steps:
        image = cv2.resize(image, (int(W * scale ** n), int(H * scale ** n)))
        bases.append(image)
    return bases


res.put("defaults", "octaves", octaves(range(-2, 3), 1.3),
        "octaves range(-2, 3) at 1.3 (cell gA-15DM4NbGk): two octaves larger than the "
        "image, each the whole image resized, no detail carried")
res.put("aligned", "octaves", octaves(range(-3, 1), 1.4),
        "dream.ipynb's 4 octaves at 1.4 in its formula: int() sizes, the whole image resized")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no image prior")
res.write(out)
