"""Objectives as composable values (after Lucid's ``objectives``).

An :class:`Objective` maps ``acts`` -- a function from a layer name to that
layer's symbolic output, shape (1, channels, rows, cols) -- to a scalar to
*maximise*.  Objectives add, subtract and scale, so the 2015 objective is
one expression of the pieces::

    lsd2015(c0, c1) == class_logit(c0, region="lower")
                       + class_logit(c1, region="upper") - mean_logits()

They work on logits, never the softmax (the 2015 post: the softmax made
the net suppress every other class).  Written with plain indexing and
arithmetic, they serve Theano tensors and the PyTorch port's tensors alike;
only :func:`guide` needs Theano.
"""
import numpy as np


class Objective:
    """A scalar to maximise, built from layer activations; ``name`` describes it."""

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def __call__(self, acts):
        return self.fn(acts)

    def __add__(self, other):
        other = _as_objective(other)
        return Objective(lambda a: self(a) + other(a), "%s + %s" % (self.name, other.name))

    __radd__ = __add__

    def __neg__(self):
        return Objective(lambda a: -self(a), "-(%s)" % self.name)

    def __sub__(self, other):
        return self + (-_as_objective(other))

    def __mul__(self, weight):
        return Objective(lambda a: weight * self(a), "%g * %s" % (weight, self.name)) \
            if isinstance(weight, (int, float)) else NotImplemented

    __rmul__ = __mul__

    def __repr__(self):
        return "Objective(%s)" % self.name


def _as_objective(value):
    if isinstance(value, Objective):
        return value
    return Objective(lambda a: value, repr(value))


def rows(x, region, half=None):
    """The rows of a (1, K, rows, cols) map that a region aims at.

    "lower" is rows ``half`` .. end, "upper" rows 0 .. ``half``-1, as in the
    2015 code (train.py:87-88, train_image.py:87-88).  ``half`` is the
    half-way row:

    * an int: the 2015 rule.  2015 took it from Lasagne's *static* output
      shape, i.e. from the map of the full-size image, even where the net
      saw the image mean-pooled (``image2015``: row 13 of hd1.jpg's 27-row
      map, while the pooled maps have 5 and 2 rows).  A slice may then be
      empty -- the upper one of a one-row map (half 0), the lower one of a
      pooled map shorter than ``half`` -- and contributes nothing.
    * None: half of this map's own rows, with a one-row map giving row 0 to
      both regions (our ``half_row="per_map"``).
    """
    if region is None:
        return x
    if half is None:
        half = x.shape[2] // 2
        if region == "upper":
            return x[:, :, :half + (half < 1)]  # max(half, 1), for ints and tensors
    if region == "lower":
        return x[:, :, half:]
    if region == "upper":
        return x[:, :, :half]
    raise ValueError("region must be None, 'lower' or 'upper'")


def mean_or_zero(x):
    """Mean of a 2-D (rows, cols) slice; 0 for an empty one.

    2015 took ``.mean()`` of an empty slice: NaN, which made the printed
    loss NaN while that term's gradient was zero.  Here the term is 0 with
    the same zero gradient, so the loss stays finite.
    """
    total = x.sum()
    n = x.shape[0] * x.shape[1]
    n = n + (n < 1)                 # max(n, 1), for ints and tensors
    if hasattr(n, "astype"):        # a Theano shape: int64, which would upcast
        n = n.astype(total.dtype)
    return total / n


def class_logit(index, layer="fc8", region=None, half=None):
    """Mean logit of class ``index`` over a region of the map (see :func:`rows`).

    ``index``: an int, a symbolic scalar (Theano), or a callable giving the
    current index (targets that change between steps, in the PyTorch port).
    ``half``: the half-way row (an int: the 2015 rule) or None (this map's).
    """
    pick = index if callable(index) else (lambda: index)
    return Objective(lambda a: mean_or_zero(rows(a(layer), region, half)[0, pick()]),
                     "logit[%s]%s" % ("target" if callable(index) else index,
                                      "@" + region if region else ""))


def mean_logits(layer="fc8"):
    """Mean of all logits over the whole map (the 2015 code pushes it down)."""
    return Objective(lambda a: a(layer).mean(), "mean(%s)" % layer)


def channel(layer, n):
    """Mean activation of channel ``n`` of ``layer``."""
    return Objective(lambda a: a(layer)[0, n].mean(), "%s:%d" % (layer, n))


def neuron(layer, n):
    """Channel ``n`` at the centre position of ``layer``."""
    def fn(a):
        x = a(layer)
        return x[0, n, x.shape[2] // 2, x.shape[3] // 2]
    return Objective(fn, "%s:%d@centre" % (layer, n))


def layer_l2(layer, channel=None):
    """0.5 * mean(a^2) of a layer or of one of its channels (DeepDream's objective)."""
    def fn(a):
        x = a(layer) if channel is None else a(layer)[:, channel]
        return 0.5 * (x * x).mean()
    return Objective(fn, "l2(%s%s)" % (layer, "" if channel is None else ":%d" % channel))


def guide(layer, features):
    """Dot product with a guide image's features (guided DeepDream).

    ``features`` is (channels, n) or a symbolic equivalent: the guide's
    activations flattened over positions.  Each position of ``layer`` is
    matched with the guide feature it is most similar to, as in Google's
    guided dreaming, and that dot product is maximised.
    """
    from .backend import T
    if isinstance(features, np.ndarray):  # numpy cannot be indexed by a tensor
        features = T.constant(features.astype(np.float32), name="guide_features")

    def fn(a):
        x = a(layer)[0].flatten(2)                 # (channels, positions)
        similarity = T.dot(x.T, features)          # (positions, n)
        best = features[:, T.argmax(similarity, axis=1)]  # (channels, positions)
        return (x * best).sum() / x.shape[1]
    return Objective(fn, "guide(%s)" % layer)


def lsd2015(lower_class, upper_class=None, layer="fc8", half=None):
    """The 2015 objective: class 0 on the lower half, class 1 on the upper half,
    all logits down (train.py:87-89).  One request repeats its class (c1 = c0).
    ``half``: the half-way row, see :func:`rows`."""
    upper_class = lower_class if upper_class is None else upper_class
    return (class_logit(lower_class, layer, "lower", half)
            + class_logit(upper_class, layer, "upper", half) - mean_logits(layer))
