"""torch-dreams 4.0.0: Dreamer.render on an image parameter.

defaults: a start image on the CustomImageParam canvas (the documented way
to dream on a picture, custom_image_param.py:14-39), layers hooked as
modules (dreamer_utils.py:18-26), the default loss -mean(outputs)
(dreamer_utils.py:4-15), AdamW(lr=9e-3) with the gradient's norm clipped
to 1 (dreamer.py:134,247-249; auto_image_param.py:44-55).  aligned: its
set_custom_normalization fed our preprocessing, a custom_func with our
objective, its optimiser at the 2015 learning rate.  Citations are to
files of the 4.0.0 wheel, under torch_dreams/.
"""
import numpy as np
import torch

from _common import JITTER_NOTE, Results, read_inputs, version_of
from _torch import FullyConv, deepdream, from_unit, imagenet_normalize, optimiser_steps, \
    pixels, put_logits, torchvision_index, torchvision_vgg
import torchvision.transforms.functional as TF  # noqa: E402  (after _torch)
from torch_dreams import Dreamer  # noqa: E402
from torch_dreams.custom_image_param import CustomImageParam  # noqa: E402
from torch_dreams.dreamer_utils import Hook, default_func_mean  # noqa: E402

inputs, out = read_inputs()
res = Results({"torch-dreams": version_of("torch-dreams")})
np.random.seed(0)
torch.manual_seed(0)
zoo, ours_net = torchvision_vgg(inputs), FullyConv(inputs)
start, x = inputs["start"], torch.as_tensor(inputs["input"])
unit = pixels(start) / 255.0

# preprocessing.  The start-image canvas stores the picture as if it were
# already normalised (set_param: chw_rgb_to_fft_param denormalises it,
# utils.py:146-152) and forward() normalises it back and clamps to 0..1
# (custom_image_param.py:58-59): the model gets the raw 0..1 pixels, never
# ImageNet-normalised ones, whatever the model expects
canvas = CustomImageParam(image=unit, device="cpu")
fed = canvas.forward(device="cpu").detach()
raw = float((fed - unit).abs().max())
normalised = float((fed - imagenet_normalize(unit)).abs().max())
res.put("defaults", "preprocessing", fed,
        "CustomImageParam(start).forward(): the raw 0..1 pixels (max |fed - pixels/255| = "
        "%.1e, max |fed - ImageNet-normalised| = %.2f): the start-image canvas never "
        "normalises (custom_image_param.py:58-59, utils.py:146-152)" % (raw, normalised))
dreamer = Dreamer(zoo, quiet=True, device="cpu")
ours_t = lambda t: from_unit(inputs, t)  # noqa: E731
dreamer.set_custom_normalization(type("Ours", (torch.nn.Module,), {
    "forward": lambda self, t: ours_t(t)})())
inverse = getattr(dreamer, "__custom_normalization_transform__")  # not name-mangled
res.put("aligned", "preprocessing", inverse(imagenet_normalize(unit)),
        "set_custom_normalization(ours): InverseTransform undoes ImageNet's and applies "
        "ours (dreamer.py:74-101, image_transforms.py:22-41)")

# layer naming: render() hooks modules (dreamer_utils.py:18-26) and keeps
# the output tensor, which torchvision's ReLU(inplace=True) overwrites
conv_index = torchvision_index(inputs, inputs["conv"])
for mode, model, module, note in (
        ("defaults", zoo, zoo.features[conv_index],
         "Hook(model.features[%d]) of a torchvision VGG" % conv_index),
        ("aligned", ours_net, getattr(ours_net, inputs["conv"]),
         "Hook on the conv of a model with plain nn.ReLU() modules")):
    hook = Hook(module)
    with torch.no_grad():
        model(x)
    res.put(mode, "layer", hook.output, note)
    hook.close()

put_logits(res, inputs, zoo, ours_net, "a torchvision VGG (the models its README uses)")

# the objective: render()'s loss on the hooked layers' outputs
relu_index = torchvision_index(inputs, inputs["relu"])
for mode, model, module, func, before, note in (
        ("defaults", zoo, zoo.features[relu_index], default_func_mean, imagenet_normalize,
         "default_func_mean: -mean(a) of the layer (dreamer_utils.py:4-15), not "
         "0.5 mean(a^2); render minimises it"),
        ("aligned", ours_net, getattr(ours_net, inputs["relu"]),
         lambda outs: -deepdream(outs[0]), lambda u: from_unit(inputs, u),
         "custom_func = -0.5 mean(a^2): render minimises its loss, so it is negated")):
    hook = Hook(module)
    image = pixels(start, grad=True)
    model(before(image / 255.0))
    value = func([hook.output])
    grad, = torch.autograd.grad(value, image)
    hook.close()
    res.scored(mode, value, grad, note, "deepdream")


class ClippedAdamW:
    """render()'s update: clip_grad_norm_(param, 1.0), then AdamW.step()
    (dreamer.py:247-249, auto_image_param.py:44-58)."""

    def __init__(self, params, lr):
        self.params, self.opt = params, torch.optim.AdamW(params, lr=lr, weight_decay=0.0)

    def step(self):
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()


first, forced = optimiser_steps(lambda p: ClippedAdamW(p, 9e-3), inputs)
note = ("AdamW(lr=9e-3, weight_decay=0) after clipping the gradient's norm to 1 "
        "(dreamer.py:134,247-249): 2.3 levels a step on 0..1 pixels, where 2015 took 5; "
        "the parameter is an FFT spectrum, not pixels")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda p: torch.optim.AdamW(p, lr=5.0, weight_decay=0.0),
                                inputs, unit=False)
note = ("AdamW at lr 5 on 0..255 pixels, no clipping: Adam's moments weight the new "
        "gradient by 1 - beta, the 2015 rule's by beta, so steps 2-4 differ")
res.steps("aligned", first, forced, note)

# jitter: no shift by default (translate_x = translate_y = 0, dreamer.py:141-142);
# RandomAffine's translation, at a fixed offset, shifts in zeros
dy, dx = (int(v) for v in inputs["jitter"])
res.put("defaults", "jitter", None, "no shift: RandomAffine(degrees=15, translate=(0, 0)) "
        "and a random resize 0.5-1.2 (dreamer.py:51-61, 137-142)")
res.put("aligned", "jitter", TF.affine(pixels(start), angle=0.0, translate=[dx, dy],
                                       scale=1.0, shear=[0.0])[0].permute(1, 2, 0),
        "RandomAffine's translation at a fixed offset: " + JITTER_NOTE % "zeros")
res.both("octaves", None, "one size only")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: the FFT parameterisation, the gradient-norm clip "
         "and weight_decay (0 by default) regularise")
res.write(out)
