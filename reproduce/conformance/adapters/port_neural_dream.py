"""neural-dream 0.0.4: DeepDream in PyTorch, after neural-style-pt.

defaults: its command line's defaults (neural_dream.py:22-117): 'caffe'
preprocessing, DreamLoss modules inserted after the named layer
(dream_model.py:45-85), loss_mode 'l2' times dream_weight 1000, Adam at
lr 1.5 on the preprocessed image, jitter 32, two octaves at scale 0.6.
aligned: the same machinery with loss_mode 'mse' at strength 0.5 (which is
DeepDream's 0.5 mean(a^2)), our preprocessing, dream.ipynb's octave
settings.  Citations are to files of the 0.0.4 wheel, under neural_dream/.
"""
import os
import random
import sys
import tempfile

import numpy as np
import torch

from _common import JITTER_NOTE, Results, read_inputs, version_of
from _torch import from_unit, optimiser_steps, ours, pixels

inputs, out = read_inputs()
# neural_dream.py:118 parses sys.argv when imported: give it none, so that
# ``params`` holds its defaults
argv, sys.argv = sys.argv, [sys.argv[0]]
import neural_dream.neural_dream as nd  # noqa: E402
from neural_dream.neural_dream_core import dream_image, dream_model, dream_utils  # noqa: E402
from neural_dream.neural_dream_core.CaffeLoader import buildSequential  # noqa: E402
sys.argv = argv

res = Results({"neural-dream": version_of("neural-dream")})
P = nd.params
random.seed(0)
torch.manual_seed(0)
spec, start = inputs["spec"], inputs["start"]
H, W = start.shape[:2]


def features():
    """Our feature layers in neural-dream's own VGG builder (CaffeLoader.py:157-172:
    3x3 convs, pad 1, ReLU(inplace=True), 2x2 max pools)."""
    convs = [l["name"] for l in spec["layers"] if l["type"] == "conv"
             and not l["name"].startswith("fc")]
    channels = []
    for layer in spec["layers"]:
        if layer["name"].startswith("fc"):
            break
        if layer["type"] == "conv":
            channels.append(int(inputs["W:" + layer["name"]].shape[0]))
        elif layer["type"] == "pool":
            channels.append("P")
    seq = buildSequential(channels, "max")
    with torch.no_grad():
        for module, name in zip([m for m in seq if isinstance(m, torch.nn.Conv2d)], convs):
            module.weight.copy_(torch.as_tensor(inputs["W:" + name]))
            module.bias.copy_(torch.as_tensor(inputs["b:" + name]))
    return seq


def layer_list():
    """Its layerList (CaffeLoader.py:204-210 for VGG-16) of our names."""
    names = lambda kind: [l["name"] for l in spec["layers"]  # noqa: E731
                          if l["type"] == kind and not l["name"].startswith("fc")]
    return {"C": names("conv"), "R": names("relu"), "P": names("pool"), "L": [], "D": []}


def dream_net(layer, loss_mode, strength, jitter=0):
    """dream_model.build_net as neural_dream.py:160-168 calls it -> (net, loss module)."""
    start_params = (torch.FloatTensor, "none", jitter, 0, 0, 0)
    primary = (loss_mode, strength, P.channels, P.channel_mode)
    secondary = {"channel_capture": P.channel_capture, "scale": P.lap_scale,
                 "sigma": P.sigma, "use_fft": (P.use_fft, P.fft_block), "r": 256,
                 "p_mode": P.percent_mode, "norm_p": P.norm_percent,
                 "abs_p": P.abs_percent, "mean_p": P.mean_percent}
    net, losses = dream_model.build_net(features(), [layer], False, layer_list(), 0,
                                        start_params, primary, secondary)[:2]
    for module in losses:
        module.mode = "loss"
    return net.eval(), losses[0]


# preprocessing: 'caffe' mode reads the file, x 256 (not 255), RGB -> BGR,
# minus the per-channel mean (neural_dream.py:604-616)
bgr_mean = list(np.asarray(spec["mean_rgb"], np.float64)[::-1])
with tempfile.TemporaryDirectory() as folder:
    from PIL import Image
    path = os.path.join(folder, "start.png")
    Image.fromarray(np.round(start).astype(np.uint8)).save(path)
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            theirs = nd.preprocess(path, (H, W), "caffe", bgr_mean)
        finally:
            sys.stdout = stdout
res.put("defaults", "preprocessing", theirs,
        "preprocess(mode='caffe'): 0..1 pixels x 256, not 255; RGB to BGR for every model; "
        "minus the per-channel mean %s (neural_dream.py:604-616); the file is read as "
        "8-bit" % [round(m, 3) for m in bgr_mean])
res.put("aligned", "preprocessing", ours(inputs, pixels(start)), "our preprocessing fed in")


def caffe(unit):
    """Its caffe preprocessing as a differentiable map of 0..1 RGB pixels."""
    x = torch.flip(unit * 256.0, dims=(1,))
    return x - torch.as_tensor(bgr_mean, dtype=torch.float32).reshape(1, 3, 1, 1)


# layer naming: the DreamLoss module sits after the named module and keeps
# a clone of what it gets (loss_layers.py:124-130): "conv2_1" is taken
# before the ReLU that follows it, "relu2_1" after
def seen_by_loss(layer, x):
    net, loss = dream_net(layer, "mse", 0.5)
    kept = {}
    handle = loss.register_forward_hook(lambda m, args, output: kept.update(v=args[0].clone()))
    with torch.no_grad():
        net(x)
    handle.remove()
    return kept["v"]


x = torch.as_tensor(inputs["input"])
res.put("defaults", "layer", seen_by_loss(inputs["conv"], x),
        "-dream_layers %s: the DreamLoss after the conv module (dream_model.py:57-65)"
        % inputs["conv"])
res.put("aligned", "layer", seen_by_loss(inputs["relu"], x),
        "-dream_layers %s: the DreamLoss after the ReLU" % inputs["relu"])
res.both("logits", None, "dreams on the feature layers only; its VGG class has no "
         "forward (CaffeLoader.py:8-20)")
res.both("logit_map", None, "dreams on the feature layers only")

# the objective on the same (rectified) layer, and its gradient
for mode, loss_mode, strength, pre, note in (
        ("defaults", P.loss_mode, P.dream_weight, caffe,
         "loss_mode 'l2' = sqrt(sum(a^2)) (loss_layers.py:42-43) x dream_weight 1000 "
         "(neural_dream.py:27,37), not 0.5 mean(a^2)"),
        ("aligned", "mse", 0.5, lambda u: from_unit(inputs, u),
         "loss_mode 'mse' (MSELoss against zeros = mean(a^2), loss_layers.py:57-61) at "
         "strength 0.5")):
    net, loss = dream_net(inputs["relu"], loss_mode, strength)
    image = pixels(start, grad=True)
    net(pre(image / 255.0))
    grad, = torch.autograd.grad(loss.loss, image)
    res.scored(mode, loss.loss, grad, note, "deepdream")

# the update: Adam at lr 1.5 on the preprocessed image (neural_dream.py:536-551)
first, forced = optimiser_steps(lambda p: torch.optim.Adam(p, lr=P.learning_rate), inputs,
                                kind="deepdream", scale=255.0 / 256.0)
note = ("torch.optim.Adam(lr=1.5) on the caffe-preprocessed image (neural_dream.py:549): "
        "about 1.5 levels x sign(g) a first step, where dream.ipynb moves 1.5 g / mean|g|; "
        "no clipping (-clamp is off, and img.clamp(0, 256) at neural_dream.py:281 discards "
        "its result)")
res.steps("both", first, forced, note, kind="deepdream")

# jitter: a Jitter module first in the net rolls the input by random.randint(
# -32, 32) each axis (dream_utils.py:224-236, dream_model.py:154-156), which
# autograd rolls back: dream.ipynb's roll; here at our fixed offset
dy, dx = (int(v) for v in inputs["jitter"])
offsets = iter((dy, dx))
dream_utils.random.randint = lambda low, high: next(offsets)
rolled = dream_utils.Jitter(P.jitter)(pixels(start))
res.both("jitter", rolled[0].permute(1, 2, 0), "Jitter(32): torch.roll by random.randint("
         "-32, 32) each axis, dream.ipynb's range; " + JITTER_NOTE % "nothing: the same roll")

# octaves: octave_calc sizes (neural_dream.py:691-740); each octave dreams the
# whole current image resized (new_img, bilinear, align_corners=True:
# neural_dream.py:244, dream_image.py:14-15) and is resized back; no detail
# is carried, the whole image is
for mode, scale, count, note in (
        ("defaults", P.octave_scale, P.num_octaves,
         "-num_octaves 2 -octave_scale 0.6: sizes int(h x 0.6^k); each octave resizes the "
         "whole image, no detail carried (neural_dream.py:244, 306-309)"),
        ("aligned", str(1 / 1.4), 4, "dream.ipynb's 4 octaves at 1/1.4, through octave_calc "
         "(int() truncates where dream.ipynb rounds) and a bilinear resize with "
         "align_corners=True of the full image (dream.ipynb zooms each octave from the "
         "next larger)")):
    sizes = nd.octave_calc((H, W), scale, count, "normal")
    res.put(mode, "octaves", [image_t[0].permute(1, 2, 0) for image_t in
                              (dream_image.resize_tensor(pixels(start), size) for size in sizes)],
            note)

res.put("defaults", "zoom", None, "-zoom 0: off by default (neural_dream.py:70)")
crop = 100.0 / 1.05 ** (17 / 25.0)
res.put("aligned", "zoom", dream_image.zoom(pixels(start), crop)[0].permute(1, 2, 0),
        "-zoom %.2f (percent kept, the 2015 key frame's 1.05^(17/25)): a centre crop to "
        "int() pixels, resized back bilinearly with align_corners=True "
        "(dream_image.py:18-37); no rotation" % crop)
res.both("prior", None, "no patch prior: -tv_weight and -l2_weight, both 0 by default")
res.write(out)
