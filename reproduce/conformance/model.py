"""The model the table is measured on when no weights are given.

VGG-16's shape (13 3x3 convs in five blocks, 2x2 max pools, fc6 a 7x7
conv, fc7 and fc8 1x1 convs, 1000 classes, BGR with the Caffe mean as the
2015 VGG-16) at an eighth of its widths, with He-normal weights: every
port that takes a VGG takes it, the Theano reference computes it in
seconds, and nothing is downloaded.  The full-width VGG-16 (`make
weights`) works too (--weights), slower.
"""
import numpy as np

from ..nets.weights import LayerSpec, Model

BLOCKS = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))  # VGG-16: (width, convs)
FC = 4096
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # the VGG-16 Caffe model's, BGR


def vgg16_small(seed=0, shrink=8):
    """VGG-16 with every width divided by ``shrink``; biases 0.1 N(0, 1)."""
    from ..nets.classes import imagenet_descriptions
    rng = np.random.RandomState(seed)

    def conv(name, n_in, n_out, k, pad):
        W = (rng.randn(n_out, n_in, k, k) * np.sqrt(2.0 / (n_in * k * k))).astype(np.float32)
        b = (0.1 * rng.randn(n_out)).astype(np.float32)
        return LayerSpec(name, "conv", W=W, b=b, pad=(pad,) * 4, stride=(1, 1))

    layers, n_in = [], 3
    for block, (width, count) in enumerate(BLOCKS, 1):
        for i in range(1, count + 1):
            layers += [conv("conv%d_%d" % (block, i), n_in, width // shrink, 3, 1),
                       LayerSpec("relu%d_%d" % (block, i), "relu")]
            n_in = width // shrink
        layers.append(LayerSpec("pool%d" % block, "pool", size=(2, 2), stride=(2, 2)))
    layers += [conv("fc6", n_in, FC // shrink, 7, 0), LayerSpec("relu6", "relu"),
               conv("fc7", FC // shrink, FC // shrink, 1, 0), LayerSpec("relu7", "relu"),
               conv("fc8", FC // shrink, 1000, 1, 0)]
    descriptions, wnids = imagenet_descriptions()
    return Model(layers=layers, model_name="vgg16-small", channel_order="BGR",
                 mean=np.array(CAFFE_MEAN_BGR, np.float32), image_shape=(224, 224),
                 descriptions=descriptions, wnids=wnids)
