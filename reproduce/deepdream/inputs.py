"""What DeepDream and the class models start from: a photo at a size that
fits in memory, a layer to enhance, a channel of it."""
from ..errors import UserError


def astronaut(size):
    """scikit-image's astronaut (it ships with the package: no download) at
    ``size`` = (W, H), bicubic, as (H, W, 3) float32 on 0..255."""
    import numpy as np
    import skimage.data
    from PIL import Image
    photo = Image.fromarray(skimage.data.astronaut()).resize(tuple(size), Image.BICUBIC)
    return np.asarray(photo, np.float32)



def fit_size(size, like):
    """``size`` for an image of ``like`` = (W, H): a (W, H) as it is, or one
    number N: ``like`` scaled so that its longer side is N."""
    if not isinstance(size, int):
        return tuple(size)
    scale = size / float(max(like))
    return max(1, round(like[0] * scale)), max(1, round(like[1] * scale))


def load_photo(path, net, layer, size=None, max_memory=None, what="the image"):
    """Read ``path`` as (H, W, 3) on 0..255, resized to ``size`` ((W, H), or
    N for its longer side; None: its own size), after checking from its
    header that a pass through ``net`` up to ``layer`` fits in memory
    (``max_memory`` bytes; None: the memory available)."""
    from ..fileio import image_header, load_image
    from ..nets.memory import check_fits
    size = fit_size(size, image_header(path)) if size is not None else None
    return load_image(path, size, check=lambda w, h: check_fits(
        net, h, w, layer, max_memory, "%s %s" % (what, path)))


def resolve_layer(net, name, pre_relu=False):
    """The layer to enhance for ``name``: after its ReLU unless ``pre_relu``
    (see :func:`reproduce.nets.naming.rectified`)."""
    from ..nets.naming import before_relu, rectified
    net.layer(name)  # unknown name -> UserError listing the valid ones
    return before_relu(net, name) if pre_relu else rectified(net, name)


def check_channel(net, layer, channel, guide=None):
    """UserError unless ``channel`` (None: all) is one of ``layer``'s channels
    and comes without a ``guide``."""
    if channel is None:
        return
    if guide:
        raise UserError("--channel and --guide do not combine: the guide's features "
                        "span all channels of the layer")
    n = net.output_shape(*net.model.image_shape, name=layer)[1]
    if not 0 <= channel < n:
        raise UserError("layer %s has %d channels; --channel must be 0..%d"
                        % (layer, n, n - 1))


def dream_objective(net, layer, channel=None, guide=None, max_memory=None):
    """DeepDream's objective at ``layer``: the features of the ``guide`` image
    (a path) matched, else 0.5 * mean(a^2) of the layer or of one ``channel``."""
    from .. import objectives
    from .dream import guide_features
    if guide:
        image = load_photo(guide, net, layer, None, max_memory, "the guide image")
        features = guide_features(net, layer, image)
        if net.backend == "torch":
            from reproduce_torch.deepdream import guide as torch_guide
            return torch_guide(layer, features)
        return objectives.guide(layer, features)
    return objectives.layer_l2(layer, channel)
