"""The patch prior: EM, held-out quality, Theano vs numpy, files, and 2015."""
import os

import h5py
import numpy as np
import pytest
from scipy import ndimage, stats

from helpers.shared import LSD2015, lsd2015_file
from reproduce.lsd2015.profiles import IMAGE2015, STREAM2015
from reproduce.prior import fit as P
from reproduce.prior import energy as PE
from reproduce.ops.patch_prior import _Projection
from reproduce.backend import T, theano
from reproduce.errors import UserError


@pytest.fixture(scope="module")
def small_prior():
    """A quick Student-t fit: 20000 patches (the default uses 100000)."""
    return P.fit_prior("student", n_patches=20000, seed=0)


@pytest.fixture(scope="module")
def heldout():
    """(natural, blurred + noise) patches of the held-out photo, same positions."""
    photo = P.load_photo(P.HELDOUT_PHOTOS[0])
    natural = P.sample_patches(4000, 11, [photo], dequantize=False)
    blurred = ndimage.gaussian_filter(photo, (1.5, 1.5, 0))
    noisy = (P.sample_patches(4000, 11, [blurred], dequantize=False)
             + np.random.RandomState(12).normal(0, 4, natural.shape))
    return natural, noisy


def lsd2015_prior(kind):
    lsd2015_file(P.LSD2015_FILES[kind][0])
    return P.load_lsd2015(LSD2015, kind)


# --------------------------------------------------------------- fitting

def test_em_recovers_a_known_student_t():
    rng = np.random.RandomState(0)
    d, n, nu = 3, 20000, 4.0
    mu = np.array([10.0, -5.0, 2.0])
    A = rng.randn(d, d)
    sigma = A @ A.T + np.eye(d)
    x = mu + rng.multivariate_normal(np.zeros(d), sigma, n) / np.sqrt(
        rng.chisquare(nu, n) / nu)[:, None]
    history = []
    fit = P.fit_student_t(x, callback=lambda i, ll, v: history.append(ll))
    scale = np.sqrt(np.diag(sigma))
    assert np.all(np.abs(fit.mu - mu) < 0.05 * scale)
    assert np.linalg.norm(fit.sigma - sigma) < 0.06 * np.linalg.norm(sigma)
    assert abs(fit.nu - nu) < 0.5
    assert np.all(np.diff(history) > -1e-9)          # ECME never loses likelihood
    fixed = P.fit_student_t(x, nu=4.0, max_iter=50)
    assert fixed.nu == 4.0
    assert np.linalg.norm(fixed.sigma - sigma) < 0.06 * np.linalg.norm(sigma)


def test_symmetric_fit_equals_a_fit_on_the_data_plus_its_mirror_image():
    rng = np.random.RandomState(2)
    x = rng.standard_t(3, (3000, 4)) @ rng.randn(4, 4) + [1, 2, 3, 4]
    swap = np.array([1, 0, 3, 2])
    symmetric = P.fit_student_t(x, symmetry=swap, tol=1e-12, max_iter=30)
    augmented = P.fit_student_t(np.r_[x, x[:, swap]], tol=1e-12, max_iter=30)
    np.testing.assert_allclose(symmetric.mu, augmented.mu, rtol=1e-6)
    np.testing.assert_allclose(symmetric.sigma, augmented.sigma, rtol=1e-6)
    assert abs(symmetric.nu - augmented.nu) < 1e-5
    np.testing.assert_array_equal(symmetric.sigma, symmetric.sigma[np.ix_(swap, swap)])


def test_our_filters_are_exactly_even_or_odd(small_prior):
    """Fitted under the 180-degree rotation, so the energy takes the half-cost path."""
    f = small_prior.filters
    flipped = f[::-1, ::-1]
    even = (flipped == f).all(axis=(0, 1, 2))
    odd = (flipped == -f).all(axis=(0, 1, 2))
    assert np.all(even | odd) and even.sum() == 96
    assert _Projection(f.transpose(3, 2, 0, 1)).split


def test_gaussian_fit_is_the_sample_moments():
    x = np.random.RandomState(1).randn(500, 4) * [1, 2, 3, 4]
    fit = P.fit_gaussian(x)
    np.testing.assert_allclose(fit.mu, x.mean(0))
    np.testing.assert_allclose(fit.sigma, np.cov(x, rowvar=False, bias=True))
    assert fit.nu is None


def test_patches_are_deterministic_and_never_from_the_heldout_photo():
    a, b = P.sample_patches(300, 5), P.sample_patches(300, 5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (300, 8, 8, 3) and a.dtype == np.float64
    assert not np.array_equal(a, P.sample_patches(300, 6))
    assert -0.5 <= a.min() and a.max() <= 255.5
    assert not set(P.HELDOUT_PHOTOS) & set(P.PHOTOS)


def test_bank_whitens_the_fit_like_the_2015_banks(small_prior):
    """Rows orthogonal, squared norms 1 / variance: PCA whitening, as in 2015."""
    banks = [small_prior]
    if os.path.exists(os.path.join(LSD2015, P.LSD2015_FILES["student"][0])):
        banks += [P.load_lsd2015(LSD2015, kind) for kind in P.KINDS]
    for prior in banks:
        W = prior.matrix().astype(np.float64)
        gram = W @ W.T
        off = gram - np.diag(np.diag(gram))
        assert np.abs(off).max() < 1e-4 * np.diag(gram).max()


def test_gaussian_drops_its_dc_component():
    """In 2015's (and our) Gaussian order the last, dropped component is the
    largest-variance one: a flat filter, the patch's mean brightness."""
    priors = [P.fit_prior("gaussian", n_patches=5000, seed=0)]
    if os.path.exists(os.path.join(LSD2015, P.LSD2015_FILES["gaussian"][0])):
        priors.append(P.load_lsd2015(LSD2015, "gaussian"))
    for prior in priors:
        assert np.argmax(prior.variances()) == prior.n_components - 1
        last = prior.filters[..., -1]
        assert np.all(np.sign(last) == np.sign(last.mean()))


# --------------------------------------------------------------- quality on held-out patches

def test_heldout_natural_patches_score_lower_than_distortions(small_prior, heldout):
    natural, blurred_noisy = heldout
    noise = np.random.RandomState(13).uniform(0, 255, natural.shape)
    e_natural = P.patch_energy(natural, small_prior)
    e_noise = P.patch_energy(noise, small_prior)
    e_distorted = P.patch_energy(blurred_noisy, small_prior)
    assert e_natural.max() < e_noise.min()
    assert e_natural.mean() < e_distorted.mean() - 0.5
    # patch by patch: the photo beats its own blurred, noisy copy
    assert np.mean(e_natural < e_distorted) > 0.9


# --------------------------------------------------------------- Theano energy

SCALES = (1, 2, 3, 9)     # 9 does not fit: 70 // 9 = 7 rows < 8


def _image(seed=0, shape=(70, 90)):
    return np.random.RandomState(seed).uniform(0, 255, (1, 3) + shape).astype(np.float32)


def _priors(small_prior):
    yield small_prior
    if os.path.exists(os.path.join(LSD2015, P.LSD2015_FILES["student"][0])):
        for kind in P.KINDS:
            yield P.load_lsd2015(LSD2015, kind)


def test_theano_energy_equals_numpy_reference(small_prior):
    image = _image()
    for prior in _priors(small_prior):
        outputs = PE.compile_energy(prior, SCALES, image.shape[2:], gradient=False)(image)
        total, per_scale = P.prior_energy_numpy(image, prior, SCALES)
        assert list(per_scale) == [1, 2, 3]
        np.testing.assert_allclose(outputs, [total] + list(per_scale.values()), rtol=2e-5)
        # the (H, W, 3) layout gives the same
        assert P.prior_energy_numpy(image[0].transpose(1, 2, 0), prior, SCALES)[0] == total


def test_theano_gradient_matches_finite_differences(small_prior):
    image = _image(1)
    pixels = [(0, 0, 0), (1, 30, 40), (2, 69, 89), (0, 12, 7)]
    for prior in _priors(small_prior):
        grad = PE.compile_energy(prior, SCALES, image.shape[2:])(image)[-1]
        assert grad.shape == image.shape
        step = 1e-3      # float64 reference: a small step is both exact and safe
        for c, i, j in pixels:
            up, down = image.astype(np.float64), image.astype(np.float64)
            up[0, c, i, j] += step
            down[0, c, i, j] -= step
            fd = (P.prior_energy_numpy(up, prior, SCALES)[0]
                  - P.prior_energy_numpy(down, prior, SCALES)[0]) / (2 * step)
            np.testing.assert_allclose(grad[0, c, i, j], fd, rtol=1e-3,
                                       atol=1e-4 * np.abs(grad).max())


def test_energy_inside_a_larger_graph_is_differentiable(small_prior):
    """Used as the optimiser uses it: strength * total + another term."""
    x = T.tensor4("x")
    total, _ = PE.prior_energy(x, small_prior, (1, 2), (24, 30))
    loss = np.float32(10) * total + T.sqr(x).mean()
    f = theano.function([x], [loss, T.grad(loss, x)])
    image = _image(2, (24, 30))
    value, grad = f(image)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    expected = 10 * P.prior_energy_numpy(image, small_prior, (1, 2))[0] + np.mean(
        image.astype(np.float64) ** 2)
    np.testing.assert_allclose(value, expected, rtol=1e-5)


def test_scales_too_coarse_for_one_patch_are_left_out():
    image, stream = IMAGE2015.prior_scales, STREAM2015.prior_scales
    assert P.usable_scales(image, (472, 840)) == [1, 2, 5, 11, 23, 47]
    assert P.usable_scales(image, (1080, 1920)) == list(image)
    assert P.usable_scales(stream, (472, 840)) == list(stream)
    with pytest.raises(UserError, match="smaller than one 8x8"):
        P.usable_scales((1, 2), (7, 100))


def test_loaded_2015_prior_reproduces_2015s_convolution():
    """2015 ran Theano 0.7's T.nnet.conv2d (the ConvOp, a true convolution)
    on the stored arrays; our correlation with the loaded bank must agree."""
    from theano.tensor.nnet import conv as legacy
    prior = lsd2015_prior("student")
    raw = np.load(lsd2015_file("student_prior_filters.npy")).astype(np.float32)
    mean = np.load(lsd2015_file("student_prior_mean.npy"))
    image = _image(3, (20, 26))
    x = T.tensor4()
    with pytest.warns(UserWarning):
        z = legacy.conv2d(x - 128.0, raw.transpose(3, 2, 0, 1))
    z = theano.function([x], z)(image)[0].astype(np.float64)
    energy_2015 = np.log1p((z - mean[:, None, None]) ** 2 / 0.665248).mean()
    ours = P.prior_energy_numpy(image, prior, (1,))[0]
    np.testing.assert_allclose(ours, energy_2015, rtol=1e-5)


# --------------------------------------------------------------- files

def test_save_load_round_trip(small_prior, tmp_path):
    path = tmp_path / "prior.h5"
    P.save_prior(small_prior, path)
    loaded = P.load_prior(path)
    np.testing.assert_array_equal(loaded.filters, small_prior.filters)
    np.testing.assert_array_equal(loaded.mean, small_prior.mean)
    for field in ("kind", "nu", "source", "photos", "n_patches", "seed", "log_likelihood"):
        assert getattr(loaded, field) == getattr(small_prior, field), field
    assert [p.name for p in tmp_path.iterdir()] == ["prior.h5"]   # no temp files left


def test_gaussian_round_trip_has_no_nu(tmp_path):
    prior = P.fit_prior("gaussian", n_patches=2000, seed=1)
    P.save_prior(prior, tmp_path / "g.h5")
    loaded = P.load_prior(tmp_path / "g.h5")
    assert loaded.kind == "gaussian" and loaded.nu is None


def _one_line_error(call, path):
    with pytest.raises(UserError) as info:
        call()
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_bad_prior_files_give_one_line_errors(small_prior, tmp_path):
    missing = tmp_path / "missing.h5"
    assert "no such prior file" in _one_line_error(lambda: P.load_prior(missing), missing)
    text = tmp_path / "text.h5"
    text.write_text("not a prior")
    assert "not an HDF5 file" in _one_line_error(lambda: P.load_prior(text), text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    assert "not a prior" in _one_line_error(lambda: P.load_prior(other), other)
    broken = tmp_path / "broken.h5"
    P.save_prior(small_prior, broken)
    with h5py.File(broken, "a") as f:
        del f["mean"]
        f["mean"] = np.zeros(5, np.float32)
    assert "mean of shape" in _one_line_error(lambda: P.load_prior(broken), broken)


def test_missing_2015_files_give_a_user_error(tmp_path):
    message = _one_line_error(lambda: P.load_lsd2015(tmp_path), tmp_path)
    assert "student_prior_filters.npy" in message


def test_fit_prior_command(tmp_path, capsys):
    from reproduce.cli import main
    out = tmp_path / "p.h5"
    assert main(["fit-prior", "--out", str(out), "--patches", "3000", "--seed", "2"]) == 0
    printed = capsys.readouterr().out
    prior = P.load_prior(out)
    assert prior.kind == "student" and prior.n_patches == 3000 and prior.seed == 2
    assert ("nu = %.6f" % prior.nu) in printed and "log-likelihood" in printed
    assert main(["fit-prior", "--out", str(out), "--patches", "10"]) == 2


# --------------------------------------------------------------- against 2015

def test_our_prior_agrees_with_2015s(small_prior, heldout):
    """Both rank natural patches alike, and their principal directions agree.
    experiments/compare_prior.py prints the full table (docs/prior.md)."""
    ref = lsd2015_prior("student")
    natural, blurred_noisy = heldout
    ours, theirs = P.patch_energy(natural, small_prior), P.patch_energy(natural, ref)
    assert stats.spearmanr(ours, theirs)[0] > 0.95
    assert np.mean(P.patch_energy(blurred_noisy, ref) > theirs) > 0.9
    assert 0.4 < small_prior.nu < 1.0 and abs(small_prior.nu - P.LSD2015_NU) < 0.2
    # the three largest-variance directions (brightness, colour) span the same space
    a = small_prior.directions()[np.argsort(small_prior.variances())[::-1][:3]]
    b = ref.directions()[np.argsort(ref.variances())[::-1][:3]]
    assert np.sum((a @ b.T) ** 2) / 3 > 0.9
    # spectra: the same shape, in log variance
    assert np.corrcoef(np.log(np.sort(small_prior.variances())),
                       np.log(np.sort(ref.variances())))[0, 1] > 0.95
