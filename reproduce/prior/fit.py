"""The 2015 patch prior: fit it on photographs, store it, score images with it.

The 2015 stream kept its hallucinations image-like with a density fitted to
8x8x3 patches of natural photographs, applied convolutionally at several
mean-pooling scales.  A fit (Gaussian, or multivariate Student-t by EM) is
turned into what the 2015 code applied: a bank of K = 192 PCA-whitening
filters w_k = u_k / sqrt(lambda_k) (eigenvectors of the scale matrix, so
the filters are mutually orthogonal and component k has unit scale) and
a mean per component, mean_k = w_k . (mu - 128).  The energy of one patch
x (RGB, 0..255) is the mean over components of

    Student-t:  log(1 + (w_k . (x - 128) - mean_k)^2 / nu)
    Gaussian:   (w_k . (x - 128) - mean_k)^2, the last component left out

and the energy of an image at scale p is the mean of that over every 8x8
window of the image mean-pooled by p (remainder rows and columns cropped).
Scales at which the pooled image has no 8x8 window are left out of the
average (:func:`usable_scales`).

Two implementations: :func:`prior_energy` builds the Theano graph for the
optimisation step (forward and gradient in one
:class:`reproduce.ops.patch_prior.PatchEnergy` Op,
blocked GEMMs on a thread pool, since Theano's conv2d + elementwise graph
cost 2-3x more), and :func:`prior_energy_numpy` / :func:`patch_energy` are
the plain reference, written straight from the formula.

Conventions
-----------
* A patch is (8, 8, 3): rows, columns, RGB, on 0..255.  Flattened it is in
  (h, w, c) order, index (h*8 + w)*3 + c, the order of the 2015 files.
* ``Prior.filters`` are CORRELATION filters, (8, 8, 3, K) in h, w, c, k
  order: z_k[i, j] = sum_{a,b,c} filters[a, b, c, k] * (x[c, i+a, j+b] - 128).
  The 2015 code ran ``T.nnet.conv2d`` of Theano 0.7, which flips the kernel
  (a true convolution), on its stored arrays.  :func:`load_lsd2015` flips
  them once, so our correlation computes exactly what 2015 computed.
* Component order follows the 2015 files: Student-t by decreasing variance,
  Gaussian by increasing variance.  The Gaussian energy drops the LAST
  component, which in that order is the largest-variance one: the patch's
  mean brightness (DC).  Dropping it leaves overall brightness unpenalised.

HDF5 schema (format ``reproduce-prior``, version 1)::

    /           attrs: format, version,
                       kind ("student" | "gaussian"),
                       nu (float; Student-t only),
                       source (str: how it was made),
                       photos (JSON list of the photos fitted on),
                       n_patches, seed (ints; absent when unknown),
                       log_likelihood (float, nats per patch; optional)
    /filters    (8, 8, 3, K) float32, correlation filters, h, w, c, k
    /mean       (K,) float32
"""
import collections
import dataclasses
import json
import os
from typing import Optional, Tuple

import numpy as np

from ..errors import UserError
from ..fileio import atomic_path, text as _text

FORMAT = "reproduce-prior"
VERSION = 1
PATCH = 8
HALF = PATCH // 2
OFFSET = 128.0        # the 2015 code subtracted 128 before the filters
LSD2015_NU = 0.665248  # the 2015 code's Student-t degrees of freedom
KINDS = ("student", "gaussian")

# Colour photographs of real scenes that scikit-image ships (no download).
# Its other colour images are not natural photographs: immunohistochemistry
# (ihc) and retina are microscopy/medical, hubble_deep_field is astronomy,
# colorwheel/color are charts.  motorcycle is the left view of
# stereo_motorcycle; the right view is a near-duplicate, so it is unused.
PHOTOS = ("astronaut", "coffee", "rocket", "motorcycle")
# The photo the fit never sees: tests measure generalisation on it.
HELDOUT_PHOTOS = ("chelsea",)
# Photos are mean-pooled 2x2 before patches are cut: it halves their noise
# (sensor, JPEG, 8-bit steps), which brings the fitted spectrum much closer to
# the 2015 one (docs/prior.md), and the prior mostly sees pooled images anyway.
FIT_POOL = 2



# --------------------------------------------------------------- patches

def load_photo(name):
    """One of scikit-image's shipped photos as (H, W, 3) float64 RGB, 0..255."""
    import skimage.data
    if name == "motorcycle":
        image = skimage.data.stereo_motorcycle()[0]
    elif name in PHOTOS + HELDOUT_PHOTOS:
        image = getattr(skimage.data, name)()
    else:
        raise UserError("unknown photo %r; choose from %s"
                        % (name, ", ".join(PHOTOS + HELDOUT_PHOTOS)))
    return np.asarray(image, np.float64)


def mean_pool_hwc(image, p):
    """(H, W, C) -> (H // p, W // p, C): means of p x p blocks, remainder cropped.

    The numpy twin of :func:`reproduce.nets.pooling.mean_pool` (which the Theano
    energy uses), kept separate so the reference below stays independent.
    """
    h, w = image.shape[0] // p, image.shape[1] // p
    return image[:h * p, :w * p].reshape(h, p, w, p, -1).mean(axis=(1, 3))


# float64 copies of the (n, 192) patches a fit holds at once: the sample,
# the centred patches and the EM weights' products
PATCH_COPIES = 4


def check_patch_memory(n):
    """UserError when ``n`` patches would not fit in the memory available
    (``--patches 1e12`` asked for 1.5 PB and died in numpy)."""
    from ..nets.memory import available_bytes, human
    need = n * PATCH * PATCH * 3 * 8 * PATCH_COPIES
    free = available_bytes()
    if free is not None and need > free:
        raise UserError("--patches %d needs about %s, more than the %s available; give "
                        "fewer (the default 100000 needs %s)" % (
                            n, human(need), human(free),
                            human(100000 * PATCH * PATCH * 3 * 8 * PATCH_COPIES)))


def sample_patches(n, seed, images=None, pool=FIT_POOL, flip=True, dequantize=True):
    """``n`` random 8x8x3 patches, shape (n, 8, 8, 3), float64 RGB on 0..255.

    ``images``: photo names (default :data:`PHOTOS`, never the held-out
    one) or (H, W, 3) arrays.  Each image is first dequantised (uniform
    noise in [-0.5, 0.5) per pixel: 8-bit pixels sit on a lattice, and
    saturated areas put many patches on one point, where a Student-t fit
    collapses) and then mean-pooled by ``pool`` (see :data:`FIT_POOL`).
    Every window position of every image is then equally likely.  ``flip``
    mirrors half the patches left-right (scenes have no preferred side).
    Deterministic in ``seed``.
    """
    rng = np.random.RandomState(seed)
    sources = []
    for im in (PHOTOS if images is None else images):
        im = load_photo(im) if isinstance(im, str) else np.asarray(im, np.float64)
        if dequantize:
            im = im + rng.uniform(-0.5, 0.5, im.shape)
        sources.append(mean_pool_hwc(im, pool))
    counts = np.array([(im.shape[0] - PATCH + 1) * (im.shape[1] - PATCH + 1)
                       for im in sources], np.float64)
    which = rng.choice(len(sources), size=n, p=counts / counts.sum())
    patches = np.empty((n, PATCH, PATCH, 3))
    offsets = np.arange(PATCH)
    for k, im in enumerate(sources):
        chosen = np.flatnonzero(which == k)
        rows = rng.randint(0, im.shape[0] - PATCH + 1, chosen.size)
        cols = rng.randint(0, im.shape[1] - PATCH + 1, chosen.size)
        patches[chosen] = im[rows[:, None, None] + offsets[None, :, None],
                             cols[:, None, None] + offsets[None, None, :]]
    if flip:
        mirrored = rng.rand(n) < 0.5
        patches[mirrored] = patches[mirrored, :, ::-1]
    return patches


def _flat(patches):
    """(n, 8, 8, 3) or (n, d) -> (n, d) float64, (h, w, c) order."""
    patches = np.asarray(patches, np.float64)
    return patches.reshape(patches.shape[0], -1)


# --------------------------------------------------------------- fitting

@dataclasses.dataclass
class Fit:
    """A density on flattened patches (pixels 0..255).

    mu (d,) location; sigma (d, d) scale matrix (the covariance for a
    Gaussian); nu the Student-t degrees of freedom, None for a Gaussian;
    log_likelihood the mean per patch in nats; n_iter EM iterations run.
    """
    mu: np.ndarray
    sigma: np.ndarray
    nu: Optional[float]
    log_likelihood: float
    n_iter: int = 0


def _mahalanobis(X, mu, sigma):
    """Squared distances (n,) of the rows of X to mu under sigma, and log|sigma|."""
    L = np.linalg.cholesky(sigma)
    # An explicit triangular inverse turns the n solves into one GEMM.
    L_inv = np.linalg.inv(L)
    Y = (X - mu) @ L_inv.T
    return np.einsum("ij,ij->i", Y, Y), 2.0 * np.log(np.diag(L)).sum()


def _gaussian_loglik(delta, logdet, d):
    return -0.5 * (d * np.log(2 * np.pi) + logdet + delta.mean())


def _t_loglik(delta, logdet, d, nu):
    """Mean log-density of a d-variate Student-t at points with Mahalanobis ``delta``."""
    from scipy.special import gammaln
    return (gammaln((nu + d) / 2) - gammaln(nu / 2) - d / 2 * np.log(nu * np.pi)
            - logdet / 2 - (nu + d) / 2 * np.log1p(delta / nu).mean())


def _best_nu(delta, logdet, d, bounds):
    """The ECME step: the nu in ``bounds`` that maximises the actual likelihood.

    With mu and sigma held, the likelihood is a smooth 1-D function of nu;
    we search log(nu), where it is close to concave.
    """
    from scipy.optimize import minimize_scalar
    result = minimize_scalar(lambda s: -_t_loglik(delta, logdet, d, np.exp(s)),
                             bounds=np.log(bounds), method="bounded",
                             options={"xatol": 1e-7})
    return float(np.exp(result.x))


def point_reflection():
    """(192,) the permutation of a flattened (h, w, c) patch that rotates it 180 degrees.

    Stationary statistics are invariant under it: the covariance of pixels
    p and q depends only on q - p, and swapping both signs transposes it.
    """
    return np.arange(PATCH * PATCH * 3).reshape(PATCH, PATCH, 3)[::-1, ::-1].ravel()


def _symmetrise(a, symmetry):
    """Average a (d,) vector or (d, d) matrix with its image under the permutation.

    For mu and sigma this is exactly the M-step on the data plus their
    permuted copies (whose weights equal the originals' once mu and sigma
    are symmetric).
    """
    if symmetry is None:
        return a
    return (a + a[np.ix_(*[symmetry] * a.ndim)]) / 2


def _moments(X, symmetry):
    """Sample mean (d,) and covariance (d, d) of X (n, d), symmetrised."""
    return (_symmetrise(X.mean(axis=0), symmetry),
            _symmetrise(np.cov(X, rowvar=False, bias=True), symmetry))


def fit_gaussian(patches, symmetry=None):
    """Maximum-likelihood Gaussian of (n, 8, 8, 3) or (n, d) patches -> :class:`Fit`.

    ``symmetry``: a permutation of the d dimensions under which the data
    are taken to be invariant (see :func:`fit_student_t`).
    """
    X = _flat(patches)
    mu, sigma = _moments(X, symmetry)
    delta, logdet = _mahalanobis(X, mu, sigma)
    return Fit(mu, sigma, None, float(_gaussian_loglik(delta, logdet, X.shape[1])), 1)


def fit_student_t(patches, nu=None, max_iter=200, tol=1e-6, nu_bounds=(0.01, 1000.0),
                  symmetry=None, callback=None):
    """Multivariate Student-t of (n, 8, 8, 3) or (n, d) patches by ECME -> :class:`Fit`.

    Each iteration (Liu & Rubin 1995):
      E   weights u_i = (nu + d) / (nu + delta_i), delta_i the Mahalanobis
          distance of patch i under the current mu, sigma;
      CM1 mu = sum u_i x_i / sum u_i,
          sigma = sum u_i (x_i - mu)(x_i - mu)^T / sum u_i;
      CM2 (only when ``nu`` is None) nu = the 1-D maximiser of the observed
          log-likelihood with mu, sigma held, searched in ``nu_bounds``.
    nu is therefore ESTIMATED by default; pass a number to hold it fixed.
    Dividing sigma by sum u_i instead of n is Kent, Tyler & Vardi's
    parameter-expanded step: it has the same fixed point (mean u_i = 1 at
    the maximum) and converges in far fewer iterations.

    ``symmetry`` (a permutation of the d dimensions, e.g.
    :func:`point_reflection`) fits the data together with their permuted
    copies, at no extra cost: each CM1 step is symmetrised, so mu and sigma
    come out exactly invariant under it.

    Stops when the log-likelihood per dimension improves by less than
    ``tol`` nats, or after ``max_iter`` iterations.  ``callback(iteration,
    log_likelihood, nu)`` runs after each one (a progress bar).
    """
    X = _flat(patches)
    n, d = X.shape
    mu, sigma = _moments(X, symmetry)
    current_nu = float(nu) if nu is not None else 1.0
    previous = -np.inf
    for iteration in range(1, max_iter + 1):
        delta, logdet = _mahalanobis(X, mu, sigma)
        if nu is None:
            current_nu = _best_nu(delta, logdet, d, nu_bounds)
        loglik = float(_t_loglik(delta, logdet, d, current_nu))
        if callback is not None:
            callback(iteration, loglik, current_nu)
        if (loglik - previous) / d < tol:
            break
        previous = loglik
        u = (current_nu + d) / (current_nu + delta)
        mu = _symmetrise(u @ X / u.sum(), symmetry)
        centred = X - mu
        sigma = _symmetrise((centred.T * u) @ centred / u.sum(), symmetry)
    return Fit(mu, sigma, current_nu if nu is None else float(nu), loglik, iteration)


# --------------------------------------------------------------- the prior

@dataclasses.dataclass
class Prior:
    """A patch prior as the 2015 code applied it.

    filters (8, 8, 3, K) float32 correlation filters on the image minus 128;
    mean (K,) float32; nu the Student-t degrees of freedom (None for a
    Gaussian).  The rest is provenance: source (how it was made), photos
    (fitted on), n_patches, seed, log_likelihood (nats per patch).
    """
    kind: str
    filters: np.ndarray
    mean: np.ndarray
    nu: Optional[float] = None
    source: str = ""
    photos: Tuple[str, ...] = ()
    n_patches: Optional[int] = None
    seed: Optional[int] = None
    log_likelihood: Optional[float] = None

    @property
    def n_components(self):
        return self.filters.shape[-1]

    def matrix(self):
        """The filters as a (K, 192) matrix acting on flattened (h, w, c) patches."""
        return self.filters.reshape(-1, self.n_components).T

    def variances(self):
        """(K,) the variance (scale^2) each filter whitens: 1 / |w_k|^2, in pixels^2."""
        return 1.0 / np.sum(self.matrix().astype(np.float64) ** 2, axis=1)

    def directions(self):
        """(K, 192) the filters scaled to unit length: the principal directions."""
        W = self.matrix().astype(np.float64)
        return W / np.linalg.norm(W, axis=1, keepdims=True)

    def check(self, where):
        """Raise UserError naming ``where`` if the fields do not fit together."""
        if self.kind not in KINDS:
            raise UserError("%s: prior kind %r; expected one of %s"
                            % (where, self.kind, ", ".join(KINDS)))
        if self.filters.ndim != 4 or self.filters.shape[:3] != (PATCH, PATCH, 3):
            raise UserError("%s: filters have shape %s; expected (8, 8, 3, K)"
                            % (where, self.filters.shape))
        if self.mean.shape != (self.n_components,):
            raise UserError("%s: %d filters but a mean of shape %s"
                            % (where, self.n_components, self.mean.shape))
        if self.kind == "student" and not (self.nu is not None and self.nu > 0):
            raise UserError("%s: a Student-t prior needs nu > 0, got %r"
                            % (where, self.nu))
        if not (np.all(np.isfinite(self.filters)) and np.all(np.isfinite(self.mean))):
            raise UserError("%s: the prior holds NaN or infinite values" % where)
        largest = max(float(np.abs(self.filters).max(initial=0)),
                      float(np.abs(self.mean).max(initial=0)))
        if largest > MAX_FILTER_VALUE:
            raise UserError("%s: filter values up to %.3g; a patch's response would "
                            "overflow (at most %g); the prior is damaged: fit it again "
                            "(`make prior`)" % (where, largest, MAX_FILTER_VALUE))


def _parity_basis(symmetry):
    """(d, d) orthonormal basis: d/2 even vectors (e_i + e_s(i)) / sqrt 2, then
    the d/2 odd ones (e_i - e_s(i)) / sqrt 2, for an involution s without fixed points."""
    d = len(symmetry)
    first = np.flatnonzero(np.arange(d) < symmetry)
    half = np.arange(len(first))
    Q = np.zeros((d, d))
    Q[first, half] = Q[symmetry[first], half] = Q[first, half + len(first)] = np.sqrt(0.5)
    Q[symmetry[first], half + len(first)] = -np.sqrt(0.5)
    return Q


def _eigh(sigma, symmetry):
    """eigh(sigma), ascending.  With a symmetry, per parity block: then every
    eigenvector is exactly even or odd, even where eigenvalues nearly tie."""
    if symmetry is None:
        return np.linalg.eigh(sigma)
    Q = _parity_basis(symmetry)
    blocks = Q.T @ sigma @ Q
    h = len(sigma) // 2
    (lam_e, V_e), (lam_o, V_o) = np.linalg.eigh(blocks[:h, :h]), np.linalg.eigh(blocks[h:, h:])
    lam, U = np.r_[lam_e, lam_o], np.c_[Q[:, :h] @ V_e, Q[:, h:] @ V_o]
    order = np.argsort(lam, kind="stable")
    return lam[order], U[:, order]


def whitening_bank(mu, sigma, largest_first, symmetry=None):
    """PCA-whitening filters of a fit: (8, 8, 3, K) filters and (K,) means.

    Row k of the bank is u_k / sqrt(lambda_k) for the eigenpairs of sigma,
    so the bank maps sigma to the identity, as the 2015 banks do (their
    rows are orthogonal with squared norms 1 / lambda_k).  Each eigenvector's
    sign is fixed by making its largest entry positive (eigh's is arbitrary).
    ``largest_first`` orders components by decreasing variance (the 2015
    Student-t file), else increasing (the 2015 Gaussian file).  With the
    ``symmetry`` the fit was made under, each filter is exactly even or
    odd under it, which halves the cost of the energy (:class:`_Projection`).
    """
    lam, U = _eigh(sigma, symmetry)                    # ascending variance
    U = U * np.sign(U[np.abs(U).argmax(axis=0), np.arange(U.shape[1])])
    W = U.T / np.sqrt(lam)[:, None]                   # (K, d)
    if largest_first:
        W = W[::-1]
    mean = W @ (mu - OFFSET)
    filters = W.reshape(-1, PATCH, PATCH, 3).transpose(1, 2, 3, 0)
    return np.ascontiguousarray(filters, np.float32), mean.astype(np.float32)


def prior_from_fit(fit, symmetry=None, **provenance):
    """The :class:`Prior` of a :class:`Fit` (kind from ``fit.nu``), made under ``symmetry``."""
    kind = "gaussian" if fit.nu is None else "student"
    filters, mean = whitening_bank(fit.mu, fit.sigma, kind == "student", symmetry)
    return Prior(kind, filters, mean, fit.nu, log_likelihood=fit.log_likelihood,
                 **provenance)


def fit_prior(kind="student", n_patches=100000, seed=0, photos=PHOTOS, callback=None,
              **fit_options):
    """Sample patches from ``photos`` and fit a prior of ``kind`` -> :class:`Prior`.

    The fit is made invariant under the 180-degree rotation of a patch
    (:func:`point_reflection`), which stationary statistics have anyway:
    it removes estimation noise and makes every filter even or odd.
    """
    if kind not in KINDS:
        raise UserError("prior kind %r; expected one of %s" % (kind, ", ".join(KINDS)))
    patches = sample_patches(n_patches, seed, photos)
    symmetry = point_reflection()
    if kind == "gaussian":
        fit, how = fit_gaussian(patches, symmetry), "Gaussian, maximum likelihood"
    else:
        fit = fit_student_t(patches, symmetry=symmetry, callback=callback, **fit_options)
        how = "multivariate Student-t, ECME, %d iterations" % fit.n_iter
    how += ", invariant under 180-degree rotation"
    return prior_from_fit(fit, symmetry, source="fit: %s on skimage.data photos" % how,
                          photos=tuple(photos), n_patches=int(n_patches), seed=int(seed))


# --------------------------------------------------------------- files

def save_prior(prior, path):
    """Write ``prior`` to ``path`` (HDF5, schema above), atomically."""
    import h5py
    prior.check(path)
    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs.update(format=FORMAT, version=VERSION, kind=prior.kind,
                           source=prior.source, photos=json.dumps(list(prior.photos)))
            for name in ("nu", "n_patches", "seed", "log_likelihood"):
                if getattr(prior, name) is not None:
                    f.attrs[name] = getattr(prior, name)
            f["filters"] = np.asarray(prior.filters, np.float32)
            f["mean"] = np.asarray(prior.mean, np.float32)



MAX_COMPONENTS = 4096  # filters per prior; ours has 192 (the patch dimension)
# |filter value| and |mean| at most: a response is a sum of 192 products with
# pixels within 128 of the offset, squared in float32 (max 3.4e38), so 1e30
# overflowed with only a warning; whitening filters of 0..255 photos stay
# far below this (ours: about 1)
MAX_FILTER_VALUE = 1e6


def load_prior(path):
    """Read a prior written by :func:`save_prior`, whole schema checked (in a
    child process, see h5read); anything else -> one-line UserError."""
    from .. import h5read
    hint = "make one with `python -m reproduce fit-prior --out %s`" % os.fspath(path)
    return h5read.load_isolated(path, lambda f, where: _read_prior(f, where, hint),
                                "prior", hint)


def _read_prior(f, path, hint):
    from .. import h5read
    h5read.check_format(f, path, FORMAT, VERSION, hint, "a prior")
    h5read.check_tree(f, path)
    attr = h5read.read_attr
    filters = h5read.read_array(f, "filters", path, 4, shape=(PATCH, PATCH, 3, None))
    if not 1 <= filters.shape[3] <= MAX_COMPONENTS:
        raise UserError("%s: %d filters; expected 1..%d" % (path, filters.shape[3],
                                                          MAX_COMPONENTS))
    photos = attr(f, "photos", path, "str", default="[]")
    try:
        photos = json.loads(photos)
    except ValueError:
        photos = None
    if not (isinstance(photos, list) and all(isinstance(p, str) for p in photos)):
        raise UserError("%s: attribute 'photos' must be a JSON list of names" % path)
    prior = Prior(kind=attr(f, "kind", path, "str"), filters=filters,
                  mean=h5read.read_array(f, "mean", path, 1),
                  nu=attr(f, "nu", path, "float", default=None),
                  source=attr(f, "source", path, "str", default=""),
                  photos=tuple(photos),
                  n_patches=attr(f, "n_patches", path, "int", default=None),
                  seed=attr(f, "seed", path, "int", default=None),
                  log_likelihood=attr(f, "log_likelihood", path, "float", default=None))
    prior.check(path)
    return prior


LSD2015_FILES = {"student": ("student_prior_filters.npy", "student_prior_mean.npy"),
                 "gaussian": ("prior_filters.npy", "prior_mean.npy")}


def load_lsd2015(folder, kind="student"):
    """The 2015 prior of ``kind`` from the folder holding its ``.npy`` files.

    The stored filters are flipped in both spatial axes here, once: 2015
    applied them with Theano 0.7's ``T.nnet.conv2d``, a true convolution,
    and our energy correlates.  nu is the 2015 constant 0.665248.
    """
    if kind not in LSD2015_FILES:
        raise UserError("prior kind %r; expected one of %s" % (kind, ", ".join(KINDS)))
    paths = [os.path.join(os.fspath(folder), name) for name in LSD2015_FILES[kind]]
    for path in paths:
        if not os.path.exists(path):
            raise UserError("%s: missing; give the folder that holds the 2015 prior "
                            "files (%s)" % (path, ", ".join(LSD2015_FILES[kind])))
    try:
        filters, mean = (np.load(path, allow_pickle=False) for path in paths)
    except (OSError, ValueError) as exc:
        raise UserError("%s: cannot read the 2015 .npy files (%s)" % (folder, exc))
    prior = Prior(kind, np.asarray(filters, np.float32), np.asarray(mean, np.float32),
                  LSD2015_NU if kind == "student" else None,
                  source="lsd2015: %s (spatially flipped: 2015 convolved)"
                         % os.path.basename(paths[0]))
    prior.check(paths[0])
    prior.filters = np.ascontiguousarray(prior.filters[::-1, ::-1])
    return prior



def load_prior_spec(spec=None, prior_dir=None, kind="student"):
    """A job's ``prior``: None (our fitted file, ``paths.PRIOR``), "lsd2015"
    (the 2015 files of ``kind`` in ``prior_dir``), "none" (no prior: None),
    or the path of a prior file; a loaded :class:`Prior` is used as it is."""
    from .. import paths
    if isinstance(spec, Prior):
        return spec
    if spec == "none":
        return None
    if spec == "lsd2015":
        return load_lsd2015(prior_dir or paths.LSD2015_DIR, kind)
    path = spec or paths.PRIOR
    if spec is None and not os.path.exists(path):
        raise UserError("%s: no fitted prior yet; run %s (or pass --prior lsd2015 "
                        "--prior-dir PATH, or --prior none)" % (path, paths.how_to_make("prior")))
    return load_prior(path)


# --------------------------------------------------------------- energy

def usable_scales(scales, shape):
    """The scales at which the pooled (H, W) ``shape`` still holds an 8x8 window.

    The 2015 configurations never met a smaller one (1080 // 95 = 11 and
    472 // 32 = 14 rows), where a 'valid' correlation has no output; we
    leave such scales out of the average rather than fail.
    """
    used = [int(p) for p in scales if min(shape[0] // p, shape[1] // p) >= PATCH]
    if not used:
        raise UserError("a %dx%d image is smaller than one 8x8 prior patch at every "
                        "scale (%s)" % (shape[1], shape[0], ", ".join(map(str, scales))))
    return used


# --------------------------------------------------------------- numpy reference

def patch_energy(patches, prior):
    """Energy of each patch, (n, 8, 8, 3) on 0..255 -> (n,) float64.

    Plain numpy, straight from the formula: the independent check on the
    Theano graph, and what the comparisons score patches with.
    """
    z = (_flat(patches) - OFFSET) @ prior.matrix().astype(np.float64).T
    d = z - prior.mean.astype(np.float64)
    if prior.kind == "student":
        return np.log1p(d ** 2 / prior.nu).mean(axis=1)
    return (d[:, :-1] ** 2).mean(axis=1)


def prior_energy_numpy(image, prior, scales):
    """Reference for :func:`prior_energy`: (total, OrderedDict scale -> energy).

    image: (H, W, 3) or (1, 3, H, W), RGB on 0..255.  Every window is cut
    out explicitly (row by row, to bound memory) and scored by
    :func:`patch_energy`; float64 throughout.
    """
    from numpy.lib.stride_tricks import sliding_window_view
    image = np.asarray(image, np.float64)
    if image.ndim == 4:
        image = image[0].transpose(1, 2, 0)
    energies = collections.OrderedDict()
    for p in usable_scales(scales, image.shape[:2]):
        pooled = mean_pool_hwc(image, p)
        windows = sliding_window_view(pooled, (PATCH, PATCH, 3))[:, :, 0]
        energies[p] = np.mean([patch_energy(row, prior).mean() for row in windows])
    return float(np.mean(list(energies.values()))), energies
