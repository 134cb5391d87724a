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
import re

import numpy as np

from .errors import UserError


class Objective:
    """A scalar to maximise, built from layer activations; ``name`` describes it.

    ``checks``: functions ``(net, rows, cols)`` that raise a UserError when
    the objective cannot run on ``net`` at that input size (a neuron off the
    layer's map); :meth:`check` runs them all before anything compiles.
    """

    def __init__(self, fn, name, checks=()):
        self.fn, self.name, self.checks = fn, name, tuple(checks)

    def __call__(self, acts):
        return self.fn(acts)

    def check(self, net, rows, cols):
        for check in self.checks:
            check(net, rows, cols)

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return self  # sum(objectives) starts from 0
        other = _as_objective(other)
        return Objective(lambda a: self(a) + other(a), "%s + %s" % (self.name, other.name),
                         self.checks + other.checks)

    __radd__ = __add__

    def __neg__(self):
        return Objective(lambda a: -self(a), "-(%s)" % self.name, self.checks)

    def __sub__(self, other):
        return self + (-_as_objective(other))

    def __mul__(self, weight):
        if not isinstance(weight, (int, float)):
            return NotImplemented
        return Objective(lambda a: weight * self(a), "%g * %s" % (weight, self.name),
                         self.checks)

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
    """Mean logit of class ``index`` over a region of the map (see :func:`rows`),
    of the first image of a batch (the 2015 objective's maps are one image's).

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
    """Mean activation of channel ``n`` of ``layer``, over positions and the
    batch (Lucid's ``channel``)."""
    return Objective(lambda a: a(layer)[:, n].mean(), "%s:%d" % (layer, n))


def neuron(layer, n, x=None, y=None):
    """Channel ``n`` of ``layer`` at one position, mean over the batch: column
    ``x``, row ``y`` of the layer's map, each None for the centre (the map's
    size // 2, Lucid's ``neuron`` default).  :func:`parse` adds a check that
    the position lies on the map (Theano would fail at the first step)."""
    def fn(a):
        acts = a(layer)
        row = acts.shape[2] // 2 if y is None else y
        col = acts.shape[3] // 2 if x is None else x
        return acts[:, n, row, col].mean()
    where = "centre" if x is None and y is None else "%s,%s" % (
        "centre" if x is None else x, "centre" if y is None else y)
    return Objective(fn, "%s:%d@%s" % (layer, n, where))


def layer_l2(layer, channel=None):
    """0.5 * mean(a^2) of a layer or of one of its channels (DeepDream's objective)."""
    def fn(a):
        x = a(layer) if channel is None else a(layer)[:, channel]
        return 0.5 * (x * x).mean()
    return Objective(fn, "l2(%s%s)" % (layer, "" if channel is None else ":%d" % channel))


def diversity(layer):
    """Minus the mean pairwise cosine similarity of the batch's Gram matrices
    at ``layer``: the larger, the more the pictures of a batch differ in
    style.  Lucid, lucid/optvis/objectives.py, ``diversity``: each image's
    (channels x channels) Gram matrix of its activations over positions,
    divided by its Frobenius norm (epsilon 1e-10 there, added to the
    norm's square here); sum over ordered pairs i != j of <G_i, G_j>, over
    the batch size.  Lucid returns that sum and its users subtract it
    (``channel - 1e2 * diversity``); here it is negated, a value to
    maximise like every objective, so one writes ``channel + 100 * diversity``.
    One image: 0 (no pairs).
    """
    from .backend import T

    def fn(a):
        x = a(layer)
        flat = x.reshape((x.shape[0], x.shape[1], -1))                 # (N, C, positions)
        grams = T.batched_dot(flat, flat.dimshuffle(0, 2, 1))          # (N, C, C)
        unit = grams.reshape((x.shape[0], -1))
        unit = unit / T.sqrt((unit * unit).sum(axis=1, keepdims=True) + 1e-10)
        # sum over i != j of <u_i, u_j> = |sum_i u_i|^2 - sum_i |u_i|^2
        total = unit.sum(axis=0)
        pairs = (total * total).sum() - (unit * unit).sum()
        return -pairs / x.shape[0].astype(pairs.dtype)
    return Objective(fn, "diversity(%s)" % layer)


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


# -- objectives from text (the CLI's --objective) ------------------------------------

SPEC_GRAMMAR = """\
  SPEC := [-] TERM { (+|-) TERM }     operators stand after a space: "a + b", "a -2*b"
  TERM := [WEIGHT *] UNIT             WEIGHT a finite non-zero number: "0.5*relu4_3:76"
  UNIT := LAYER                       0.5 * mean(a^2) of the layer (DeepDream's)
        | LAYER:N                     mean of channel N
        | LAYER:N@centre              channel N at the centre of the map (or @center)
        | LAYER:N@X,Y                 channel N at column X, row Y of the map
        | class:NAME                  a class logit, by name or index ("class:bee")
        | diversity:LAYER             Lucid's diversity over a batch (--batch)
  LAYER: a conv layer's name means its output after its ReLU (conv4_3 = relu4_3);
         LAYER/pre_relu the output before it (relu4_3/pre_relu = conv4_3)"""

_TERMS = re.compile(r"(?:^|\s)([+-])\s*")   # an operator: a sign at the start or after a space


def parse(spec, net):
    """The objective that ``spec`` writes (grammar: :data:`SPEC_GRAMMAR`) on
    ``net`` (a built :class:`reproduce.nets.build.Net`), e.g.
    ``parse("relu4_3:76 + 100*diversity:relu4_3", net)``.

    Layer names follow the project's rule: a conv layer's name means its
    output after the ReLU that follows it
    (:func:`reproduce.nets.naming.rectified`); ``LAYER/pre_relu`` the
    output before the ReLU, as Lucid's ``mixed4a_pre_relu``.  Anything wrong is one
    UserError naming the term: an unknown layer with the closest names, a
    channel out of range, a weight that is not a finite non-zero number.
    """
    text = str(spec)
    if not text.strip():
        raise UserError("empty objective; write e.g. relu4_3:76 (grammar in docs/api.md)")
    pieces = _TERMS.split(" " + text.strip())   # ["", sign, term, sign, term, ...]
    if pieces[0].strip():
        pieces = ["", "+", pieces[0]] + pieces[1:]
    total = None
    for sign, term in zip(pieces[1::2], pieces[2::2]):
        objective = _term(term.strip(), net, text.strip()[:100])  # shown in errors
        if sign == "-":
            objective = -objective
        total = objective if total is None else total + objective
    return total


def _term(term, net, spec):
    weight, star, unit = term.rpartition("*")
    if not star:
        return _unit(unit.strip(), net, spec)
    try:
        value = float(weight)
    except ValueError:
        raise UserError("objective %r: cannot read the weight %r as a number"
                        % (spec, weight.strip()))
    if not np.isfinite(value) or value == 0:
        raise UserError("objective %r: the weight %r must be a finite number other "
                        "than 0" % (spec, weight.strip()))
    return value * _unit(unit.strip(), net, spec)


def _unit(unit, net, spec):
    if not unit:
        raise UserError("objective %r: a term is empty (a sign with nothing after "
                        "it?); write e.g. relu4_3:76 + relu4_3:12" % spec)
    head, colon, rest = unit.partition(":")
    if head == "class" and colon:
        from .nets.classes import find_class
        net.model.require_classes("the objective %r" % spec)
        return class_logit(find_class(rest, net.model.descriptions), net.output_name)
    if head == "diversity" and colon:
        return diversity(_layer(rest.strip(), net, spec))
    if not colon:
        return layer_l2(_layer(unit, net, spec))
    layer = _layer(head.strip(), net, spec)
    number, at, where = rest.partition("@")
    n = _whole(number, "channel", spec)
    channels = net.output_shape(*net.model.image_shape, name=layer)[1]
    if n >= channels:
        raise UserError("objective %r: layer %s has %d channels (0..%d), not %d"
                        % (spec, layer, channels, channels - 1, n))
    if not at:
        return channel(layer, n)
    if where.strip().lower() in ("centre", "center"):
        return neuron(layer, n)
    x, comma, y = where.partition(",")
    if not comma:
        raise UserError("objective %r: after @ write centre or a position X,Y on "
                        "the layer's map" % spec)
    x, y = _whole(x, "column", spec), _whole(y, "row", spec)
    found = neuron(layer, n, x, y)
    return Objective(found.fn, found.name, (lambda net, rows, cols: _check_position(
        net, layer, x, y, rows, cols, spec),))


PRE_RELU = "/pre_relu"   # LAYER/pre_relu: the conv output before its ReLU


def _layer(name, net, spec):
    """The layer ``name`` means: after its ReLU, or with ``/pre_relu`` before
    it (Caffe's GoogLeNet names such layers so itself: inception_4c/1x1/pre_relu)."""
    import difflib
    from .nets.naming import before_relu, rectified
    names = net.addressable_names()
    pre = name.endswith(PRE_RELU)
    base = name[:-len(PRE_RELU)] if pre and name not in names else name
    if base not in names:
        close = difflib.get_close_matches(base, names, n=3, cutoff=0.5)
        raise UserError("objective %r: unknown layer %r of %s; %s" % (
            spec, base[:80], net.model.model_name,
            "did you mean %s?" % " or ".join(close) if close
            else "layers: %s" % ", ".join(names)))
    return before_relu(net, base) if pre else rectified(net, base)


def _whole(text, what, spec):
    text = text.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6):
        raise UserError("objective %r: the %s %r must be a whole number 0 or more"
                        % (spec, what, text[:20]))
    return int(text)


def _check_position(net, layer, x, y, rows, cols, spec):
    """UserError unless column ``x``, row ``y`` lies on ``layer``'s map for a
    ``rows`` x ``cols`` input."""
    _, _, height, width = net.output_shape(rows, cols, name=layer)
    if x >= width or y >= height:
        raise UserError("objective %r: at %dx%d pixels layer %s's map is %dx%d; the "
                        "position must be within 0..%d, 0..%d"
                        % (spec, cols, rows, layer, width, height, width - 1, height - 1))
