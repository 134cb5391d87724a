"""torchvision 0.28.0: our weights in torchvision.models.vgg.VGG.

A model zoo: it preprocesses and computes logits; it has no objective,
optimiser or transforms of its own, so the aligned mode feeds it our
preprocessing and DeepDream's objective.  Citations are to the files of the
torchvision 0.28.0 wheel.
"""
import torch

from _common import Results, read_inputs, version_of
from _torch import deepdream, imagenet_normalize, ours, pixels, torchvision_index, \
    torchvision_vgg  # first: it defines the operators torchvision's import needs
from torchvision.models import VGG16_Weights
from torchvision.transforms import functional as TF

inputs, out = read_inputs()
res = Results({"torchvision": version_of("torchvision"), "torch": version_of("torch")})
model = torchvision_vgg(inputs)
x = torch.as_tensor(inputs["input"])
start = inputs["start"]

# preprocessing: the weights' preset (models/vgg.py:120, transforms/_presets.py:58-64):
# resize 256, crop 224, then 0..1 RGB normalised by ImageNet's mean and std
preset = VGG16_Weights.IMAGENET1K_V1.transforms()
unit = pixels(start) / 255.0
res.put("defaults", "preprocessing", TF.normalize(unit, preset.mean, preset.std),
        "VGG16_Weights.transforms(): 0..1 RGB, minus ImageNet mean %s, over std %s "
        "(transforms/_presets.py:64), after resize 256 + crop 224" % (
            list(preset.mean), list(preset.std)))
assert torch.allclose(TF.normalize(unit, preset.mean, preset.std), imagenet_normalize(unit))
res.put("aligned", "preprocessing", ours(inputs, pixels(start)), "our preprocessing fed in")

# layer naming: a forward hook on features[i] keeps the conv's output tensor,
# which the next module, ReLU(inplace=True) (models/vgg.py:85), overwrites
conv_index = torchvision_index(inputs, inputs["conv"])
kept = {}
handle = model.features[conv_index].register_forward_hook(
    lambda module, args, output: kept.update(value=output))
with torch.no_grad():
    model(x)
handle.remove()
res.both("layer", kept["value"], "forward hook on features[%d] (the conv); "
         "ReLU(inplace=True) follows it (models/vgg.py:85)" % conv_index)

# logits at the training size, then the map beyond it
th, tw = inputs["spec"]["image_shape"]
with torch.no_grad():
    res.both("logits", model(x[:, :, :th, :tw])[:, :, None, None],
             "fc6-fc8 as Linear layers on the flattened 7x7 map")
    res.both("logit_map", model(x), "AdaptiveAvgPool2d((7, 7)) then Linear "
             "(models/vgg.py:42,68): one logit vector at any size, never a map")

# objective and gradient: none of its own; aligned: DeepDream's on its features
relu_index = torchvision_index(inputs, inputs["relu"])
image = pixels(start, grad=True)
value = deepdream(model.features[:relu_index + 1](ours(inputs, image)))
grad, = torch.autograd.grad(value, image)
res.put("aligned", "objective", value.detach(), "0.5 mean(a^2) of features[%d]" % relu_index,
        kind="deepdream")
res.put("aligned", "gradient", grad, "autograd through features[:%d]" % (relu_index + 1),
        kind="deepdream")
zoo = "a model zoo: no %s"
res.put("defaults", "objective", None, zoo % "objective")
res.put("defaults", "gradient", None, zoo % "objective to differentiate")
for stage, what in (("step", "optimiser"), ("forced", "optimiser"), ("jitter", "transforms"),
                    ("octaves", "octaves"), ("zoom", "zoom"), ("prior", "image prior")):
    res.both(stage, None, zoo % what)
res.write(out)
