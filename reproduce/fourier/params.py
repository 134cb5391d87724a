"""How the optimised image is stored: parameterisations (after Lucid's ``param``).

A parameterisation owns shared variables (``params``) and gives the image
the net sees as a symbolic function of them: ``image``, shape (batch, 3, H, W),
RGB on 0..255.  The optimiser moves the parameters, never the image itself,
so the choice changes which directions are cheap: the same gradient step
is a pixel step for :class:`Pixels` and a smooth, decorrelated step for
:class:`Fourier`.

* :class:`Pixels`: the 2015 parameterisation, the image is the shared variable
  (clipped to 0..255 after every step by the update rule).
* :class:`Fourier`: a decorrelated Fourier image (Olah et al., "Feature
  Visualization", Distill 2017; Lucid's ``fft_image`` + ``to_valid_rgb``):
  a half spectrum per channel, scaled by 1 / max(f, 1/size), transformed to
  space by an inverse real DFT, mixed by a fixed 3x3 colour matrix and
  squashed by a sigmoid into 0..1, then times 255.
* :class:`LaplacianPyramid`: a sum of upsampled low-resolution images, with
  the same colour mixing and sigmoid (see docs/recipes.md for how it fares).

The inverse real DFT has two routes, both exact: Theano's ``fft.irfft``
(numpy's FFT inside a Python op) and two small matrix products (``dft``).
docs/recipes.md has the timings; ``DEFAULT_DFT`` is the faster one.
"""
import numpy as np

from ..backend import T, floatX, theano
from ..errors import UserError

# The square root of ImageNet's RGB colour correlation, in SVD form U sqrt(S)
# (columns: the decorrelated components, brightness first).  Source: Lucid,
# lucid/optvis/param/color.py, ``color_correlation_svd_sqrt`` (Apache-2.0),
# estimated there from ImageNet.  ``color_correlation_sqrt(photos)`` below
# computes the same form from any photos; docs/recipes.md compares the two.
COLOR_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02],
                                   [0.27, 0.00, -0.05],
                                   [0.27, -0.09, 0.03]], np.float32)

DEFAULT_DFT = "fft"   # the faster route, measured by bench/bench_fourier.py


def color_matrix(sqrt_correlation=COLOR_CORRELATION_SQRT):
    """The 3x3 map from decorrelated colours to RGB: the square-root correlation
    divided by its largest column norm, so no component is amplified."""
    m = np.asarray(sqrt_correlation, np.float64)
    return (m / np.linalg.norm(m, axis=0).max()).astype(np.float32)


def color_correlation_sqrt(pixels):
    """U sqrt(S) of the RGB correlation of ``pixels`` (N, 3) on 0..1.

    The sign of each column is fixed so that its largest entry is positive,
    as in the published matrix (brightness column all positive).
    """
    x = np.asarray(pixels, np.float64).reshape(-1, 3)
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x.T.dot(x) / len(x))
    m = u * np.sqrt(s)
    return m * np.sign(m[np.abs(m).argmax(axis=0), range(3)])


def spectrum_frequencies(rows, cols):
    """|f| in cycles per pixel of the half spectrum: (rows, cols // 2 + 1)."""
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    return np.sqrt(fx * fx + fy * fy)


def spectrum_scale(rows, cols, decay_power=1.0):
    """1 / max(f, 1/size)^decay_power * sqrt(rows * cols), (rows, cols // 2 + 1).

    The floor 1/size keeps the DC term finite.  The factor sqrt(rows * cols)
    makes the normalised inverse DFT (1 / (rows * cols)) unitary on the full
    spectrum, so, before the 1/f scaling, real and imaginary parts of
    standard deviation sd give white noise of sd * sqrt(2) in space (each
    coefficient is complex and, by Hermitian symmetry, counts twice).
    """
    f = spectrum_frequencies(rows, cols)
    return (np.sqrt(rows * cols)
            / np.maximum(f, 1.0 / max(rows, cols)) ** decay_power).astype(np.float32)


# --- the inverse real DFT, two ways ------------------------------------------

def irfft2_fft(real, imag, rows, cols):
    """Inverse 2-D real DFT of (C, rows, cols//2+1) real and imaginary parts
    -> (C, rows, cols), normalised by 1/(rows*cols) like numpy's irfft2."""
    from theano.tensor import fft
    return fft.irfft(T.stack([real, imag], axis=-1), is_odd=bool(cols % 2))


def dft_matrices(rows, cols):
    """The matrices of :func:`irfft2_dft`, float32.

    ``(Er, Ei)``: the inverse complex DFT along rows, E[m, k] =
    exp(2 pi i m k / rows) / rows.  ``(P, Q)``: the real inverse along
    columns from the half spectrum, x[n] = sum_k P[k, n] Re Y[k] - Q[k, n] Im Y[k]
    with P = w_k cos(2 pi k n / cols) / cols, Q = w_k sin(...) / cols, where
    w_k = 2 for the frequencies that stand for a conjugate pair too, else 1
    (DC, and Nyquist for even cols).  Imaginary parts of DC and Nyquist then
    drop out (their sines are zero), exactly as in numpy's irfft.
    """
    m = np.arange(rows)
    angle = 2 * np.pi * np.outer(m, m) / rows
    er, ei = np.cos(angle) / rows, np.sin(angle) / rows
    k = np.arange(cols // 2 + 1)
    n = np.arange(cols)
    w = np.full(len(k), 2.0)
    w[0] = 1.0
    if cols % 2 == 0:
        w[-1] = 1.0
    angle = 2 * np.pi * np.outer(k, n) / cols
    p = w[:, None] * np.cos(angle) / cols
    q = w[:, None] * np.sin(angle) / cols
    return tuple(a.astype(np.float32) for a in (er, ei, p, q))


def irfft2_dft(real, imag, rows, cols):
    """The same transform as :func:`irfft2_fft` as four small matrix products.

    Channels ride along in the matrices' other axis, so each product is one
    GEMM: (rows, rows) x (rows, C*K) along rows, then (C*rows, K) x (K, cols).
    """
    er, ei, p, q = (T.constant(a) for a in dft_matrices(rows, cols))
    c, k = real.shape[0], cols // 2 + 1
    re = real.dimshuffle(1, 0, 2).reshape((rows, c * k))
    im = imag.dimshuffle(1, 0, 2).reshape((rows, c * k))
    yr = (T.dot(er, re) - T.dot(ei, im)).reshape((rows * c, k))
    yi = (T.dot(er, im) + T.dot(ei, re)).reshape((rows * c, k))
    x = T.dot(yr, p) - T.dot(yi, q)                     # (rows * C, cols)
    return x.reshape((rows, c, cols)).dimshuffle(1, 0, 2)


IRFFT2 = {"fft": irfft2_fft, "dft": irfft2_dft}


def spectrum_to_image(real, imag, scale, amplitude, colors, cols):
    """:class:`Fourier`'s image in numpy: (3, rows, cols//2+1) half spectra ->
    (rows, cols, 3) float32 on 0..255 (no compile; for a first frame)."""
    rows = real.shape[1]
    linear = amplitude * np.fft.irfft2(scale * (real + 1j * imag), s=(rows, cols))
    mixed = np.tensordot(np.asarray(colors, np.float64), linear, axes=[1, 0])
    return (255.0 / (1.0 + np.exp(-mixed))).transpose(1, 2, 0).astype(np.float32)


# --- parameterisations ---------------------------------------------------------

class Param:
    """Base: ``params`` (shared variables), ``image`` (batch, 3, H, W) on
    0..255, ``clip`` (the range the update rule keeps the params in, or
    None).  ``batch`` images share nothing but the compiled step: each has
    its own parameters, drawn in turn from the one seeded generator."""

    clip = None

    def __init__(self, size, batch=1):
        self.cols, self.rows = (int(v) for v in size)   # size = (width, height)
        self.batch = int(batch)
        self._get = None

    @property
    def shape(self):
        return (self.batch, 3, self.rows, self.cols)

    def get_images(self):
        """The current images, (batch, H, W, 3) float32 on 0..255."""
        if self._get is None:
            self._get = theano.function([], self.image)
        return self._get().transpose(0, 2, 3, 1).copy()

    def get_image(self):
        """The current (first) image, (H, W, 3) float32 on 0..255."""
        return self.get_images()[0]

    def _each(self, image):
        """``image`` (H, W, 3): the same start for every image of the batch;
        (batch, H, W, 3): one each.  -> (batch, H, W, 3), sizes checked."""
        image = np.asarray(image)
        images = image[None] if image.ndim == 3 else image
        if images.shape[1:3] != (self.rows, self.cols):
            raise UserError("start image is %dx%d, but the parameterisation is %dx%d"
                            % (images.shape[2], images.shape[1], self.cols, self.rows))
        if len(images) not in (1, self.batch):
            raise UserError("%d start images for a batch of %d" % (len(images), self.batch))
        return np.broadcast_to(images, (self.batch,) + images.shape[1:])


class Pixels(Param):
    """The 2015 parameterisation: the image is the parameter (1, 3, H, W)."""

    clip = (0.0, 255.0)

    def __init__(self, size, seed=0, sd=8.0, batch=1):
        super().__init__(size, batch)
        self.sd = sd
        self.pixels = theano.shared(np.zeros(self.shape, floatX), name="pixels")
        self.params = [self.pixels]
        self.image = self.pixels
        self.init(seed)

    def init(self, seed):
        """Grey (128) plus seeded Gaussian noise of ``sd`` grey levels."""
        rng = np.random.RandomState(seed)
        self.pixels.set_value((128 + self.sd * rng.randn(*self.shape)).astype(floatX))

    def set_image(self, image):
        self.pixels.set_value(np.ascontiguousarray(
            np.asarray(self._each(image), floatX).transpose(0, 3, 1, 2)))


def _logit(p):
    return np.log(p) - np.log1p(-p)


class _Decorrelated(Param):
    """Shared tail: linear image (3, H, W) -> colour matrix -> sigmoid -> x255."""

    def __init__(self, size, decorrelate=True, batch=1):
        super().__init__(size, batch)
        self.colors = color_matrix() if decorrelate else np.eye(3, dtype=np.float32)

    def init(self, seed):
        """Seeded random parameters of standard deviation ``sd``."""
        rng = np.random.RandomState(seed)
        for p in self.params:
            p.set_value((self.sd * rng.randn(*p.get_value(borrow=True).shape)).astype(floatX))

    def _to_rgb(self, linear):
        """(batch, 3, H, W) decorrelated, unbounded -> the same shape, RGB on
        0..255; ``linear`` keeps the unmixed images (tests, figures)."""
        self.linear = linear
        mixed = T.tensordot(T.constant(self.colors), linear, axes=[1, 1])  # (3, batch, H, W)
        return (255 * T.nnet.sigmoid(mixed)).dimshuffle(1, 0, 2, 3)

    def _to_linear(self, image):
        """(H, W, 3) or (batch, H, W, 3) on 0..255 -> the (batch, 3, H, W)
        linear images that give it."""
        p = np.clip(np.asarray(self._each(image), np.float64) / 255.0, 1e-3, 1 - 1e-3)
        rgb = _logit(p).transpose(3, 0, 1, 2).reshape(3, -1)
        linear = np.linalg.solve(self.colors.astype(np.float64), rgb)
        return linear.reshape(3, self.batch, self.rows, self.cols).transpose(1, 0, 2, 3)


class Fourier(_Decorrelated):
    """A decorrelated Fourier image (1, 3, H, W) on 0..255.

    Parameters: ``real`` and ``imag``, each (3, H, W//2+1), the half spectrum
    of the three decorrelated colour components, initialised N(0, sd^2).
    image = 255 sigmoid(C . amplitude . irfft2(spectrum_scale * (real + i imag)))
    with C the colour matrix.  ``amplitude`` (1/4, as in Lucid) sets the
    pre-sigmoid range, hence how fast Adam's steps move the picture.
    """

    def __init__(self, size, seed=0, sd=0.01, decay_power=1.0, amplitude=0.25,
                 decorrelate=True, dft=DEFAULT_DFT, batch=1):
        super().__init__(size, decorrelate, batch)
        if dft not in IRFFT2:
            raise UserError("unknown DFT route %r; choose one of: %s"
                            % (dft, ", ".join(IRFFT2)))
        self.sd, self.amplitude = sd, amplitude
        self.scale = spectrum_scale(self.rows, self.cols, decay_power)
        half = (3 * self.batch,) + self.scale.shape   # the batch's colour planes in turn
        self.real = theano.shared(np.zeros(half, floatX), name="spectrum_real")
        self.imag = theano.shared(np.zeros(half, floatX), name="spectrum_imag")
        self.params = [self.real, self.imag]
        scale = T.constant(self.scale)
        linear = IRFFT2[dft](self.real * scale, self.imag * scale, self.rows, self.cols)
        self.image = self._to_rgb(np.float32(amplitude) * linear.reshape(self.shape))
        self.init(seed)

    def set_image(self, image):
        """Set the spectrum so that the image is ``image`` (H, W, 3) on 0..255
        (up to the sigmoid's range, clipped to 0.255..254.7)."""
        linear = self._to_linear(image).reshape(-1, self.rows, self.cols) / self.amplitude
        spectrum = np.fft.rfft2(linear) / self.scale
        self.real.set_value(spectrum.real.astype(floatX))
        self.imag.set_value(spectrum.imag.astype(floatX))


class LaplacianPyramid(_Decorrelated):
    """A sum of ``levels`` images at sizes H/2^k x W/2^k, each upsampled
    bilinearly to H x W, with the colour tail of :class:`Fourier`.

    Coarse levels move many pixels with one parameter, so like the Fourier
    image it favours low frequencies.  H and W must divide by 2^(levels-1).
    """

    def __init__(self, size, seed=0, sd=0.01, levels=4, decorrelate=True, batch=1):
        super().__init__(size, decorrelate, batch)
        factor = 2 ** (levels - 1)
        if self.rows % factor or self.cols % factor:
            raise UserError("a %d-level pyramid needs a size divisible by %d; got %dx%d"
                            % (levels, factor, self.cols, self.rows))
        self.sd = sd
        self.params = [theano.shared(np.zeros((self.batch, 3, self.rows >> k,
                                               self.cols >> k), floatX), name="level%d" % k)
                       for k in range(levels)]
        linear = self.params[0]
        for k, level in enumerate(self.params[1:], 1):
            linear = linear + T.nnet.abstract_conv.bilinear_upsampling(
                level, ratio=2 ** k, batch_size=self.batch, num_input_channels=3)
        self.image = self._to_rgb(linear)
        self.init(seed)

    def set_image(self, image):
        """The finest level holds ``image``; the coarser ones start at zero."""
        self.params[0].set_value(self._to_linear(image).astype(floatX))
        for p in self.params[1:]:
            p.set_value(np.zeros_like(p.get_value(borrow=True)))


PARAMS = {"pixels": Pixels, "fourier": Fourier, "pyramid": LaplacianPyramid}


def make_param(name, size, seed=0, **options):
    """The parameterisation called ``name`` for an image of ``size`` = (width, height)."""
    if name not in PARAMS:
        raise UserError("unknown parameterisation %r; choose one of: %s"
                        % (name, ", ".join(PARAMS)))
    return PARAMS[name](size, seed=seed, **options)
