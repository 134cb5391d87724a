"""torch-lucent 0.1.8: Lucid's feature visualisation in PyTorch.

defaults: what ``render_vis(model, "classifier_6:c")`` gives a user of a
torchvision VGG (render.py:29-80): ImageNet normalisation appended to the
transforms, forward hooks named "features_5", "classifier_6", the channel
objective, Adam(lr=5e-2), the standard transforms.  aligned: lucent's hooks,
objective wrapper, transform composition and default optimiser fed our
preprocessing, our 2015 objective on a fully convolutional copy of the
model, our gradients.  Citations are to files of the 0.1.8 wheel, under
lucent/optvis/.
"""
import sys
import types

import numpy as np
import torch

from _common import JITTER_NOTE, Results, read_inputs, version_of
from _torch import FullyConv, from_unit, lsd2015, optimiser_steps, pixels, \
    torchvision_index, torchvision_vgg

# lucent/misc/io/showing.py:26 imports IPython.display at module level, to
# show pictures in notebooks; nothing here shows one, so a stand-in module
# saves installing IPython and its dozen dependencies
sys.modules.setdefault("IPython", types.ModuleType("IPython"))
sys.modules.setdefault("IPython.display", types.ModuleType("IPython.display"))

from lucent.optvis import objectives, transform  # noqa: E402
from lucent.optvis.render import hook_model  # noqa: E402

inputs, out = read_inputs()
res = Results({"torch-lucent": version_of("torch-lucent"), "kornia": version_of("kornia")})
np.random.seed(0)
zoo, ours_net = torchvision_vgg(inputs), FullyConv(inputs)
start, x = inputs["start"], torch.as_tensor(inputs["input"])
unit = pixels(start) / 255.0
c0 = int(inputs["classes"][0])


def hooked(model, image_f, transform_f):
    """lucent's hook (render.py:183-209) after one forward pass of transform_f(image)."""
    hook = hook_model(model, image_f)
    model(transform_f(image_f()))
    return hook


defaults_f = transform.compose([transform.normalize()])          # render.py:60-67
aligned_f = transform.compose([lambda t: from_unit(inputs, t)])   # preprocess=False + ours
res.put("defaults", "preprocessing", defaults_f(unit),
        "transform.normalize(): ImageNet mean/std of 0..1 RGB (transform.py:107-115), "
        "appended for every model but InceptionV1 (render.py:60-67)")
res.put("aligned", "preprocessing", aligned_f(unit), "render_vis(preprocess=False) with our "
        "preprocessing as its one transform")

# layer naming: "features_<i>" is the conv module; its hook keeps the output
# tensor (render.py:175-177), which torchvision's ReLU(inplace=True) overwrites
conv_name = "features_%d" % torchvision_index(inputs, inputs["conv"])
with torch.no_grad():
    value = hooked(zoo, lambda: x, lambda t: t)(conv_name)
res.put("defaults", "layer", value, "hook %r of a torchvision VGG" % conv_name)
with torch.no_grad():
    value = hooked(ours_net, lambda: x, lambda t: t)(inputs["conv"])
res.put("aligned", "layer", value, "hook %r of the model with plain nn.ReLU() modules"
        % inputs["conv"])

th, tw = inputs["spec"]["image_shape"]
with torch.no_grad():
    res.put("defaults", "logits", hooked(zoo, lambda: x[:, :, :th, :tw], lambda t: t)(
        "classifier_6")[:, :, None, None], "hook 'classifier_6' (torchvision's last Linear)")
    res.put("defaults", "logit_map", hooked(zoo, lambda: x, lambda t: t)("classifier_6"),
            "torchvision's VGG: AdaptiveAvgPool2d((7, 7)), so one vector at any size")
    res.put("aligned", "logits", hooked(ours_net, lambda: x[:, :, :th, :tw], lambda t: t)(
        "fc8"), "hook 'fc8' of the fully convolutional model")
    res.put("aligned", "logit_map", hooked(ours_net, lambda: x, lambda t: t)("fc8"),
            "hook 'fc8' of the fully convolutional model")

# the objective and its gradient with respect to the 0..255 pixels
defaults_obj = objectives.channel("classifier_6", c0)            # objectives.py:127-132
aligned_obj = objectives.Objective(lambda T: -lsd2015(inputs, T("fc8")))
for mode, model, objective, transform_f, note in (
        ("defaults", zoo, defaults_obj, defaults_f,
         "channel('classifier_6', c0) = -mean of logit c0 (objectives.py:131): lucent "
         "minimises; no map, so no halves"),
        ("aligned", ours_net, aligned_obj, aligned_f,
         "our 2015 objective as a lucent Objective; lucent minimises, so it is negated")):
    image = pixels(start, grad=True)
    value = objective(hooked(model, lambda: image / 255.0, transform_f))
    grad, = torch.autograd.grad(value, image)
    res.scored(mode, value.detach(), grad, note, "lsd2015")

# the update rule: render_vis's default optimiser, torch.optim.Adam(lr=5e-2)
# (render.py:52-54), on 0..1 pixels; aligned: the same class at lr 5 on 0..255
# pixels, where its epsilon means what the 2015 rule's does
first, forced = optimiser_steps(lambda p: torch.optim.Adam(p, lr=5e-2), inputs)
note = ("torch.optim.Adam(lr=5e-2) (render.py:53) on 0..1 pixels: 12.75 levels a step where "
        "2015 took 5; and its default parameter is not pixels but an FFT spectrum, "
        "colour-decorrelated, through a sigmoid (param/images.py:24-36)")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda p: torch.optim.Adam(p, lr=5.0), inputs, unit=False)
note = ("torch.optim.Adam at lr 5 on 0..255 pixels: its m weights the new gradient by "
        "1 - beta1 = 0.1, the 2015 rule's by beta1 = 0.9 (v likewise), so from step 2 on "
        "the steps differ; no clipping to 0..255")
res.steps("aligned", first, forced, note)

# jitter: a translation by kornia (transform.py:30-38), zeros shifted in, where
# dream.ipynb rolls the image around
from kornia.geometry.transform import translate  # noqa: E402
dy, dx = (int(v) for v in inputs["jitter"])
shifted = translate(pixels(start), torch.tensor([[dx, dy]]).float())
res.put("aligned", "jitter", shifted[0].permute(1, 2, 0),
        "kornia translate by the same offset: " + JITTER_NOTE % "zeros")
drawn = transform.jitter(8)(pixels(start))
res.put("defaults", "jitter", drawn[0].permute(1, 2, 0),
        "standard_transforms (transform.py:126-132): pad 12 with grey, jitter 8, random "
        "scale 0.9-1.1, rotate -10..10 degrees, jitter 4; jitter(8) alone measured here "
        "(a random offset of 0..7 each axis)")
res.both("octaves", None, "one size only; images under 224 are upsampled to 224 "
         "(render.py:69-80)")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: the regulariser is the parameterisation (an FFT "
         "spectrum scaled by 1/f, param/spatial.py:45-53; decorrelated colours, "
         "param/color.py)")
res.write(out)
