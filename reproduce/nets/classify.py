"""Classify an image at its own size: the logit map, averaged over positions."""
import numpy as np

from ..backend import T, theano
from .build import build_net, preprocess, to_batch
from .weights import Model


class Classifier:
    """A compiled forward pass: RGB 0..255 image (H, W, 3) -> logits (K,).

    The net is fully convolutional, so the logits are a map (K, rows, cols);
    we average it over positions, as a sliding-window classifier would.
    """

    def __init__(self, model: Model, mean="channel"):
        model.require_classes("classifying")
        self.model = model
        image = T.tensor4("rgb")
        self.net = net = build_net(model)
        logit_map = net.output(input=preprocess(image, model, mean))
        self.logit_map = theano.function([image], logit_map)

    def logits(self, image):
        self.net.check_input_size(image.shape[:2])
        return self.logit_map(to_batch(image))[0].mean(axis=(1, 2))

    def top(self, logits, k=5):
        """[(index, description, logit)] for the k best of ``logits``."""
        order = np.argsort(-logits)[:k]
        return [(int(i), self.model.descriptions[i], float(logits[i])) for i in order]
