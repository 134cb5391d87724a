"""Small synthetic models of the real layer types, built by the tests."""
import numpy as np

from reproduce.nets.classes import imagenet_descriptions
from reproduce.nets.weights import LayerSpec, Model


def conv(name, rng, n_in, n_out, k, pad, stride=(1, 1), scale=None):
    scale = scale or np.sqrt(2.0 / (n_in * k * k))
    return LayerSpec(name, "conv", W=(rng.randn(n_out, n_in, k, k) * scale).astype(np.float32),
                     b=(rng.randn(n_out) * 0.1).astype(np.float32),
                     pad=(pad,) * 4, stride=stride)


def tiny_vgg(seed=0, width=4, n_classes=1000):
    """A VGG-shaped model: two conv blocks, fc6 as a 7x7 conv, fc7, fc8.

    Two 2x2 pools make the fc6 window 7x7 over a 28x28 input, so the logit
    map is 1x1 at 28x28 and grows with the input, like VGG-16 at 224x224.
    """
    rng = np.random.RandomState(seed)
    w = width
    layers = [conv("conv1_1", rng, 3, w, 3, 1), LayerSpec("relu1_1", "relu"),
              conv("conv1_2", rng, w, w, 3, 1), LayerSpec("relu1_2", "relu"),
              LayerSpec("pool1", "pool", size=(2, 2), stride=(2, 2)),
              conv("conv2_1", rng, w, 2 * w, 3, 1), LayerSpec("relu2_1", "relu"),
              LayerSpec("pool2", "pool", size=(2, 2), stride=(2, 2)),
              conv("fc6", rng, 2 * w, 4 * w, 7, 0), LayerSpec("relu6", "relu"),
              conv("fc7", rng, 4 * w, 4 * w, 1, 0), LayerSpec("relu7", "relu"),
              conv("fc8", rng, 4 * w, n_classes, 1, 0)]
    descriptions, wnids = imagenet_descriptions()
    return Model(layers=layers, model_name="tiny-vgg", channel_order="RGB",
                 mean=np.array([123.68, 116.779, 103.939], np.float32),
                 image_shape=(28, 28), descriptions=descriptions[:n_classes],
                 wnids=wnids[:n_classes])
