"""captum.optim (never released: the optim-wip branch): its formulas restated.

Source: github.com/pytorch/captum, branch optim-wip (commit 39e6ab1),
files under captum/optim/.  Nothing of its code is used: each formula is
written here from the description.

defaults: InputOptimization (_core/optimization.py:40-160): a NaturalImage
parameter (FFT, decorrelated colours, squashed to 0..1, no normalisation:
_param/image/images.py:790-880), transforms RandomScale and
RandomSpatialJitter(16), a forward hook that keeps the module's output
(_core/output_hook.py:33-46), the DeepDream loss a^2 (_core/loss.py:303-322)
summarised by -mean (_core/loss.py:889-897), Adam at lr 0.025.  aligned:
our preprocessing as its transform, its jitter at a fixed offset.
"""
import torch
import torch.nn.functional as F

from _common import JITTER_NOTE, Results, read_inputs
from _torch import FullyConv, from_unit, optimiser_steps, output_of, pixels, put_logits, \
    torchvision_index, torchvision_vgg

SOURCE = "pytorch/captum@39e6ab1 (optim-wip) captum/optim"
inputs, out = read_inputs()
res = Results({"captum.optim": SOURCE + " (restated)"})
zoo, net = torchvision_vgg(inputs), FullyConv(inputs)
start = inputs["start"]
unit = pixels(start) / 255.0
PRE = {"defaults": lambda u: u, "aligned": lambda u: from_unit(inputs, u)}

res.put("defaults", "preprocessing", PRE["defaults"](unit),
        "no normalisation: NaturalImage gives 0..1 pixels and the default transform is "
        "RandomScale + RandomSpatialJitter(16) only (_core/optimization.py:70-72)")
res.put("aligned", "preprocessing", PRE["aligned"](unit), "our preprocessing as its transform")
x = torch.as_tensor(inputs["input"])
res.put("defaults", "layer", output_of(zoo, zoo.features[torchvision_index(
    inputs, inputs["conv"])], x), "ModuleOutputsHook keeps the conv module's output tensor "
        "(_core/output_hook.py:45-46), which torchvision's ReLU(inplace=True) overwrites")
res.put("aligned", "layer", output_of(net, getattr(net, inputs["conv"]), x),
        "the hook on a conv of a model with plain nn.ReLU() modules")
put_logits(res, inputs, zoo, net)

relu_zoo = zoo.features[torchvision_index(inputs, inputs["relu"])]
for mode, model, module in (("defaults", zoo, relu_zoo),
                            ("aligned", net, getattr(net, inputs["relu"]))):
    image = pixels(start, grad=True)
    value = -(output_of(model, module, PRE[mode](image / 255.0), grad=True) ** 2).mean()
    grad, = torch.autograd.grad(value, image)
    note = ("DeepDream loss a^2 (_core/loss.py:319-322), summarised by -mean "
            "(_core/loss.py:889-897): -mean(a^2), minimised")
    res.scored(mode, value, grad, note, "deepdream")

first, forced = optimiser_steps(lambda p: torch.optim.Adam(p, lr=0.025), inputs)
note = ("optim.Adam(lr=0.025) (_core/optimization.py:119,144) on 0..1 pixels: 6.4 levels a "
        "step where 2015 took 5; its parameter is an FFT spectrum, colour-decorrelated, "
        "squashed by a sigmoid")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda p: torch.optim.Adam(p, lr=5.0), inputs, unit=False)
note = ("optim.Adam at lr 5 on 0..255 pixels: Adam's moments weight the new gradient by "
        "1 - beta, the 2015 rule's by beta, so steps 2-4 differ")
res.steps("aligned", first, forced, note)


def spatial_jitter(image, translate, insets):
    """RandomSpatialJitter (_param/image/transforms.py:706-728): reflect-pad by
    ``translate``, then crop back at the insets (drawn in 0..2 x translate)."""
    padded = F.pad(image, [translate] * 4, mode="reflect")
    top, left = insets
    return padded[:, :, top:top + image.shape[2], left:left + image.shape[3]]


dy, dx = (int(v) for v in inputs["jitter"])
res.put("aligned", "jitter", spatial_jitter(pixels(start), 16, (16 - dy, 16 - dx))[0].permute(
    1, 2, 0), "RandomSpatialJitter(16) at a fixed offset: " + JITTER_NOTE % "the reflected "
    "border (a reflection pad, then a crop)")
res.put("defaults", "jitter", None, "RandomSpatialJitter(16): offsets 0..32 drawn at random, "
        "after RandomScale (0.95-1.05): no fixed offset to compare")
res.both("octaves", None, "one size only")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: the NaturalImage parameterisation regularises")
res.write(out)
