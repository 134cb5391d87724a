"""Build a model's layer list as a PyTorch network, and the preprocessing.

The twin of :mod:`reproduce.nets.build`: the same HDF5 model (``reproduce.nets.weights``),
the same layer names, the same fully convolutional logit map.  Filters are
stored as correlations and ``torch.nn.functional.conv2d`` correlates, so they
are used as stored (the Theano net passes ``filter_flip=False`` for the same
reason).
"""
import collections

import numpy as np
import torch
import torch.nn.functional as F

from reproduce.errors import UserError
from reproduce.nets.weights import Model

from .precision import resolve


def default_device():
    """CUDA when torch sees a GPU, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def full_float32():
    """Keep cuDNN convolutions in IEEE float32, as the reference computes.

    On Ampere and newer GPUs torch lets cuDNN use TF32 (10-bit mantissas)
    by default: about 1e-3 relative error, a thousand times the float32
    differences the reference-vector tests allow.  The switch is global.
    """
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):  # torch >= 2.9
        conv.fp32_precision = "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = False


# The layer types TorchNet runs (of reproduce.nets.weights.LAYER_TYPES).
TORCH_LAYERS = ("conv", "relu", "relu6", "pool", "add")


def same_padding(size, kernel, stride):
    """TensorFlow SAME padding (before, after) along one axis of ``size`` pixels."""
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv(x, spec, W, b):
    """One correlation layer; W (out, in/groups, kh, kw) on x's device."""
    if spec.pad == "same":
        (t, bo), (le, r) = [same_padding(x.shape[2 + a], W.shape[2 + a], spec.stride[a])
                            for a in (0, 1)]
        x, padding = F.pad(x, (le, r, t, bo)), 0
    elif spec.pad[0] == spec.pad[1] and spec.pad[2] == spec.pad[3]:
        padding = (spec.pad[0], spec.pad[2])
    else:
        t, bo, le, r = spec.pad
        x, padding = F.pad(x, (le, r, t, bo)), 0
    return F.conv2d(x, W, b, stride=tuple(spec.stride), padding=padding,
                    groups=spec.groups)


def _pool(x, spec):
    """Max pools skip the padding (as Theano's C pool does); averages count it."""
    if spec.pad[0] != spec.pad[1] or spec.pad[2] != spec.pad[3]:
        raise UserError("layer %r: asymmetric pool padding %s is not supported"
                        % (spec.name, spec.pad))
    pad = (spec.pad[0], spec.pad[2])
    if spec.method == "max":
        return F.max_pool2d(x, tuple(spec.size), tuple(spec.stride), pad)
    return F.avg_pool2d(x, tuple(spec.size), tuple(spec.stride), pad,
                        count_include_pad=True)


def _out_len(n, spec, axis):
    """Output length along ``axis`` of a conv or pool layer for an input of n."""
    k = spec.W.shape[2 + axis] if spec.type == "conv" else spec.size[axis]
    s = spec.stride[axis]
    if spec.pad == "same":
        return (n + s - 1) // s
    return (n + spec.pad[2 * axis] + spec.pad[2 * axis + 1] - k) // s + 1


class TorchNet:
    """A model's layers as torch operations on ``device``.

    ``outputs(names, x)`` runs the net on x, (N, 3, rows, cols) preprocessed
    float32, and returns the named layers' outputs as float32, (N, channels,
    rows', cols') each; it stops after the deepest layer asked for.

    ``precision`` (:mod:`reproduce_torch.precision`): "float32", or "bf16"
    (where the device has a bfloat16 unit): then the layers run on bfloat16
    tensors in channels-last order, with weights converted once, here; each
    convolution accumulates in float32 inside oneDNN (cuDNN on a GPU), and
    what leaves the net is float32 again, so objectives sum in float32.
    """

    backend = "torch"

    def __init__(self, model: Model, device=None, precision="float32", flags=None):
        self.model = model
        self.device = torch.device(device) if device is not None else default_device()
        if self.device.type == "cuda":
            full_float32()
        for spec in model.layers:
            if spec.type not in TORCH_LAYERS or getattr(spec, "rounding", None) == "ceil":
                raise UserError("layer %r of %s (%s%s) does not run on the torch "
                                "backend; use --backend theano" % (
                                    spec.name, model.model_name, spec.type,
                                    ", ceil rounding" if spec.type == "pool" else ""))
        self.precision = resolve(precision, self.device, flags)
        # channels-last: oneDNN's bfloat16 convolutions work on NHWC; on NCHW
        # tensors each layer pays a reorder each way (docs/precision.md)
        self.dtype, layout = (torch.bfloat16, torch.channels_last) \
            if self.precision == "bf16" else (torch.float32, torch.preserve_format)
        self.params = {}
        for spec in model.layers:
            if spec.type == "conv":
                w = torch.as_tensor(np.asarray(spec.W, np.float32), device=self.device)
                b = torch.as_tensor(np.asarray(spec.b, np.float32), device=self.device)
                self.params[spec.name] = (w.to(self.dtype, memory_format=layout),
                                          b.to(self.dtype))
        self.layout = layout
        self.names = [spec.name for spec in model.layers]
        self.layers = {spec.name: spec for spec in model.layers}

    @property
    def output_name(self):
        return self.names[-1]

    def conv_names(self):
        return self.model.layer_names("conv")

    def layer(self, name):
        """The model's spec of layer ``name`` (UserError listing the valid names)."""
        self._check_names([name])
        return self.layers[name]

    def _check_names(self, names):
        for name in names:
            if name not in self.names:
                raise UserError("unknown layer %r; valid layers: %s"
                                % (name, ", ".join(self.names)))

    def activations(self, x):
        """acts(name) -> that layer's output for the preprocessed input ``x``.

        Layers run lazily, each once, up to the deepest one asked for so far:
        objectives may ask for several layers without a second forward pass.
        """
        x = x.to(self.dtype, memory_format=self.layout)
        values = collections.OrderedDict(input=x)
        layers = iter(self.model.layers)
        state = {"previous": x}

        def acts(name):
            self._check_names([name])
            while name not in values:
                spec = next(layers)
                incoming = values[spec.input] if spec.input else state["previous"]
                values[spec.name] = state["previous"] = self._apply(spec, incoming, values)
            return values[name].float()  # a no-op in float32
        return acts

    def _apply(self, spec, incoming, values):
        if spec.type == "conv":
            return _conv(incoming, spec, *self.params[spec.name])
        if spec.type == "relu":
            return F.relu(incoming)
        if spec.type == "relu6":
            return torch.clamp(incoming, 0.0, 6.0)
        if spec.type == "pool":
            return _pool(incoming, spec)
        return values[spec.inputs[0]] + values[spec.inputs[1]]  # add

    def outputs(self, names, x):
        """The named layers' outputs for the preprocessed input ``x``."""
        acts = self.activations(x)
        return [acts(n) for n in names]

    def output(self, name=None, x=None):
        return self.outputs([name or self.output_name], x)[0]

    def output_shape(self, rows, cols, name=None):
        """Shape of a layer's output for a (1, 3, rows, cols) input, by arithmetic."""
        name = name or self.output_name
        self._check_names([name])
        shapes = {"input": (1, 3, rows, cols)}
        previous = shapes["input"]
        for spec in self.model.layers:
            n, c, h, w = shapes[spec.input] if spec.input else previous
            if spec.type == "conv":
                c, h, w = spec.W.shape[0], _out_len(h, spec, 0), _out_len(w, spec, 1)
            elif spec.type == "pool":
                h, w = _out_len(h, spec, 0), _out_len(w, spec, 1)
            shapes[spec.name] = previous = (n, c, h, w)
            if spec.name == name:
                return previous

    def check_input_size(self, size, name=None, what=""):
        """Raise UserError when an input of ``size`` = (rows, cols) is too small."""
        if min(self.output_shape(*size, name=name)[2:]) < 1:
            raise UserError("an input of %dx%d pixels%s is too small for %s: its "
                            "output would be empty; the net needs at least %dx%d"
                            % (size[1], size[0], " (%s)" % what if what else "",
                               self.model.model_name, *self.model.image_shape[::-1]))


def build_net(model: Model, device=None, precision="float32"):
    """The torch twin of :func:`reproduce.nets.build.build_net`; ``precision``
    as :class:`TorchNet` takes it."""
    return TorchNet(model, device, precision)


def preprocess(batch, model: Model, mean="channel"):
    """RGB 0..255 (N, 3, H, W) tensor -> network input, as reproduce.nets.build.preprocess.

    ``mean``: "channel" subtracts the per-channel mean, "scalar" one number
    (the mean of the average image, the 2015 way); then BGR models get their
    channels reversed, and everything is scaled.
    """
    m = model.mean_rgb().astype(np.float32)
    if mean == "scalar":
        m = np.full(3, m.mean(), np.float32)
    x = batch - torch.as_tensor(m, device=batch.device).reshape(1, 3, 1, 1)
    if model.channel_order == "BGR":
        x = torch.flip(x, dims=(1,))
    return x * float(model.scale)
