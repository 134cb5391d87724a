"""Google's DeepDream (2015) on the Theano engine.

The recipe of google/deepdream's ``dream.ipynb``, in this project's terms:

* the objective is a value to maximise: ``objectives.layer_l2`` (0.5 *
  mean(a^2) of a layer or one channel) or ``objectives.guide`` (guided
  dreaming: the dot product with a guide image's features);
* gradient ascent on the pixels, every step scaled by step_size / mean|g|
  (no epsilon), so one step size suits every layer and net;
* before each gradient the image is rolled by a random offset (the
  jitter) and rolled back after, so no pixel grid pattern gets reinforced;
* octaves: dream on a pyramid of sizes from small to large, each octave
  the next larger one zoomed by 1/octave_scale; the detail a small octave
  dreamed (dreamed minus its base) is scaled up and added to the next
  octave's base, so large structures form at low resolution;
* pixels are clipped to 0..255 after every step (not before an octave's
  first step).

A conv layer's name means its output after the ReLU (see :func:`reproduce.nets.naming.rectified`).

The image is (H, W, 3) RGB on 0..255 throughout; ``nets.preprocess``
inside the compiled graph turns it into what the net expects (for the
HED VGG-16: BGR minus the Caffe mean).  ONE compiled gradient function
serves every octave and size: the input shape is symbolic.
"""
import numpy as np
import scipy.ndimage

from ..backend import T, theano
from .settings import DreamSettings
from ..errors import UserError
from ..loop import Loop, Result
from ..nets.build import from_batch, preprocess, to_batch


# --------------------------------------------------------------- layers

# --------------------------------------------------------------- compiled parts

def activations(net, pixels, mean="channel"):
    """acts(name) for ``pixels``: symbolic (1, 3, H, W) RGB on 0..255, put
    through ``nets.preprocess`` (for the HED VGG-16: BGR minus the Caffe mean)."""
    return net.activations(preprocess(pixels, net.model, mean))


def compile_gradient(net, objective):
    """f(pixels (1, 3, H, W) float32) -> [score (), d score / d pixels (1, 3, H, W)].

    One Theano compile; any H, W that the net accepts works.  A torch net
    (``--backend torch``) gives its twin, reproduce_torch.deepdream's.
    """
    if net.backend == "torch":
        from reproduce_torch.deepdream import compile_gradient as torch_gradient
        return torch_gradient(net, objective)
    pixels = T.tensor4("pixels")
    score = objective(activations(net, pixels))
    return theano.function([pixels], [score, T.grad(score, pixels)])


def compile_features(net, layer):
    """f(pixels (1, 3, H, W)) -> layer's activations flattened, (channels, positions)."""
    if net.backend == "torch":
        from reproduce_torch.deepdream import compile_features as torch_features
        return torch_features(net, layer)
    pixels = T.tensor4("pixels")
    return theano.function([pixels], activations(net, pixels)(layer)[0].flatten(2))


def guide_features(net, layer, guide_image):
    """The guide's features at ``layer``, (channels, positions) float32: what
    ``objectives.guide(layer, features)`` matches the dream against."""
    check_layer_input(net, layer, guide_image.shape[:2], "the guide image")
    return compile_features(net, layer)(to_batch(guide_image))


# --------------------------------------------------------------- octaves

def octave_sizes(shape, octaves, scale):
    """(rows, cols) of each octave, smallest first, the full ``shape`` last.

    Each octave is the next larger one divided by ``scale``, rounded.
    """
    sizes = [tuple(shape)]
    for _ in range(octaves - 1):
        rows, cols = sizes[-1]
        sizes.append((max(1, int(round(rows / scale))), max(1, int(round(cols / scale)))))
    return sizes[::-1]


def resize(image, size, edge="nearest", fill=0.0):
    """(H, W, C) -> (rows, cols, C), bilinear (scipy zoom, order 1), as
    dream.ipynb's ``nd.zoom(..., order=1)``.

    zoom's output size is round(H * rows / H) = rows, so the size is exact,
    and zoom's sample points depend only on the two sizes, so this equals
    the notebook's zoom by 1/octave_scale wherever the sizes agree.

    ``edge`` (one of OCTAVE_EDGES): for some sizes (e.g. 111 rows -> 79)
    rounding makes the last row sample just outside the image.  "notebook":
    zoom's default mode "constant", as dream.ipynb, which makes that whole
    row ``fill`` (the notebook zoomed mean-subtracted images, so its 0 is
    the mean colour: pass the model's mean; 0 for details); "nearest": the
    edge pixels repeated.  Elsewhere the two give the same values.
    """
    rows, cols = size
    factors = (rows / image.shape[0], cols / image.shape[1], 1)
    if edge == "nearest":
        return scipy.ndimage.zoom(image, factors, order=1, mode="nearest")
    fill = np.asarray(fill, np.float32)
    return scipy.ndimage.zoom(image - fill, factors, order=1, mode="constant") + fill


def check_layer_input(net, layer, size, what="the image"):
    """UserError when an input of ``size`` = (rows, cols) leaves ``layer`` empty."""
    shape = net.output_shape(size[0], size[1], layer)
    if min(shape[2:]) < 1:
        raise UserError("%s at %dx%d is too small for layer %s of %s (its output would "
                        "be empty); use a larger image or fewer --octaves"
                        % (what, size[1], size[0], layer, net.model.model_name))


def check_octaves(net, layer, shape, settings):
    """UserError unless the smallest octave of a ``shape`` image reaches ``layer``."""
    smallest = octave_sizes(shape, settings.octaves, settings.octave_scale)[0]
    check_layer_input(net, layer, smallest,
                      "the smallest of %d octaves" % settings.octaves)


# --------------------------------------------------------------- the ascent

def ascent_step(gradient, image, settings, rng):
    """One jittered, normalised gradient-ascent step (dream.ipynb ``make_step``).

    image (H, W, 3) float32 on 0..255 -> (new image, score before the step).
    The step is step_size / mean|g| * g, with no epsilon, as the notebook's;
    an all-zero gradient (nothing to enhance) leaves the image as it is
    instead of dividing by zero.  Then the pixels are clipped.
    """
    dx, dy = rng.randint(-settings.jitter, settings.jitter + 1, 2)  # the notebook's ox, oy
    score, g = gradient(to_batch(np.roll(image, (dy, dx), axis=(0, 1))))
    g = np.roll(from_batch(g), (-dy, -dx), axis=(0, 1))
    size = np.abs(g).mean()
    if size > 0:
        image = image + settings.step_size / size * g
    return np.clip(image, *settings.clip).astype(np.float32), float(score)


def octave_bases(image, settings, mean=0.0):
    """The octaves' base images, smallest first, the full ``image`` last.

    As dream.ipynb: each octave is the next larger one zoomed by
    1/octave_scale (bilinear), not the full image resized; ``mean`` (RGB)
    is the model's, the colour of the notebook's edge rows
    (``settings.octave_edge``, :func:`resize`).
    """
    bases = [image]
    for size in octave_sizes(image.shape[:2], settings.octaves,
                             settings.octave_scale)[-2::-1]:
        bases.append(resize(bases[-1], size, settings.octave_edge, mean))
    return bases[::-1]


def dream_octaves(gradient, image, settings, mean=0.0):
    """Dream ``image`` octave by octave, smallest first, carrying the detail up
    (dream.ipynb ``deepdream``).

    Each octave starts from its base plus the previous octave's detail
    (dreamed minus base) scaled up to it, not clipped before its first step,
    as in the notebook.  Yields (octave, step, dreamed image, its octave's
    base, score) after every step; the last image yielded is the finished
    dream.  ``mean``: the model's mean RGB (:func:`octave_bases`).
    """
    image = np.asarray(image, np.float32)
    rng = np.random.RandomState(settings.seed)
    detail = None
    for octave, base in enumerate(octave_bases(image, settings, mean)):
        detail = (np.zeros_like(base) if detail is None
                  else resize(detail, base.shape[:2], settings.octave_edge))
        dreamed = base + detail
        for step in range(settings.steps):
            dreamed, score = ascent_step(gradient, dreamed, settings, rng)
            yield octave, step, dreamed, base, score
        detail = dreamed - base


def deepdream(gradient, image, settings=DreamSettings(), progress=True, desc="dream",
              mean=0.0):
    """Run DeepDream on ``image`` (H, W, 3) on 0..255 -> :class:`reproduce.loop.Result`
    (its image at the input's size, steps of all octaves together, history:
    the objective before each step).

    ``gradient`` comes from :func:`compile_gradient`; ``mean`` is the
    model's mean RGB (``net.model.mean_rgb()``), which only
    ``settings.octave_edge="notebook"`` reads.  A tqdm bar counts
    octaves x steps.  Ctrl-C stops early and keeps what was made: the detail
    dreamed so far, scaled up onto the full-size image.
    """
    image = np.asarray(image, np.float32)
    scores, last = [], None
    with Loop(settings.octaves * settings.steps, desc, progress) as loop:
        for octave, _, dreamed, base, score in dream_octaves(gradient, image, settings, mean):
            scores.append(score)
            last = dreamed, base
            loop.tick(octave="%d/%d" % (octave + 1, settings.octaves),
                      score="%.4g" % score)
    result = image if last is None else at_full_size(image, *last, settings.clip,
                                                     settings.octave_edge)
    return Result(result, len(scores), loop.seconds, loop.interrupted, scores)


def at_full_size(image, dreamed, base, clip=(0.0, 255.0), edge="nearest"):
    """The dream so far at ``image``'s size: its detail (dreamed - base) scaled
    up onto the full image, which is ``dreamed`` itself at the last octave."""
    if dreamed.shape == image.shape:
        return dreamed
    detail = resize(dreamed - base, image.shape[:2], edge)
    return np.clip(image + detail, *clip).astype(np.float32)
