"""The objectives of :mod:`reproduce.objectives`, on torch tensors.

An objective maps ``acts`` (a layer name -> that layer's output, shape
(1, channels, rows, cols)) to a scalar to *maximise*; objectives add,
subtract and scale.  Same names, regions and formulas as the Theano ones,
which the reference vectors pin: the 2015 objective and DeepDream's
``layer_l2``.
"""


class Objective:
    """A scalar to maximise, built from layer activations; ``name`` describes it."""

    def __init__(self, fn, name):
        self.fn, self.name = fn, name

    def __call__(self, acts):
        return self.fn(acts)

    def __add__(self, other):
        return Objective(lambda a: self(a) + other(a), "%s + %s" % (self.name, other.name))

    def __neg__(self):
        return Objective(lambda a: -self(a), "-(%s)" % self.name)

    def __sub__(self, other):
        return self + (-other)

    def __mul__(self, weight):
        return Objective(lambda a: weight * self(a), "%g * %s" % (weight, self.name))

    __rmul__ = __mul__

    def __repr__(self):
        return "Objective(%s)" % self.name


def rows(x, region):
    """Rows of a (1, K, rows, cols) map: "lower" R//2.., "upper" ..max(R//2, 1)."""
    half = x.shape[2] // 2
    if region is None:
        return x
    if region == "lower":
        return x[:, :, half:]
    if region == "upper":
        return x[:, :, :max(half, 1)]
    raise ValueError("region must be None, 'lower' or 'upper'")


def class_logit(index, layer="fc8", region=None):
    """Mean logit of class ``index`` (an int, or a callable giving one) over a region."""
    pick = index if callable(index) else (lambda: index)
    return Objective(lambda a: rows(a(layer), region)[0, pick()].mean(),
                     "logit[%s]%s" % ("target" if callable(index) else index,
                                      "@" + region if region else ""))


def mean_logits(layer="fc8"):
    """Mean of all logits over the whole map (the 2015 code pushes it down)."""
    return Objective(lambda a: a(layer).mean(), "mean(%s)" % layer)


def channel(layer, n):
    """Mean activation of channel ``n`` of ``layer``."""
    return Objective(lambda a: a(layer)[0, n].mean(), "%s:%d" % (layer, n))


def layer_l2(layer, channel=None):
    """0.5 * mean(a^2) of a layer or of one of its channels (DeepDream's objective)."""
    def fn(a):
        x = a(layer) if channel is None else a(layer)[:, channel]
        return 0.5 * (x * x).mean()
    return Objective(fn, "l2(%s%s)" % (layer, "" if channel is None else ":%d" % channel))


def lsd2015(lower_class, upper_class=None, layer="fc8"):
    """The 2015 objective: class 0 on the lower half, class 1 on the upper half,
    all logits down.  Classes are ints or callables (targets that change)."""
    upper_class = lower_class if upper_class is None else upper_class
    return (class_logit(lower_class, layer, "lower")
            + class_logit(upper_class, layer, "upper") - mean_logits(layer))
