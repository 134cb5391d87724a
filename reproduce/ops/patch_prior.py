"""The prior's energy as a Theano Op: energy and gradient in one threaded numpy pass.

:class:`PatchEnergy` computes, for a pooled image minus 128, the sum of
per-component energies over every 8x8 window and its gradient, with the
blocks of rows shared out over a thread pool (:func:`patch_energy_sum`).
The formulas and the numpy reference are in :mod:`reproduce.prior.fit`,
the graph that uses it in :mod:`reproduce.prior.energy`; the speed work
(why an Op, the threaded blocks, the even/odd split) is in docs/prior.md.
It has no C: numpy's GEMMs do the work.
"""
import contextlib
import os

import numpy as np

from ..backend import T, thread_budget, theano
from ..prior.fit import HALF, PATCH

_WINDOWS = 4096   # windows per task: its 192 x 4096 im2col block (3 MB) stays in cache


class _Projection:
    """A bank (K, 3, 8, 8) applied to every 8x8 window of a block of rows, and back.

    When every filter is exactly even or odd under the 180-degree rotation
    (our fits, :func:`whitening_bank`), even filters need only the sums
    x[c, a, b] + x[c, 7-a, 7-b] over the top half (a < 4) and odd ones the
    differences: 96 numbers a window instead of 192, so the two GEMMs do half
    the work, and the sums are taken straight from the image (no im2col
    copy).  Components then come even first; ``order`` maps them to the
    bank's.  Other banks (the 2015 ones) take the plain path.
    """

    def __init__(self, bank):
        K = len(bank)
        flipped = bank[:, :, ::-1, ::-1]
        even = (flipped == bank).reshape(K, -1).all(axis=1)
        odd = (flipped == -bank).reshape(K, -1).all(axis=1)
        self.split = bool(np.all(even | odd))
        if not self.split:
            self.order, self.bank = np.arange(K), bank.reshape(K, -1)
            return
        self.order = np.r_[np.flatnonzero(even), np.flatnonzero(~even)]
        self.n_even = int(even.sum())
        top = bank[:, :, :HALF, :].reshape(K, -1)            # (K, 96), (c, a < 4, b)
        self.even, self.odd = np.ascontiguousarray(top[even]), np.ascontiguousarray(top[~even])

    def forward(self, windows):
        """(3, rows, width, 8, 8) window view -> (K, rows * width) responses."""
        n = windows.shape[1] * windows.shape[2]
        if not self.split:
            cols = np.ascontiguousarray(windows.transpose(0, 3, 4, 1, 2))  # im2col
            return self.bank @ cols.reshape(-1, n)
        top = windows[..., :HALF, :].transpose(0, 3, 4, 1, 2)
        partner = windows[..., ::-1, ::-1][..., :HALF, :].transpose(0, 3, 4, 1, 2)
        d = np.empty((len(self.order), n), np.float32)
        np.matmul(self.even, np.add(top, partner).reshape(-1, n), out=d[:self.n_even])
        np.matmul(self.odd, np.subtract(top, partner).reshape(-1, n), out=d[self.n_even:])
        return d

    def backward(self, d, scale, grad, first, width):
        """Add ``scale`` times the back-projection of d (K, rows * width), the
        windows of output rows first.., onto grad (3, h, w) (overlap-add)."""
        rows = d.shape[1] // width
        if not self.split:
            back = ((scale * self.bank.T) @ d).reshape(3, PATCH, PATCH, rows, width)
            for a in range(PATCH):
                for b in range(PATCH):
                    grad[:, first + a:first + a + rows, b:b + width] += back[:, a, b]
            return
        s = (scale * self.even.T) @ d[:self.n_even]
        t = (scale * self.odd.T) @ d[self.n_even:]
        top = (s + t).reshape(3, HALF, PATCH, rows, width)
        partner = (s - t).reshape(3, HALF, PATCH, rows, width)
        for a in range(HALF):
            for b in range(PATCH):
                grad[:, first + a:first + a + rows, b:b + width] += top[:, a, b]
                a2, b2 = PATCH - 1 - a, PATCH - 1 - b
                grad[:, first + a2:first + a2 + rows, b2:b2 + width] += partner[:, a, b]


def _energy_rows(x, projection, mean, keep, c, blocks, grad):
    """One thread's share of :func:`patch_energy_sum`; returns its energy sum.

    ``blocks``: (first, end) ranges of output rows.  For each, the windows
    are projected, scored, and sent back into this thread's ``grad``
    (3, h, w).  ``mean`` and ``keep`` (components that count) are in
    projection order; ``c`` = 1 / nu for the Student-t, None for the Gaussian.
    """
    from numpy.lib.stride_tricks import sliding_window_view
    width = x.shape[2] - PATCH + 1
    total = 0.0
    for first, end in blocks:
        windows = sliding_window_view(x[:, first:end + PATCH - 1], (PATCH, PATCH),
                                      axis=(1, 2))           # (3, rows, width, 8, 8)
        d = projection.forward(windows)                      # (K, windows)
        d -= mean[:, None]
        if keep is not None:
            d[~keep] = 0
        q = d * d
        if c is not None:
            q *= c
            q += 1                                           # 1 + d^2 / nu
            d /= q                                           # energy'(d) / (2 / nu)
            # log, not log1p: numpy vectorises it, and its absolute error
            # where d^2 / nu is tiny (~1e-7) is far below what matters.
            total += float(np.log(q, out=q).sum())
        else:
            total += float(q.sum())
        projection.backward(d, 2 * c if c is not None else 2, grad, first, width)
    return total


def patch_energy_sum(x, bank, mean, kind, nu=None):
    """Sum of per-component energies over every 8x8 window of ``x``, and its gradient.

    x (1, 3, h, w) float32: the pooled image minus 128; bank (K, 3, 8, 8)
    correlation filters; mean (K,).  Returns (float, (1, 3, h, w) float32).
    The Gaussian leaves out component K - 1.  Blocks of rows go to a thread
    pool; each block's im2col matrix, responses and back-projection stay in
    cache, where Theano's conv2d + elementwise graph writes several
    192-channel images to memory and reads them back.
    """
    x = np.ascontiguousarray(x[0], np.float32)
    projection = _Projection(np.asarray(bank, np.float32))
    mean = np.asarray(mean, np.float32)[projection.order]
    keep = None
    if kind == "gaussian":
        keep = projection.order != len(projection.order) - 1
    c = np.float32(1.0 / nu) if kind == "student" else None
    rows, width = x.shape[1] - PATCH + 1, x.shape[2] - PATCH + 1
    step = max(1, _WINDOWS // width)
    blocks = [(r, min(r + step, rows)) for r in range(0, rows, step)]
    n = min(thread_budget(), len(blocks))
    grads = [np.zeros_like(x) for _ in range(n)]
    with _blas_threads(1 if n > 1 else None):
        total = sum(_pool().map(lambda i: _energy_rows(x, projection, mean, keep, c,
                                                       blocks[i::n], grads[i]), range(n)))
    return total, sum(grads)[None]


_POOL = {}


def _pool():
    """One thread pool per process (numpy releases the GIL in ufuncs and GEMMs).

    Keyed by pid: a forked child inherits the pool object but not its
    threads, and would wait on it for ever.
    """
    if os.getpid() not in _POOL:
        from concurrent.futures import ThreadPoolExecutor
        _POOL.clear()
        _POOL[os.getpid()] = ThreadPoolExecutor(thread_budget(), thread_name_prefix="prior")
    return _POOL[os.getpid()]


_BLAS = []


def _numpy_blas():
    """(set_num_threads, get_num_threads) of the OpenBLAS inside numpy's wheel, or None."""
    if not _BLAS:
        import ctypes
        import glob
        found = None
        folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
        for path in glob.glob(os.path.join(folder, "libopenblas*.so*")):
            library = ctypes.CDLL(path)
            for suffix in ("64_", ""):
                if hasattr(library, "openblas_set_num_threads" + suffix):
                    found = (getattr(library, "openblas_set_num_threads" + suffix),
                             getattr(library, "openblas_get_num_threads" + suffix))
                    break
        _BLAS.append(found)
    return _BLAS[0]


@contextlib.contextmanager
def _blas_threads(n):
    """Run numpy's GEMMs on ``n`` threads inside the block (None: leave them).

    Our pool already keeps every core busy; letting each of its threads
    start more BLAS threads made the same work cost 1.5-2x the CPU time.
    """
    handles = _numpy_blas() if n is not None else None
    if handles is None:
        yield
        return
    set_threads, get_threads = handles
    before = get_threads()
    set_threads(n)
    try:
        yield
    finally:
        set_threads(before)


class PatchEnergy(theano.Op):
    """Theano Op over :func:`patch_energy_sum`: (x, bank, mean) -> (sum, d sum / dx).

    Forward and backward are computed together; the gradient reuses the
    stored d sum / dx (the grad graph calls the Op again and Theano merges
    the two nodes).  Only the sum may be differentiated, and only w.r.t. x.
    """
    __props__ = ("kind", "nu")

    def __init__(self, kind, nu=None):
        super().__init__()
        self.kind, self.nu = kind, None if nu is None else float(nu)

    def make_node(self, x, bank, mean):
        inputs = [T.as_tensor_variable(v) for v in (x, bank, mean)]
        return theano.Apply(self, inputs, [T.fscalar(), T.ftensor4()])

    def perform(self, node, inputs, outputs):
        total, grad = patch_energy_sum(*inputs, kind=self.kind, nu=self.nu)
        outputs[0][0] = np.asarray(total, np.float32)
        outputs[1][0] = grad

    def infer_shape(self, node, shapes):
        return [(), shapes[0]]

    def grad(self, inputs, output_grads):
        from theano.gradient import DisconnectedType, grad_not_implemented
        fixed = [grad_not_implemented(self, i, inputs[i], "the prior is fixed")
                 for i in (1, 2)]
        if not isinstance(output_grads[1].type, DisconnectedType):
            return [grad_not_implemented(self, 0, inputs[0], "differentiate the sum")] + fixed
        return [output_grads[0] * self(*inputs)[1]] + fixed
