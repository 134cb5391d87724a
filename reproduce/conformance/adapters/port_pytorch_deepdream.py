"""gordicaleksa/pytorch-deepdream (no package): its formulas restated.

Source: github.com/gordicaleksa/pytorch-deepdream at commit f37d99a; the
citations below are its files and lines.  Nothing of its code is used:
each formula is written here from the description.

defaults: its command line (deepdream.py:185-214): layer relu4_3 (a ReLU
module's output, models/definitions/vggs.py:85,127-128), ImageNet
normalisation (utils/utils.py:45-48), MSE loss, smoothed and standardised
gradient at lr 0.09, 4 pyramid levels at ratio 1.8, a shift of up to 32,
the ZOOM_ROTATE frame transform.  aligned: our preprocessing and dream.ipynb's
octave settings in its formulas.
"""
import cv2
import numpy as np
import torch
import torch.nn.functional as F

from _common import IMAGENET_STD, JITTER_NOTE, Results, read_inputs
from _torch import FullyConv, from_unit, imagenet_normalize, output_of, pixels, rule_steps

SOURCE = "gordicaleksa/pytorch-deepdream@f37d99a"
inputs, out = read_inputs()
res = Results({"pytorch-deepdream": SOURCE + " (restated)"})
net = FullyConv(inputs)
start = inputs["start"]
H, W = start.shape[:2]
unit = pixels(start) / 255.0
PRE = {"defaults": imagenet_normalize, "aligned": lambda u: from_unit(inputs, u)}

res.put("defaults", "preprocessing", PRE["defaults"](unit),
        "(pixels/255 - ImageNet mean) / ImageNet std (utils/utils.py:45-48, "
        "utils/constants.py:9-10)")
res.put("aligned", "preprocessing", PRE["aligned"](unit), "our preprocessing in its place")
x = torch.as_tensor(inputs["input"])
res.both("layer", output_of(net, getattr(net, inputs["relu"]), x),
         "its layer names are the ReLU modules' outputs, e.g. relu4_3 "
         "(models/definitions/vggs.py:85,127-128)")
res.both("logits", None, "dreams on torchvision's feature layers only (vggs.py)")
res.both("logit_map", None, "dreams on torchvision's feature layers only (vggs.py)")

# the loss: MSELoss(reduction='mean') against zeros = mean(a^2) (deepdream.py:39),
# averaged over the layers (deepdream.py:42)
for mode in ("defaults", "aligned"):
    image = pixels(start, grad=True)
    value = (output_of(net, getattr(net, inputs["relu"]), PRE[mode](image / 255.0),
                       grad=True) ** 2).mean()
    grad, = torch.autograd.grad(value, image)
    note = "MSELoss(mean) against zeros = mean(a^2) (deepdream.py:39): twice 0.5 mean(a^2)"
    if mode == "defaults":
        note += ", through ImageNet normalisation"
    res.scored(mode, value, grad, note, "deepdream")


def cascade_smoothing(g, sigma, size=9):
    """utils/utils.py:196-250: three normalised Gaussian kernels of 9x9 at
    0.5, 1 and 2 x sigma, reflect padding, depthwise, averaged."""
    axis = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    padded = F.pad(g, [size // 2] * 4, mode="reflect")
    total = 0
    for s in (0.5 * sigma, sigma, 2 * sigma):
        k = torch.exp(-(axis / s) ** 2 / 2)
        k2 = torch.outer(k, k)
        k2 = (k2 / k2.sum()).expand(3, 1, size, size)
        total = total + F.conv2d(padded, k2, groups=3)
    return total / 3


def make_rule(mode, iterations=10, lr=0.09, smoothing=0.5):
    """One gradient_ascent (deepdream.py:45-65): smooth with sigma = (k+1)/10 x 2
    + 0.5, standardise (g - mean) / std, x += 0.09 g in the network's input
    units, clamp to the image's bounds; here in 0..255 levels (ImageNet's
    std x 255 per channel in defaults, 1 in aligned)."""
    per_level = (torch.as_tensor(IMAGENET_STD).reshape(1, 3, 1, 1) * 255.0
                 if mode == "defaults" else torch.ones(1, 3, 1, 1))

    def rule(image, grad, k):
        # its gradient is in the input's units: ours is per level
        g = torch.as_tensor(np.asarray(grad, np.float32)) * per_level
        g = cascade_smoothing(g, ((k + 1) / iterations) * 2.0 + smoothing)
        g = (g - g.mean()) / g.std()
        moved = pixels(image) + lr * g * per_level
        return moved.clamp(0, 255)[0].permute(1, 2, 0).numpy()
    return rule


for mode in ("defaults", "aligned"):
    first, forced = rule_steps(make_rule(mode), inputs)
    note = ("the gradient smoothed by three Gaussians (deepdream.py:50-51), standardised "
            "(55-58), x += 0.09 g in the input's units (61), clamped (65); dream.ipynb "
            "moves 1.5 g / mean|g| levels")
    res.steps(mode, first, forced, note, kind="deepdream")

dy, dx = (int(v) for v in inputs["jitter"])
res.both("jitter", np.roll(start, (dy, dx), axis=(0, 1)),
         "torch.roll by np.random.randint(-32, 33) each axis, undone after the step "
         "(deepdream.py:96-101, utils/utils.py:183-190): dream.ipynb's; " +
         JITTER_NOTE % "nothing: the same roll")


def pyramid(size, ratio):
    """Sizes round(base x ratio^(level - size + 1)) (utils/utils.py:168-173); each
    level cv.resize (bilinear) of the previous level's image (deepdream.py:88-92):
    the whole image is carried up, not the detail."""
    bases, image = [], start
    for level in range(size):
        shape = np.round(np.float32((H, W)) * ratio ** (level - size + 1)).astype(np.int32)
        image = cv2.resize(image, (int(shape[1]), int(shape[0])))
        bases.append(image)
    return bases


res.put("defaults", "octaves", pyramid(4, 1.8),
        "--pyramid_size 4 --pyramid_ratio 1.8 (deepdream.py:194-195); the whole image is "
        "resized up each level, no detail carried (deepdream.py:88)")
res.put("aligned", "octaves", pyramid(4, 1.4), "ratio 1.4, dream.ipynb's, in its pyramid: "
        "cv2's bilinear resize where dream.ipynb zooms with scipy, the whole image "
        "carried")


def frame_transform(angle, scale):
    """utils/utils.py:141-155: cv.getRotationMatrix2D about (w/2, h/2), then
    cv.warpAffine (bilinear, zeros outside)."""
    matrix = cv2.getRotationMatrix2D((W / 2, H / 2), angle, scale)
    return cv2.warpAffine(start, matrix, (W, H))


res.put("defaults", "zoom", frame_transform(1.5, 1.04),
        "--frame_transform ZOOM_ROTATE (deepdream.py:203-205): 1.5 degrees and x1.04 a "
        "frame at 30 fps, about (w/2, h/2), bilinear (utils/utils.py:150-155)")
res.put("aligned", "zoom", frame_transform(0.01 * 17, 1.05 ** (17 / 25.0)),
        "its warp with the 2015 key frame's scale and angle: about (w/2, h/2), half a "
        "pixel from the 2015 centre (n - 1)/2, bilinear where 2015 is cubic")
res.both("prior", None, "no image prior: the gradient smoothing regularises")
res.write(out)
