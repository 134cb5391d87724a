"""dreamlens 0.1.1: FeatureVisualizer (a rewrite of torch-dreams' Dreamer).

defaults: FeatureVisualizer(model) (feature_visualizer.py:57-70): ImageNet
normalisation, LayerCapture forward hooks (layers.py:71-102), the loss
-mean(a) (objectives.py:485-495); synthesize_from_image's PixelCanvas
(sigmoid of a logit parameter, image_parameters.py:622-646) with AdamW(lr
9e-3, weight_decay 0) and the gradient's norm clipped to 1
(feature_visualizer.py:104-200).  aligned: FeatureVisualizer(model,
preprocess=ours), a custom_func with DeepDream's objective, its translate
at a fixed offset.  Citations are to files of the 0.1.1 wheel, under dreamlens/.
"""
import numpy as np
import torch

from _common import JITTER_NOTE, Results, read_inputs, version_of
from _torch import FullyConv, deepdream, from_unit, optimiser_steps, output_of, pixels, \
    put_logits, torchvision_index, torchvision_vgg
from dreamlens import transforms as dl_transforms  # noqa: E402  (after _torch)
from dreamlens.feature_visualizer import FeatureVisualizer  # noqa: E402
from dreamlens.image_parameters import PixelCanvas  # noqa: E402
from dreamlens.layers import resolve_module  # noqa: E402
from dreamlens.objectives import mean_activation_objective  # noqa: E402

inputs, out = read_inputs()
res = Results({"dreamlens": version_of("dreamlens")})
np.random.seed(0)
zoo, ours_net = torchvision_vgg(inputs), FullyConv(inputs)
start, x = inputs["start"], torch.as_tensor(inputs["input"])
unit = pixels(start) / 255.0
default_vis = FeatureVisualizer(zoo, quiet=True, device="cpu")
aligned_vis = FeatureVisualizer(ours_net, quiet=True, device="cpu",
                                preprocess=lambda u: from_unit(inputs, u))

canvas = PixelCanvas(unit, device="cpu")
res.put("defaults", "preprocessing", default_vis.preprocess(canvas.forward(device="cpu")),
        "imagenet_normalize (preprocessing.py:15-18) of the PixelCanvas's sigmoid(logit("
        "pixels)), which clamps them to 1e-6..1-1e-6 (image_parameters.py:632-635)")
res.put("aligned", "preprocessing", aligned_vis.preprocess(unit),
        "FeatureVisualizer(preprocess=ours)")

conv_name = "features.%d" % torchvision_index(inputs, inputs["conv"])
res.put("defaults", "layer", output_of(zoo, resolve_module(zoo, conv_name), x),
        "LayerCapture(%r) keeps the output tensor (clone=False, layers.py:74-102), which "
        "torchvision's ReLU(inplace=True) overwrites" % conv_name)
res.put("aligned", "layer", output_of(ours_net, resolve_module(ours_net, inputs["conv"]), x),
        "LayerCapture(%r) of the model with plain nn.ReLU() modules" % inputs["conv"])
put_logits(res, inputs, zoo, ours_net)

relu_name = "features.%d" % torchvision_index(inputs, inputs["relu"])
for mode, vis, model, layer, func, note in (
        ("defaults", default_vis, zoo, relu_name, mean_activation_objective,
         "mean_activation_objective: -mean(a) (objectives.py:485-495), not 0.5 mean(a^2); "
         "synthesize minimises it"),
        ("aligned", aligned_vis, ours_net, inputs["relu"], lambda outs: -deepdream(outs[0]),
         "custom_func = -0.5 mean(a^2): synthesize minimises, so it is negated")):
    image = pixels(start, grad=True)
    value = func([output_of(model, resolve_module(model, layer), vis.preprocess(image / 255.0),
                            grad=True)])
    grad, = torch.autograd.grad(value, image)
    res.scored(mode, value, grad, note, "deepdream")


def canvas_steps(kind="lsd2015"):
    """synthesize's update on its PixelCanvas, fed our gradients: the
    gradient flows through the canvas's sigmoid to its logit parameter,
    clip_gradients(1.0), then AdamW(lr=9e-3, weight_decay=0)."""
    def take(c, optimizer, image, grad):
        with torch.no_grad():
            c.param.copy_(torch.logit(pixels(image).clamp(1e-6 * 255, 255 - 1e-6 * 255)
                                      / 255.0))
        optimizer.zero_grad()
        c.forward(device="cpu").backward(torch.as_tensor(grad) * 255.0)
        c.clip_gradients(grad_clip=1.0)
        optimizer.step()
        with torch.no_grad():
            return c.forward(device="cpu")[0].permute(1, 2, 0).numpy() * 255.0

    c = PixelCanvas(unit, device="cpu")
    first = take(c, c.make_optimizer(lr=9e-3, weight_decay=0.0), start, inputs["lsd_grad"])
    c = PixelCanvas(unit, device="cpu")
    optimizer = c.make_optimizer(lr=9e-3, weight_decay=0.0)
    return first, np.stack([take(c, optimizer, image, g) for image, g in
                            zip(inputs["forced_before"], inputs["forced_lsd_grad"])])


first, forced = canvas_steps()
note = ("synthesize_from_image: AdamW(lr=9e-3, weight_decay=0) on the PixelCanvas's logit "
        "parameter after clipping its gradient's norm to 1 (feature_visualizer.py:111-119,"
        "184-187): a pixel moves by 9e-3 x sigmoid' x 255 levels, at most 0.57")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda p: torch.optim.AdamW(p, lr=5.0, weight_decay=0.0),
                                inputs, unit=False)
note = ("AdamW (its optimizer_cls default) at lr 5 on 0..255 pixels: Adam's moments weight "
        "the new gradient by 1 - beta, the 2015 rule's by beta, so steps 2-4 differ")
res.steps("aligned", first, forced, note)

res.put("defaults", "jitter", None, "no shift: translate_x = translate_y = 0 "
        "(feature_visualizer.py:115-116); a random rotation of 15 degrees and scale 0.5-1.2")
dy, dx = (int(v) for v in inputs["jitter"])
H, W = start.shape[:2]
offsets = iter((-2.0 * dx / W, -2.0 * dy / H))  # grid_sample's units: half the image
dl_transforms._uniform_like = lambda image, low, high: next(offsets)
shifted = dl_transforms.random_translate(1.0, 1.0)(pixels(start))
res.put("aligned", "jitter", shifted[0].permute(1, 2, 0),
        "random_translate at a fixed offset: grid_sample, zero padding "
        "(transforms.py:10-27): " + JITTER_NOTE % "zeros")
res.both("octaves", None, "one size only")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: the sigmoid or FFT canvas, the gradient-norm clip "
         "and weight_decay (0 by default) regularise")
res.write(out)
