"""Classify an image: the model's own view (shorter side resized, centre crop
to the training size) or, with ``native``, the logit map at the photo's own
size averaged over positions."""
import numpy as np

from ..backend import T, theano
from .build import build_net, preprocess, to_batch
from .weights import Model

# The evaluation crop of both families we convert: VGG resizes the shorter
# side to 256 and takes the central 224 (Simonyan & Zisserman 2015, sec. 3.2
# / Caffe's ilsvrc_2012 test transform); TensorFlow's EfficientNet eval adds
# CROP_PADDING = 32 to 224 before cropping (efficientnet/preprocessing.py),
# the same 224/256.
CROP_FRACTION = 224.0 / 256.0
VIEWS = ("model", "native")


def view_size(image_size, model: Model, view="model"):
    """(width, height) to resize an image of ``image_size`` = (W, H) to before
    :func:`centre_crop`; ``native`` keeps it."""
    if view == "native":
        return tuple(image_size)
    if view != "model":
        raise UserError("--size %r: expected one of %s" % (view, ", ".join(VIEWS)))
    rows, cols = model.image_shape
    shorter = int(round(max(rows, cols) / CROP_FRACTION))
    scale = shorter / float(min(image_size))
    return (max(cols, int(round(image_size[0] * scale))),
            max(rows, int(round(image_size[1] * scale))))


def centre_crop(image, model: Model, view="model"):
    """(H, W, 3) -> the central (rows, cols) = model.image_shape; native: as is."""
    if view == "native":
        return image
    rows, cols = model.image_shape
    top, left = (image.shape[0] - rows) // 2, (image.shape[1] - cols) // 2
    return image[top:top + rows, left:left + cols]


class Classifier:
    """A forward pass: RGB 0..255 image (H, W, 3) -> logits (K,).

    The net is fully convolutional, so the logits are a map (K, rows, cols);
    we average it over positions, as a sliding-window classifier would (at
    the model's view the map is 1x1).  The function is compiled on first use,
    so sizes and memory can be checked against ``net`` before.
    """

    def __init__(self, model: Model, mean="channel"):
        model.require_classes("classifying")
        self.model, self.mean = model, mean
        self.net = build_net(model)
        self._logit_map = None

    def logit_map(self, batch):
        if self._logit_map is None:
            image = T.tensor4("rgb")
            self._logit_map = theano.function(
                [image], self.net.output(input=preprocess(image, self.model, self.mean)))
        return self._logit_map(batch)

    def logits(self, image):
        self.net.check_input_size(image.shape[:2])
        return self.logit_map(to_batch(image))[0].mean(axis=(1, 2))

    def top(self, logits, k=5):
        """[(index, description, logit)] for the k best of ``logits``."""
        order = np.argsort(-logits)[:k]
        return [(int(i), self.model.description(int(i)), float(logits[i])) for i in order]

    def load(self, path, view="model", max_memory=None):
        """The image at ``path`` as the net will see it, refused before
        decoding if a pass would not fit in memory."""
        from ..fileio import image_header, load_image
        from .memory import check_fits
        size = view_size(image_header(path), self.model, view)
        image = load_image(path, size, check=lambda w, h: check_fits(
            self.net, h, w, limit=max_memory, what="the image %s" % path))
        return centre_crop(image, self.model, view)
