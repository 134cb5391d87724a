"""The weighted gather Ops behind the rotation, against numpy."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.ops.gather import weighted_gather


@pytest.fixture(scope="module")
def gather():
    """f(x, index, weight, g) -> [y, d sum(y * g) / dx]."""
    x, g = T.fmatrix("x"), T.fmatrix("g")
    index, weight = T.lmatrix("index"), T.fmatrix("weight")
    y = weighted_gather(x, index, weight)
    return theano.function([x, index, weight, g], [y, T.grad((y * g).sum(), x)])


def _case(channels=3, n=50, k=4, m=70, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randn(channels, n).astype(np.float32), rng.randint(0, n, (k, m)),
            rng.rand(k, m).astype(np.float32), rng.randn(channels, m).astype(np.float32))


def test_gather_and_its_gradient_match_numpy(gather):
    x, index, weight, g = _case()
    y, gx = gather(x, index, weight, g)
    np.testing.assert_allclose(y, (weight[None] * x[:, index]).sum(axis=1), rtol=1e-5, atol=1e-5)
    expected = np.zeros_like(x)
    for t in range(index.shape[0]):  # repeated indices must add up, as np.add.at does
        np.add.at(expected, (slice(None), index[t]), weight[t] * g)
    np.testing.assert_allclose(gx, expected, rtol=1e-5, atol=1e-5)


def test_gradient_matches_finite_differences():
    _, index, weight, _ = _case(channels=2, n=6, k=3, m=5, seed=1)
    x = np.random.RandomState(2).rand(2, 6).astype(np.float32)
    theano.gradient.verify_grad(
        lambda a: weighted_gather(a, T.constant(index.astype(np.int64)), T.constant(weight)),
        [x], rng=np.random.RandomState(3), eps=1e-2, abs_tol=1e-2, rel_tol=1e-2)


def test_an_index_out_of_range_is_one_clear_error(gather):
    x, index, weight, g = _case()
    index[1, 7] = 50
    with pytest.raises(IndexError, match="index 50 out of 0..49"):
        gather(x, index, weight, g)


def test_mismatched_weights_are_refused(gather):
    x, index, weight, g = _case()
    with pytest.raises(ValueError, match="do not fit"):
        gather(x, index, weight[:, :-1], g)


def test_only_float32_values_and_int64_indices():
    with pytest.raises(TypeError, match="float32"):
        weighted_gather(T.dmatrix(), T.lmatrix(), T.fmatrix())
