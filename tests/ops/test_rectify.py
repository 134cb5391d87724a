"""The ReLU Ops give bit for bit Theano's T.nnet.relu and its fused gradient, on several threads."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.ops.rectify import Rectify, RectifyGrad, rectify


def _values(shape, seed):
    """Random values with the awkward ones planted: 0, -0, NaN, +-inf, subnormals, huge."""
    rng = np.random.RandomState(seed)
    v = (rng.randn(*shape) * 10.0 ** rng.randint(-3, 4, shape)).astype(np.float32)
    flat = v.reshape(-1)
    special = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-40, -1e-40, 3e38, -3e38,
                        np.float32(1.4e-45)], np.float32)
    idx = rng.choice(flat.size, min(flat.size, 4 * special.size), replace=False)
    flat[idx] = np.resize(special, idx.size)
    return v


@pytest.fixture(scope="module")
def both():
    """f(x, gz) -> [ours, theirs, our gradient, their gradient]."""
    x, gz = T.ftensor4("x"), T.ftensor4("gz")
    ours, theirs = rectify(x), T.nnet.relu(x)
    return theano.function([x, gz], [ours, theirs,
                                      theano.grad(None, x, known_grads={ours: gz}),
                                      theano.grad(None, x, known_grads={theirs: gz})])


# (1, 9, 91, 97): enough elements that they are shared out over threads
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (1, 9, 91, 97)])
def test_relu_and_gradient_are_theanos_bit_for_bit(both, shape):
    x, gz = _values(shape, sum(shape)), _values(shape, 1 + sum(shape))
    y, ty, gx, tgx = both(x, gz)
    assert y.shape == gx.shape == x.shape
    np.testing.assert_array_equal(y.view(np.uint32), ty.view(np.uint32))
    np.testing.assert_array_equal(gx.view(np.uint32), tgx.view(np.uint32))
    zero = (x == 0) & (gz != 0) & np.isfinite(gz)
    assert np.all(gx[zero] == 0.5 * gz[zero])  # Theano's odd half at 0
    assert zero.any() or x.size < 100


def test_the_gradient_graph_uses_our_ops(both):
    kinds = {type(node.op) for node in both.maker.fgraph.toposort()}
    assert Rectify in kinds and RectifyGrad in kinds


def test_other_dtypes_fall_back_to_theano_and_shapes_are_checked():
    d = T.dmatrix()
    assert not any(isinstance(node.op, Rectify)
                   for node in theano.function([d], rectify(d)).maker.fgraph.toposort())
    with pytest.raises(TypeError, match="float32"):
        Rectify()(d)
    with pytest.raises(TypeError, match="3-D, its gradient 2-D"):
        RectifyGrad()(T.ftensor3(), T.fmatrix())
    x, g = T.fmatrix(), T.fmatrix()
    f = theano.function([x, g], RectifyGrad()(x, g))
    with pytest.raises(ValueError, match="want the same shape"):
        f(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))


def test_second_derivative_is_linear_in_gz():
    x, gz, gg = T.fvector(), T.fvector(), T.fvector()
    out = RectifyGrad()(x, gz)
    dx, dgz = theano.grad(None, [x, gz], known_grads={out: gg})
    f = theano.function([x, gz, gg], [dx, dgz], on_unused_input="ignore")
    xv = np.array([-1, 0, 2], np.float32)
    a, b = f(xv, np.ones(3, np.float32), np.array([1, 2, 3], np.float32))
    np.testing.assert_array_equal(a, [0, 0, 0])
    np.testing.assert_array_equal(b, [0, 1, 3])
