"""The Caffe-window max-pool Ops against a numpy port of pooling_layer.cpp,
on inputs full of ties, padded and ceil-mode windows included."""
import numpy as np
import pytest

from helpers.caffe_models import np_max_pool
from reproduce.backend import T, theano
from reproduce.ops.maxpool import MaxPool, MaxPoolGrad, max_pool, pooled_length
from theano.tensor.signal.pool import pool_2d

# (kernel, stride, pad): GoogLeNet's 3x3/2 (ceil overhang) and 3x3/1 pad 1,
# a padded 2x2/2 whose last window is dropped, uneven windows, stride > kernel
# with padding on one axis only, and Lasagne's floor 2x2/2
CASES = [((3, 3), (2, 2), (0, 0), True), ((3, 3), (1, 1), (1, 1), True),
         ((2, 2), (2, 2), (1, 1), True), ((3, 2), (2, 3), (1, 0), True),
         ((1, 2), (3, 3), (0, 1), True), ((2, 2), (2, 2), (0, 0), False)]


def _tied(shape, seed):
    """Three distinct values: nearly every window holds its max more than once."""
    return np.random.RandomState(seed).randint(0, 3, shape).astype(np.float32)


@pytest.fixture(scope="module")
def pooled():
    """f(x, g_1, ..., g_n) -> per (case, rule): the pool of x and d sum(pool
    * g_case) / dx, as one function (one compile)."""
    x = T.ftensor4("x")
    gs = [T.ftensor4("g%d" % i) for i in range(len(CASES))]
    outs = []
    for (kernel, stride, pad, ceil), g in zip(CASES, gs):
        for ties in RULES:
            z = max_pool(x, kernel, stride, pad, ceil, ties)
            outs += [z, T.grad((z * g).sum(), x)]
    f = theano.function([x] + gs, outs, on_unused_input="ignore")

    def run(x_value, g_values):
        values = iter(f(x_value, *g_values))
        return {(case, ties): (next(values), next(values)) for case in CASES
                for ties in RULES}
    return run


RULES = ("argmax", "every")


@pytest.mark.parametrize("shape", [(1, 2, 7, 9), (2, 3, 10, 8)])
def test_pool_and_gradient_are_caffes(pooled, shape):
    x = _tied(shape, sum(shape))
    rng = np.random.RandomState(1)
    gs = []
    for kernel, stride, pad, ceil in CASES:
        rows, cols = (pooled_length(n, k, s, p, ceil, any(pad))
                      for n, k, s, p in zip(shape[2:], kernel, stride, pad))
        gs.append(rng.randn(shape[0], shape[1], rows, cols).astype(np.float32))
    results = pooled(x, gs)
    xv, gv = T.ftensor4(), T.ftensor4()
    for (kernel, stride, pad, ceil), g in zip(CASES, gs):
        for ties in RULES:
            z, gx = results[(kernel, stride, pad, ceil), ties]
            if ceil:   # the numpy port is Caffe's ceil mode
                for b in range(shape[0]):
                    top, want = np_max_pool(x[b], kernel, stride, pad, g[b], ties)
                    np.testing.assert_array_equal(z[b], top)
                    np.testing.assert_allclose(gx[b], want, rtol=1e-6, atol=1e-6)
            else:   # floor, unpadded: Lasagne's pool, and with "every" Theano's gradient
                theirs = pool_2d(xv, kernel, ignore_border=True, stride=stride, mode="max")
                tz, tgx = theano.function([xv, gv], [theirs, T.grad((theirs * gv).sum(),
                                                                    xv)])(x, g)
                np.testing.assert_array_equal(z, tz)
                if ties == "every":
                    np.testing.assert_array_equal(gx, tgx)
            if ties == "argmax":   # one pixel a window, however many tie
                assert np.count_nonzero(gx) <= g.size
        # the inputs tie: the rules differ in every case
        assert not np.array_equal(results[(kernel, stride, pad, ceil), "argmax"][1],
                                  results[(kernel, stride, pad, ceil), "every"][1])


@pytest.fixture(scope="module")
def compiled():
    """f(kernel, stride, pad, ceil, ties) -> a compiled (x, g) -> (pool, gradient)."""
    cache = {}

    def get(kernel, stride, pad, ceil, ties):
        key = (kernel, stride, pad, ceil, ties)
        if key not in cache:
            x, g = T.ftensor4("x"), T.ftensor4("g")
            z = max_pool(x, kernel, stride, pad, ceil, ties)
            cache[key] = theano.function([x, g], [z, T.grad((z * g).sum(), x)])
        return cache[key]
    return get


def test_the_two_rules_differ_on_ties_and_agree_without(compiled):
    rng = np.random.RandomState(3)
    g = rng.randn(1, 1, 4, 4).astype(np.float32)
    first, every = (compiled((3, 3), (2, 2), (0, 0), True, t) for t in ("argmax", "every"))
    flat = np.ones((1, 1, 9, 9), np.float32)   # every pixel a tie
    a, b = first(flat, g)[1], every(flat, g)[1]
    assert a[0, 0, 0, 0] == g[0, 0, 0, 0] and a[0, 0, 0, 1] == 0   # the first pixel only
    assert b[0, 0, 0, 1] == g[0, 0, 0, 0]                          # every tied one
    distinct = rng.permutation(81).astype(np.float32).reshape(1, 1, 9, 9)
    np.testing.assert_array_equal(first(distinct, g)[1], every(distinct, g)[1])


def test_threads_share_the_planes_alike(compiled):
    x = _tied((2, 6, 57, 61), 9)   # enough work to run on several threads
    f = compiled((3, 3), (2, 2), (0, 0), True, "argmax")
    g = np.random.RandomState(2).randn(2, 6, 28, 30).astype(np.float32)
    z, gx = f(x, g)
    top, want = np_max_pool(x[1], 3, 2, 0, g[1])
    np.testing.assert_array_equal(z[1], top)
    np.testing.assert_allclose(gx[1], want, rtol=1e-6, atol=1e-6)


def test_mismatched_pooled_shapes_are_refused():
    x, z, gz = T.ftensor4(), T.ftensor4(), T.ftensor4()
    f = theano.function([x, z, gz], MaxPoolGrad((3, 3), (2, 2))(x, z, gz))
    a = np.zeros((1, 1, 7, 7), np.float32)
    with pytest.raises(ValueError, match="pools to"):
        f(a, np.zeros((1, 1, 2, 3), np.float32), np.zeros((1, 1, 3, 3), np.float32))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="ties"):
        MaxPool((3, 3), (2, 2), ties="all")
    with pytest.raises(ValueError, match="kernel"):
        MaxPool((0, 3), (2, 2))


def test_pooled_length_is_caffes_on_both_axes():
    # stride 3 > kernel 1: unpadded, Caffe keeps a last window that starts past
    # the image (starts 0, 3, 6, 9 of 8 pixels); with padding on the other
    # axis only, it drops it on this axis too (pooling_layer.cpp, Reshape)
    assert pooled_length(8, 1, 3, 0, any_pad=False) == 4
    assert pooled_length(9, 1, 3, 0, any_pad=True) == 3
    assert pooled_length(7, 3, 2, 0) == 3 and pooled_length(8, 3, 2, 0) == 4
