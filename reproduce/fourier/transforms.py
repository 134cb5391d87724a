"""Transformation robustness: random transforms of the image before the net.

Each transform maps the symbolic (batch, 3, H, W) images (RGB, 0..255) to
other image tensors, the same draw for every image of the batch.  Its random values are drawn in numpy at every step,
from the transform's own seeded generator, and enter the compiled step as
*inputs* (offsets, resampling matrices, sampling indices), so one compiled
function serves every step and every draw.

* :class:`Pad`     constant border (no randomness)
* :class:`Jitter`  random crop by up to d pixels, or a random roll
* :class:`Scale`   random scale from a set (bilinear, as two matrix products)
* :class:`Rotate`  random rotation from a set of angles (bilinear gather)
* :class:`Zoom`    the 2015 zoom, applied to the image *between* steps
  (a wrapper over :func:`reproduce.lsd2015.frames.zoom`)

:class:`Compose` chains them; ``standard(...)`` is Lucid's robust set
(pad 12, jitter 8, scale 0.9..1.1, rotate -10..10 degrees, jitter 4).
"""
import functools

import numpy as np

from ..lsd2015 import frames
from ..backend import T, floatX
from ..ops.gather import weighted_gather

GREY = 127.5  # mid-grey on 0..255: the pad and fill colour (Lucid pads with 0.5)


class Transform:
    """Base class.  ``inputs``: the symbolic per-step inputs that ``build``
    used; ``draw(shape)`` returns ([their values], output (rows, cols)) for an
    input of ``shape`` = (rows, cols), from the transform's own generator."""

    between_steps = False

    def __init__(self, seed=0):
        self.inputs = []
        self.reseed(seed)

    def reseed(self, seed):
        self.rng = np.random.RandomState(seed)

    def build(self, x):
        """Symbolic (batch, 3, H, W) -> (batch, 3, H', W')."""
        raise NotImplementedError

    def draw(self, shape):
        raise NotImplementedError

    def values(self, shape, *choice):
        """([input values], output shape) for a chosen draw (tests, inverses)."""
        raise NotImplementedError


class Pad(Transform):
    """Pad every side by ``width`` pixels of the constant ``value``."""

    def __init__(self, width, value=GREY, seed=0):
        super().__init__(seed)
        self.width, self.value = int(width), float(value)

    def build(self, x):
        """Concatenated constant blocks.  (``nets.pad_2d``, a set_subtensor
        into an alloc, sends Theano 1.0.5's graph optimiser into an endless
        loop when its gradient is taken straight to an input tensor.)"""
        w, value = self.width, np.float32(self.value)
        n, c, rows, cols = x.shape
        side = T.alloc(value, n, c, rows, w)
        x = T.concatenate([side, x, side], axis=3)
        top = T.alloc(value, n, c, w, cols + 2 * w)
        return T.concatenate([top, x, top], axis=2)

    def draw(self, shape):
        return self.values(shape)

    def values(self, shape):
        return [], (shape[0] + 2 * self.width, shape[1] + 2 * self.width)

    def __repr__(self):
        return "pad(%d, %g)" % (self.width, self.value)


class Jitter(Transform):
    """Shift by up to ``d`` pixels: ``mode="crop"`` cuts a random (H-d, W-d)
    window (offsets 0..d, Lucid's jitter); ``mode="roll"`` rolls the image
    by -d..d pixels with wrap-around (DeepDream's jitter), keeping its size."""

    def __init__(self, d, mode="crop", seed=0):
        super().__init__(seed)
        if mode not in ("crop", "roll"):
            raise ValueError("jitter mode must be 'crop' or 'roll'")
        self.d, self.mode = int(d), mode

    def build(self, x):
        dy, dx = T.iscalar("jitter_dy"), T.iscalar("jitter_dx")
        self.inputs = [dy, dx]
        if self.mode == "roll":
            return T.roll(T.roll(x, dy, axis=2), dx, axis=3)
        return x[:, :, dy:dy + x.shape[2] - self.d, dx:dx + x.shape[3] - self.d]

    def draw(self, shape):
        lo = 0 if self.mode == "crop" else -self.d
        return self.values(shape, *self.rng.randint(lo, self.d + 1, size=2))

    def values(self, shape, dy, dx):
        out = shape if self.mode == "roll" else (shape[0] - self.d, shape[1] - self.d)
        return [np.int32(dy), np.int32(dx)], out

    def __repr__(self):
        return "jitter(%d, %s)" % (self.d, self.mode)


def bilinear_taps(coords, n):
    """Bilinear sampling of positions ``coords`` (any shape, pixel units) on an
    axis of ``n`` pixels: (i0, i1, w0, w1, inside), each of coords' shape.

    Samples at i0 and i1 = i0 + 1, clamped into 0..n-1, weighted w0 + w1 = 1;
    ``inside`` is False where coords lies outside [-0.5, n - 0.5] (no pixel).
    """
    coords = np.asarray(coords)
    base = np.floor(coords)
    w1 = coords - base
    i0 = base.astype(np.int64)
    i1 = np.minimum(i0 + 1, n - 1)
    np.clip(i0, 0, n - 1, out=i0)
    np.maximum(i1, 0, out=i1)
    inside = (coords >= -0.5) & (coords <= n - 0.5)
    return i0, i1, 1 - w1, w1, inside


def resize_matrix(n_in, n_out, antialias=False):
    """(n_out, n_in) bilinear resampling matrix, half-pixel centres (as PIL and
    TensorFlow 2 resize): output i samples input (i + 0.5) n_in / n_out - 0.5.

    ``antialias``: when shrinking, the triangle is widened to n_in / n_out
    input pixels (PIL's bilinear ``resize``), so every input pixel counts.
    Plain bilinear samples only 2 taps per output pixel: at a scale well
    below 1 most pixels get no gradient, and Adam, which steps as far on a
    tiny gradient as on a large one, fills them with high-frequency noise.
    """
    if antialias and n_out < n_in:
        support = n_in / float(n_out)
        centre = (np.arange(n_out) + 0.5) * support - 0.5
        m = np.maximum(0.0, 1 - np.abs(np.arange(n_in)[None, :] - centre[:, None]) / support)
        return (m / m.sum(axis=1, keepdims=True)).astype(floatX)
    src = np.clip((np.arange(n_out) + 0.5) * n_in / float(n_out) - 0.5, 0, n_in - 1)
    i0, i1, w0, w1, _ = bilinear_taps(src, n_in)
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), w0)
    np.add.at(m, (np.arange(n_out), i1), w1)
    return m.astype(floatX)


class Scale(Transform):
    """Resize by a factor drawn from ``scales`` (output round(s H) x round(s W)).

    Separable bilinear: y = R_rows . x . R_cols^T per channel, with both
    matrices drawn per step (two GEMMs and their transposes for the gradient).
    ``antialias``: shrink with a widened triangle (:func:`resize_matrix`).
    """

    def __init__(self, scales, antialias=False, seed=0):
        super().__init__(seed)
        self.scales = tuple(float(s) for s in scales)
        self.antialias = bool(antialias)

    def build(self, x):
        rows, cols = T.matrix("scale_rows"), T.matrix("scale_cols")
        self.inputs = [rows, cols]
        y = T.dot(x, cols.T)                                   # (1, 3, H, W')
        return T.dot(y.dimshuffle(0, 1, 3, 2), rows.T).dimshuffle(0, 1, 3, 2)

    def draw(self, shape):
        return self.values(shape, self.scales[self.rng.randint(len(self.scales))])

    def values(self, shape, scale):
        out = tuple(max(1, int(round(scale * n))) for n in shape)
        return [resize_matrix(shape[0], out[0], self.antialias),
                resize_matrix(shape[1], out[1], self.antialias)], out

    def __repr__(self):
        return "scale(%s%s)" % (", ".join("%g" % s for s in self.scales),
                                ", antialiased" if self.antialias else "")


@functools.lru_cache(maxsize=16)
def _centred_grid(shape):
    """Row and column offsets from the centre, (H, 1) and (1, W), cached by shape."""
    rows, cols = shape
    return (np.arange(rows, dtype=np.float32)[:, None] - (rows - 1) / 2.0,
            np.arange(cols, dtype=np.float32)[None, :] - (cols - 1) / 2.0)


def rotation_taps(shape, degrees):
    """Sampling indices (4, H*W) into the flattened image and weights (4, H*W)
    for a rotation by ``degrees`` about the centre (positive: clockwise on
    screen, rows pointing down); weights are zero where the source has no
    pixel."""
    rows, cols = shape
    r, q = _centred_grid(tuple(shape))
    cos, sin = np.float32(np.cos(np.deg2rad(degrees))), np.float32(np.sin(np.deg2rad(degrees)))
    # each output offset samples the source at that offset rotated by -theta
    src_r = (cos * r - sin * q + np.float32((rows - 1) / 2.0)).ravel()
    src_c = (sin * r + cos * q + np.float32((cols - 1) / 2.0)).ravel()
    r0, r1, wr0, wr1, in_r = bilinear_taps(src_r, rows)
    c0, c1, wc0, wc1, in_c = bilinear_taps(src_c, cols)
    r0, r1 = r0 * cols, r1 * cols
    index = np.stack([r0 + c0, r0 + c1, r1 + c0, r1 + c1])
    weight = np.stack([wr0 * wc0, wr0 * wc1, wr1 * wc0, wr1 * wc1])
    weight *= in_r & in_c
    return index, weight.astype(floatX, copy=False)


class Rotate(Transform):
    """Rotate by an angle (degrees) drawn from ``angles``, bilinear; corners
    with no source pixel get ``fill``.  One gather of 4 taps per pixel
    (reproduce.ops.gather: its gradient is one scatter-add pass)."""

    def __init__(self, angles, fill=GREY, seed=0):
        super().__init__(seed)
        self.angles, self.fill = tuple(float(a) for a in angles), float(fill)

    def build(self, x):
        index, weight = T.lmatrix("rotate_index"), T.matrix("rotate_weight")
        self.inputs = [index, weight]
        n, c, rows, cols = x.shape
        # every plane of the batch rotated alike: one row of the gather each
        y = weighted_gather(x.reshape((n * c, rows * cols)), index, weight)  # (N*3, H*W)
        y = y + np.float32(self.fill) * (1 - weight.sum(axis=0)).dimshuffle("x", 0)
        return y.reshape((n, c, rows, cols))

    def draw(self, shape):
        return self.values(shape, self.angles[self.rng.randint(len(self.angles))])

    def values(self, shape, degrees):
        return list(rotation_taps(shape, degrees)), tuple(shape)

    def __repr__(self):
        return "rotate(%g..%g)" % (min(self.angles), max(self.angles))


class Zoom(Transform):
    """The 2015 zoom as a transform applied to the image between steps: every
    ``profile.steps_per_zoom`` steps, ``frames.zoom(image, profile)``
    (zoomspeed^(frames/fps) about the centre, slight rotation, cubic)."""

    between_steps = True

    def __init__(self, profile, seed=0):
        self.profile, self.every = profile, profile.steps_per_zoom
        super().__init__(seed)

    def reseed(self, seed):
        super().reseed(seed)
        self.zooms = 0  # for profile.zoom_dither
    def due(self, step):
        """Zoom before steps 0, k, 2k, ... (as the 2015 stream and lsd2015.dreamer.Dreamer)."""
        return frames.zoom_due(step, self.every)

    def apply(self, image):
        """(H, W, 3) on 0..255 -> the next key frame's start, same shape."""
        self.zooms += 1
        return frames.zoom(image, self.profile, index=self.zooms - 1)

    def __repr__(self):
        return "zoom(every %s steps)" % self.every


class Compose(Transform):
    """Apply ``transforms`` in order before the net; ``between`` keeps the
    between-step ones (Zoom) for the loop.  Child i is seeded seed + i."""

    def __init__(self, transforms, seed=0):
        self.transforms = [t for t in transforms if not t.between_steps]
        self.between = [t for t in transforms if t.between_steps]
        super().__init__(seed)

    def reseed(self, seed):
        for i, t in enumerate(self.transforms + self.between):
            t.reseed(seed + i)

    def build(self, x):
        for t in self.transforms:
            x = t.build(x)
        self.inputs = [v for t in self.transforms for v in t.inputs]
        return x

    def draw(self, shape):
        values = []
        for t in self.transforms:
            more, shape = t.draw(shape)
            values += more
        return values, shape

    def __repr__(self):
        return " -> ".join(repr(t) for t in self.transforms + self.between) or "none"


def lucid_scales(n=11, step=50.0):
    """1 + (i - n//2) / step for i < n: 0.9, 0.92, ..., 1.1 (Lucid's set)."""
    return tuple(1 + (i - n // 2) / step for i in range(n))


def lucid_angles(limit=10, zeros=5):
    """-limit..limit degrees, plus ``zeros`` extra zeros (Lucid's set)."""
    return tuple(range(-limit, limit + 1)) + (0,) * zeros


def standard(pad=12, jitter=8, scales=lucid_scales(), angles=lucid_angles(),
             jitter_after=4, seed=0, antialias=False):
    """Lucid's ``standard_transforms``: pad, jitter, scale, rotate, jitter.
    A zero or empty setting leaves that transform out; ``antialias``: the
    scale's (:class:`Scale`)."""
    chain = [Pad(pad)] if pad else []
    chain += [Jitter(jitter)] if jitter else []
    chain += [Scale(scales, antialias)] if scales else []
    chain += [Rotate(angles)] if angles else []
    chain += [Jitter(jitter_after)] if jitter_after else []
    return Compose(chain, seed)
