"""Parameterisations (reproduce/fourier/params.py) and the fourier recipe end to end.

The Fourier image must be real, in range, 1/f-scaled and colour-mixed as
specified; both inverse-DFT routes must agree with numpy and with each
other, gradients included; a short ``dream --recipe fourier`` on the tiny
model must raise the target logit.  About six small compiles.
"""
import numpy as np
import pytest

from reproduce.fourier import params
from reproduce.backend import T, theano

ROWS, COLS = 24, 30


@pytest.fixture(scope="module")
def fourier():
    """A seeded Fourier image and a compiled (linear image, image) function."""
    p = params.Fourier((COLS, ROWS), seed=3, sd=1.0)
    return p, theano.function([], [p.linear[0], p.image])


def radial_slope(image):
    """Slope of log |FFT| against log f, over rings of the 2-D spectrum."""
    amplitude = np.abs(np.fft.rfft2(image))
    f = params.spectrum_frequencies(*image.shape)
    bins = np.geomspace(2.0 / max(image.shape), 0.5, 8)
    which = np.digitize(f, bins)
    x = [np.log(f[which == b].mean()) for b in range(1, len(bins))]
    y = [np.log(amplitude[which == b].mean()) for b in range(1, len(bins))]
    return np.polyfit(x, y, 1)[0]


def test_fourier_image_is_real_in_range_and_seeded(fourier):
    p, fn = fourier
    _, image = fn()
    assert image.shape == (1, 3, ROWS, COLS) and image.dtype == np.float32
    assert np.isfinite(image).all() and 0 < image.min() and image.max() < 255
    first = p.get_image()
    p.init(4)
    assert not np.allclose(p.get_image(), first)
    p.init(3)
    np.testing.assert_array_equal(p.get_image(), first)


def test_flat_parameter_spectrum_gives_one_over_f_image(fourier):
    """White noise in the parameters -> amplitude spectrum ~ 1/f (slope -1)."""
    p, fn = fourier
    slopes = []
    for seed in range(4):
        p.init(seed)
        linear, _ = fn()
        slopes += [radial_slope(channel) for channel in linear]
    assert -1.2 < np.mean(slopes) < -0.8
    # and exactly: spectrum of the linear image = amplitude * scale * parameters
    # (away from the DC and Nyquist columns, whose imaginary parts irfft drops)
    spectrum = np.fft.rfft2(linear) / p.amplitude
    expected = p.scale * (p.real.get_value() + 1j * p.imag.get_value())
    np.testing.assert_allclose(spectrum[:, :, 1:-1], expected[:, :, 1:-1],
                               rtol=1e-3, atol=1e-3 * np.abs(expected).max())


def test_white_parameters_without_scaling_stay_white():
    """decay_power 0: the transform is unitary, so the image is white noise;
    with real and imaginary parts of sd 1 each, of sd sqrt(2) (x amplitude)."""
    p = params.Fourier((64, 64), seed=0, sd=1.0, decay_power=0.0)
    linear = theano.function([], p.linear[0])()
    assert abs(radial_slope(linear[0])) < 0.15
    assert abs(linear.std() / p.amplitude / np.sqrt(2) - 1.0) < 0.05


def test_colours_are_mixed_by_the_normalised_lucid_matrix(fourier):
    p, fn = fourier
    linear, image = fn()
    m = params.color_matrix()
    np.testing.assert_allclose(m, params.COLOR_CORRELATION_SQRT
                               / np.linalg.norm(params.COLOR_CORRELATION_SQRT, axis=0).max(),
                               rtol=1e-6)
    assert np.isclose(np.linalg.norm(m, axis=0).max(), 1.0)
    logit = np.log(image[0] / (255 - image[0]))
    np.testing.assert_allclose(logit, np.tensordot(m, linear, axes=[1, 0]),
                               rtol=1e-3, atol=1e-3)


def test_colour_correlation_of_photos_resembles_imagenet():
    """Our estimate from scikit-image's photos has the same form as Lucid's
    ImageNet matrix: a dominant all-positive brightness column."""
    from skimage import data
    pixels = np.concatenate([getattr(data, n)().reshape(-1, 3) / 255.0
                             for n in ("astronaut", "chelsea", "coffee", "rocket")])
    m = params.color_correlation_sqrt(pixels)
    norms = np.linalg.norm(m, axis=0)
    assert (m[:, 0] > 0).all() and norms[0] > 2 * norms[1] > 0
    lucid = params.COLOR_CORRELATION_SQRT
    cosine = m[:, 0].dot(lucid[:, 0]) / norms[0] / np.linalg.norm(lucid[:, 0])
    assert cosine > 0.98


def test_fft_and_matrix_dft_agree_with_numpy_and_each_other():
    """Even and odd widths, values and gradients, in one compiled function."""
    rng = np.random.RandomState(0)
    inputs, outputs, cases = [], [], []
    for rows, cols in [(6, 8), (7, 9)]:
        real, imag = T.tensor3(), T.tensor3()
        a, b = (rng.randn(2, rows, cols // 2 + 1).astype(np.float32) for _ in range(2))
        weights = rng.randn(2, rows, cols).astype(np.float32)  # a generic loss
        for route in ("fft", "dft"):
            x = params.IRFFT2[route](real, imag, rows, cols)
            outputs += [x] + T.grad((x * weights).sum(), [real, imag])
        inputs += [real, imag]
        cases.append((a, b, rows, cols))
    values = theano.function(inputs, outputs)(*[v for a, b, _, _ in cases for v in (a, b)])
    for k, (a, b, rows, cols) in enumerate(cases):
        fft, dft = values[6 * k:6 * k + 3], values[6 * k + 3:6 * k + 6]
        np.testing.assert_allclose(fft[0], np.fft.irfft2(a + 1j * b, s=(rows, cols)),
                                   atol=1e-6)
        for u, v in zip(fft, dft):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["fourier", "pyramid"])
def test_set_image_round_trips(name):
    from skimage import data
    photo = data.astronaut()[::16, ::16].astype(np.float32)       # 32x32
    p = params.make_param(name, (32, 32))
    p.set_image(photo)
    inside = (photo > 2) & (photo < 253)                         # sigmoid's range
    np.testing.assert_allclose(p.get_image()[inside], photo[inside], atol=0.5)


def test_pixels_are_the_parameter_and_are_clipped():
    p = params.make_param("pixels", (5, 4), seed=1)
    assert p.image is p.params[0] and p.clip == (0.0, 255.0)
    image = np.arange(60, dtype=np.float32).reshape(4, 5, 3)
    p.set_image(image)
    np.testing.assert_array_equal(p.get_image(), image)


def test_bad_names_and_sizes_are_one_line_errors():
    from reproduce.errors import UserError
    with pytest.raises(UserError, match="unknown parameterisation 'wavelet'"):
        params.make_param("wavelet", (8, 8))
    with pytest.raises(UserError, match="divisible by 8"):
        params.make_param("pyramid", (30, 30))


@pytest.mark.slow
def test_fourier_recipe_from_the_command_line_raises_the_target_logit(
        tiny_weights, tmp_path):
    """``dream --recipe fourier`` on the tiny model: the picture it writes has
    a higher logit for the target than the recipe's seeded start image."""
    from reproduce import cli
    from reproduce import recipes
    from reproduce.nets.classify import Classifier
    from reproduce.fileio import load_image
    from reproduce.nets.weights import load_model

    out = tmp_path / "fourier.png"
    argv = ["dream", "--recipe", "fourier", "--weights", tiny_weights,
            "--classes", "goldfish", "--set", "image_size=64x64", "--no-progress",
            "--steps", "25", "--out", str(out)]
    assert cli.main(argv) == 0
    renderer = next(iter(recipes._DREAMERS.values()))
    renderer.reset(0)
    start = renderer.get_image()
    classifier = Classifier(load_model(tiny_weights))
    goldfish = 1
    before = classifier.logits(start)[goldfish]
    after = classifier.logits(load_image(str(out)))[goldfish]
    assert after > before + 1.0
