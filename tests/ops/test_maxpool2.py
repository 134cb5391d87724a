"""The 2x2 stride-2 max-pool Ops against Theano's own Pool and MaxPoolGrad, bit for bit."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.ops.maxpool2 import MaxPool2Grad, applies, max_pool2
from theano.tensor.signal.pool import pool_2d


@pytest.fixture(scope="module")
def both():
    """f(x, g) -> [ours: pool, d sum(pool * g) / dx; Theano's: the same two]."""
    x, g = T.ftensor4("x"), T.ftensor4("g")
    ours = max_pool2(x)
    theirs = pool_2d(x, (2, 2), ignore_border=True, stride=(2, 2), pad=(0, 0), mode="max")
    return theano.function([x, g], [ours, T.grad((ours * g).sum(), x),
                                    theirs, T.grad((theirs * g).sum(), x)])


def _tied(shape, seed):
    """Few distinct values (many ties within a window), a NaN, signed zeros."""
    rng = np.random.RandomState(seed)
    x = rng.randint(-2, 3, shape).astype(np.float32)
    x.flat[rng.randint(0, x.size, 5)] = -0.0
    x.flat[3] = np.nan
    return x


# (2, 5, 97, 135): enough pixels that the planes are shared out over threads
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (2, 3, 7, 9), (1, 4, 10, 6), (1, 2, 1, 5),
                                   (1, 1, 33, 65), (2, 5, 97, 135)])
def test_pool_and_gradient_are_theanos_bit_for_bit(both, shape):
    x = _tied(shape, sum(shape))
    g = np.random.RandomState(1).randn(*shape[:2], shape[2] // 2, shape[3] // 2).astype(np.float32)
    g.flat[:3] = -0.0   # Theano adds gz to a zero: a -0 gradient arrives as +0
    z, gx, tz, tgx = both(x, g)
    assert z.shape == tz.shape and gx.shape == tgx.shape == x.shape
    # byte comparison: NaN where Theano has NaN, +0 where it has +0
    assert z.tobytes() == tz.tobytes()
    assert gx.tobytes() == tgx.tobytes()
    if shape[2] > 2:   # ties: a window of equal maxima passes gz to each of them
        assert (np.count_nonzero(gx) > np.count_nonzero(g))


def test_the_gradient_graph_uses_our_op(both):
    nodes = [n.op for n in both.maker.fgraph.toposort()]
    assert any(isinstance(op, MaxPool2Grad) for op in nodes)


def test_mismatched_pooled_shapes_are_refused():
    x, z, gz = T.ftensor4(), T.ftensor4(), T.ftensor4()
    f = theano.function([x, z, gz], MaxPool2Grad()(x, z, gz))
    a = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match="pools to"):
        f(a, np.zeros((1, 1, 2, 3), np.float32), np.zeros((1, 1, 2, 2), np.float32))


def test_only_the_2015_case_applies():
    assert applies((2, 2), (2, 2), (0, 0), True, "max")
    assert not applies((3, 3), (2, 2), (0, 0), True, "max")
    assert not applies((2, 2), (2, 2), (1, 1), True, "max")
    assert not applies((2, 2), (2, 2), (0, 0), False, "max")
    assert not applies((2, 2), (2, 2), (0, 0), True, "average_inc_pad")
    assert not applies((2, 2), (2, 2), (0, 0), True, "max", "float64")


def test_the_gradients_gradient_is_theanos():
    x, g, h = T.ftensor4("x"), T.ftensor4("g"), T.ftensor4("h")
    outs = []
    for pooled in (max_pool2(x), pool_2d(x, (2, 2), ignore_border=True, mode="max")):
        gx = T.grad((pooled * g).sum(), x)
        outs.append(T.grad((gx * h).sum(), g))
    f = theano.function([x, g, h], outs)
    x_v = _tied((1, 2, 5, 6), 4)
    rng = np.random.RandomState(5)
    ours, theirs = f(x_v, rng.randn(1, 2, 2, 3).astype(np.float32),
                     rng.randn(1, 2, 5, 6).astype(np.float32))
    np.testing.assert_array_equal(ours, theirs)
