"""The PyTorch adapters' shared pieces: our model in the shapes the ports
expect, and our preprocessing and objectives as torch operations (the
aligned mode feeds these to a port's machinery)."""
import numpy as np
import torch
import torch.nn as nn

from _common import IMAGENET_MEAN, IMAGENET_STD, conv_widths, to_nchw

torch.manual_seed(0)
torch.set_num_threads(2)


def _torchvision_operators():
    """The registry's torchvision 0.28.0 wheel is the CUDA build; under the
    CPU torch its C extension does not load, and its _meta_registrations.py
    (lines 163, 177) registers fake kernels for torchvision::nms and ::qnms,
    which fails unless the operators exist.  Defining their schemas first
    (no kernels: nothing here calls them) lets ``import torchvision`` work."""
    try:
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _torchvision_operators.library = lib  # kept alive: dropping it undefines them


_torchvision_operators()


def _conv_params(inputs, name):
    return (torch.as_tensor(inputs["W:" + name]), torch.as_tensor(inputs["b:" + name]))


def torchvision_vgg(inputs):
    """Our weights in torchvision's own VGG class, built the way its vgg16()
    builds it (``make_layers`` of a cfg list, ReLU(inplace=True), then
    AdaptiveAvgPool2d((7, 7)) and three Linear layers), no download.

    The cfg list and the classifier's widths are our model's; fc6 (a 7x7
    conv in our file) becomes the Linear on the flattened 7x7 map, (c, h, w)
    order, as torchvision flattens.
    """
    from torchvision.models.vgg import VGG, make_layers
    spec = inputs["spec"]
    convs = [layer["name"] for layer in spec["layers"]
             if layer["type"] == "conv" and not layer["name"].startswith("fc")]
    cfg = [int(inputs["W:" + convs.pop(0)].shape[0]) if c is None else "M"
           for c in conv_widths(spec)]
    fcs = [layer["name"] for layer in spec["layers"]
           if layer["type"] == "conv" and layer["name"].startswith("fc")]
    W6, W7, W8 = (inputs["W:" + n] for n in fcs)
    model = VGG(make_layers(cfg), num_classes=W8.shape[0], init_weights=False)
    model.classifier[0] = nn.Linear(W6[0].size, W6.shape[0])
    model.classifier[3] = nn.Linear(W7.shape[1], W7.shape[0])
    model.classifier[6] = nn.Linear(W8.shape[1], W8.shape[0])
    feature_convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    names = [layer["name"] for layer in spec["layers"]
             if layer["type"] == "conv" and not layer["name"].startswith("fc")]
    with torch.no_grad():
        for module, name in zip(feature_convs, names):
            W, b = _conv_params(inputs, name)
            module.weight.copy_(W)
            module.bias.copy_(b)
        for index, name in zip((0, 3, 6), fcs):
            W, b = _conv_params(inputs, name)
            model.classifier[index].weight.copy_(W.reshape(W.shape[0], -1))
            model.classifier[index].bias.copy_(b)
    return model.eval()


def torchvision_index(inputs, name):
    """The index in torchvision's ``features`` of our layer ``name``: our
    conv/relu/pool list is torchvision's, one for one, up to fc6."""
    names = [layer["name"] for layer in inputs["spec"]["layers"]]
    return names.index(name)


class FullyConv(nn.Module):
    """Our model as a plain nn.Sequential of named modules, fc6-fc8 as
    convolutions: the logit map at any size, as the 2015 net.  For a
    port's aligned mode (its hooks find the modules by these names)."""

    def __init__(self, inputs):
        super().__init__()
        for layer in inputs["spec"]["layers"]:
            name, kind = layer["name"], layer["type"]
            if kind == "conv":
                W, b = _conv_params(inputs, name)
                top, bottom, left, right = layer["pad"]
                assert top == bottom and left == right, "symmetric pads only"
                module = nn.Conv2d(W.shape[1], W.shape[0], W.shape[2:], layer["stride"],
                                   (top, left))
                with torch.no_grad():
                    module.weight.copy_(W)
                    module.bias.copy_(b)
            elif kind == "relu":
                module = nn.ReLU()
            else:
                module = nn.MaxPool2d(layer["size"], layer["stride"],
                                      (layer["pad"][0], layer["pad"][2]))
            self.add_module(name, module)
        self.eval()

    def forward(self, x):
        for module in self.children():
            x = module(x)
        return x


def ours(inputs, pixels):
    """Our preprocessing of (1, 3, H, W) RGB 0..255 pixels (a tensor)."""
    spec = inputs["spec"]
    x = pixels - float(np.mean(spec["mean_rgb"]))
    if spec["channel_order"] == "BGR":
        x = torch.flip(x, dims=(1,))
    return x * float(spec["scale"])


def from_unit(inputs, unit):
    """Our preprocessing of 0..1 pixels, which the ports optimise."""
    return ours(inputs, unit * 255.0)


def imagenet_normalize(unit):
    """torchvision's documented normalisation of 0..1 RGB pixels."""
    mean = torch.as_tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1)
    std = torch.as_tensor(IMAGENET_STD).reshape(1, 3, 1, 1)
    return (unit - mean) / std


def lsd2015(inputs, logits):
    """The 2015 objective on a logit map (1, K, R, C): logit c0 over rows
    h.., c1 over rows ..h-1, minus the mean of all; an empty half counts 0."""
    c0, c1 = (int(c) for c in inputs["classes"])
    h = int(inputs["half_row"])
    lower = logits[0, c0, h:].mean() if logits.shape[2] > h else logits.sum() * 0
    upper = logits[0, c1, :h].mean() if h > 0 else logits.sum() * 0
    return lower + upper - logits.mean()


def deepdream(activation):
    """dream.ipynb's objective: 0.5 * mean(a^2) (the L2 of its objective_L2)."""
    return 0.5 * (activation ** 2).mean()


def pixels(image, grad=False):
    """(H, W, 3) 0..255 -> a (1, 3, H, W) tensor, optionally a leaf with a gradient."""
    t = torch.as_tensor(to_nchw(image))
    return t.requires_grad_(True) if grad else t


def image_of(tensor):
    return tensor.detach()[0].permute(1, 2, 0).numpy().copy()


def optimiser_steps(make_optimizer, inputs, kind="lsd2015", unit=True, clip=None,
                    scale=None):
    """A port's optimiser fed our loss gradients: (one step from ``start``,
    teacher-forced steps 1-4 from the reference's images).

    The parameter holds the pixels on 0..1 (``unit``: the ports' range; the
    gradient is converted to it, x255) or 0..255; each forced step starts
    from the reference's image, the optimiser's state carried over, as the
    2015 run's moments are (they were reset at step 1 by its zoom).
    ``clip``: (low, high) 0..255 after each step, where the port clips.
    ``kind`` "deepdream": DeepDream's gradients (an objective to maximise:
    the optimiser, which minimises, gets them negated); "lsd2015": the 2015
    loss's.  ``scale``: levels per parameter unit (default 255: 0..1 pixels; or 1).
    """
    scale = scale or (255.0 if unit else 1.0)
    sign = -1.0 if kind == "deepdream" else 1.0
    first_key, grad_key = (("dd_grad", "forced_dd_grad") if kind == "deepdream"
                           else ("lsd_grad", "forced_lsd_grad"))

    def stepper():
        param = torch.zeros((1, 3) + inputs["start"].shape[:2], requires_grad=True)
        return param, make_optimizer([param])

    def take(param, optimizer, image, grad):
        with torch.no_grad():
            param.copy_(torch.as_tensor(to_nchw(image)) / scale)
        param.grad = torch.as_tensor(np.asarray(grad, np.float32)) * (sign * scale)
        optimizer.step()
        out = param.detach() * scale
        if clip is not None:
            out = out.clamp(*clip)
            with torch.no_grad():
                param.copy_(out / scale)
        return image_of(out)

    param, optimizer = stepper()
    first = take(param, optimizer, inputs["start"], inputs[first_key])
    param, optimizer = stepper()
    forced = [take(param, optimizer, image, g)
              for image, g in zip(inputs["forced_before"], inputs[grad_key])]
    return first, np.stack(forced)


def put_logits(res, inputs, zoo, fully_conv, how="a torchvision VGG"):
    """The logits and logit-map stages of a port that takes any model: the
    torchvision VGG a user hands it (defaults), the fully convolutional
    model (aligned)."""
    x = torch.as_tensor(inputs["input"])
    th, tw = inputs["spec"]["image_shape"]
    with torch.no_grad():
        res.put("defaults", "logits", zoo(x[:, :, :th, :tw])[:, :, None, None], how)
        res.put("defaults", "logit_map", zoo(x), how + ": AdaptiveAvgPool2d((7, 7)) then "
                "Linear (torchvision models/vgg.py:42,68), one vector at any size")
        res.put("aligned", "logits", fully_conv(x[:, :, :th, :tw]),
                "the model with fc6-fc8 as convolutions")
        res.put("aligned", "logit_map", fully_conv(x), "the model with fc6-fc8 as convolutions")


def output_of(model, module, x, grad=False):
    """What a forward hook on ``module`` keeps when ``model`` runs on ``x``
    (the tensor itself, as the ports keep it: an in-place ReLU after the
    module overwrites it)."""
    kept = {}
    handle = module.register_forward_hook(lambda m, args, out: kept.update(value=out))
    with torch.set_grad_enabled(grad):
        model(x)
    handle.remove()
    return kept["value"]


def rule_steps(rule, inputs, kind="deepdream"):
    """A stateless update rule ``rule(image, grad, k)`` -> image (0..255,
    (H, W, 3)), fed our gradients: (one step from ``start``, the
    teacher-forced steps 1-4 from the reference's images, k = 0..3)."""
    first_key, key = (("dd_grad", "forced_dd_grad") if kind == "deepdream"
                      else ("lsd_grad", "forced_lsd_grad"))
    first = rule(inputs["start"], inputs[first_key], 0)
    return first, np.stack([rule(image, g, k) for k, (image, g) in
                            enumerate(zip(inputs["forced_before"], inputs[key]))])



def keras_inception_stages(inputs, res, preprocessing_note, layer_note):
    """What the two Keras DeepDream sources (the keras-io example and the
    TensorFlow tutorial) share, restated on our model: InceptionV3's
    preprocess_input ("tf" mode: x / 127.5 - 1 on RGB) in defaults, ours in
    aligned; a layer read after its ReLU (Keras layers carry their
    activation); the features only.  -> (model, {mode: preprocessing of 0..1
    pixels}, {mode: levels per unit of the net's input})."""
    net = FullyConv(inputs)
    pre = {"defaults": lambda u: u * 2.0 - 1.0, "aligned": lambda u: from_unit(inputs, u)}
    unit = pixels(inputs["start"]) / 255.0
    res.put("defaults", "preprocessing", pre["defaults"](unit), preprocessing_note)
    res.put("aligned", "preprocessing", pre["aligned"](unit), "our preprocessing in its place")
    res.both("layer", output_of(net, getattr(net, inputs["relu"]),
                                torch.as_tensor(inputs["input"])), layer_note)
    res.both("logits", None, "include_top=False: the feature layers only")
    res.both("logit_map", None, "include_top=False: the feature layers only")
    return net, pre, {"defaults": 127.5, "aligned": 1.0}
