"""The depthwise correlation Ops against numpy, Theano's grouped CorrMM and
finite differences; and the network builder's use of them."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.ops import depthwise
from reproduce.ops.depthwise import DepthwiseCorr, depthwise_corr

# (input shape, kernel, stride, pad): odd sizes so that SAME pads unevenly,
# both strides EfficientNet uses, an uneven stride, asymmetric padding.
CASES = [((2, 5, 9, 11), 3, (1, 1), "same"),
         ((1, 4, 10, 7), 5, (2, 2), "same"),
         ((1, 6, 13, 12), 3, (2, 2), "same"),
         ((1, 3, 8, 8), 3, (2, 1), (1, 0, 2, 1)),
         ((1, 3, 9, 9), 5, (2, 2), (2, 2, 2, 2)),
         ((1, 2, 6, 5), 1, (1, 1), (0, 0, 0, 0)),
         ((1, 2, 7, 7), 4, (1, 1), (1, 2, 2, 1))]  # no specialised kernel: the generic loop


def _case(shape, k, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randn(*shape).astype(np.float32),
            rng.randn(shape[1], 1, k, k).astype(np.float32))


@pytest.fixture(scope="module")
def compiled():
    """f(x, w, gz) -> [y, dL/dx, dL/dw] with L = sum(y * gz), per (stride, pad)."""
    cache = {}

    def get(stride, pad):
        if (stride, pad) not in cache:
            x, w, gz = T.tensor4("x"), T.tensor4("w"), T.tensor4("gz")
            y = depthwise_corr(x, w, stride, pad)
            cache[stride, pad] = theano.function(
                [x, w, gz], [y] + T.grad((y * gz).sum(), [x, w]))
        return cache[stride, pad]
    return get


@pytest.mark.parametrize("shape,k,stride,pad", CASES)
def test_forward_matches_numpy(compiled, shape, k, stride, pad):
    x, w = _case(shape, k)
    expected = depthwise.reference(x, w, stride, pad)
    y, _, _ = compiled(stride, pad)(x, w, np.zeros_like(expected))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_reference_is_an_independent_correlation():
    """The numpy reference itself, on a case worked by hand."""
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 3, 3), np.float32)
    w[0, 0, 0, 2] = 1  # top right tap: out[i, j] = x[i - 1, j + 1] with SAME pads
    out = depthwise.reference(x, w, (1, 1), "same")[0, 0]
    assert out[1, 0] == x[0, 0, 0, 1] and out[0].sum() == 0 and out[:, 3].sum() == 0


def _grouped_corrmm(x, w, gz, stride, pad):
    """[y, d/dx, d/dw] by Theano's own grouped correlation on an explicitly padded input."""
    shape = x.shape
    xs, ws = T.tensor4("x"), T.tensor4("w")
    padded = T.zeros((shape[0], shape[1], shape[2] + pad[0] + pad[1],
                      shape[3] + pad[2] + pad[3]))
    padded = T.set_subtensor(padded[:, :, pad[0]:pad[0] + shape[2],
                                    pad[2]:pad[2] + shape[3]], xs)
    y = T.nnet.conv2d(padded, ws, subsample=stride, filter_flip=False, num_groups=shape[1])
    return theano.function([xs, ws], [y] + T.grad((y * gz).sum(), [xs, ws]))(x, w)


def _assert_same_as_corrmm(compiled, x, w, stride, pad, seed):
    gz = np.random.RandomState(seed).randn(
        *depthwise.reference(x, w, stride, pad).shape).astype(np.float32)
    ours = compiled(stride, pad)(x, w, gz)
    theirs = _grouped_corrmm(x, w, gz, stride, pad)
    for name, a, b in zip(("output", "d/dx", "d/dw"), ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("shape,k,stride,pad", [c for c in CASES if c[3] != "same"])
def test_gradients_match_grouped_corrmm(compiled, shape, k, stride, pad):
    x, w = _case(shape, k, seed=1)
    _assert_same_as_corrmm(compiled, x, w, stride, pad, seed=2)


@pytest.mark.parametrize("shape,k,stride,pad", [c for c in CASES if c[3] == "same"])
def test_gradients_match_finite_differences(shape, k, stride, pad):
    x, w = _case(shape, k, seed=3)
    theano.gradient.verify_grad(lambda a, b: depthwise_corr(a, b, stride, pad), [x, w],
                                rng=np.random.RandomState(4), eps=1e-2,
                                abs_tol=1e-2, rel_tol=1e-2)


def test_large_planes_split_over_threads_match_grouped_corrmm(compiled):
    """Enough work that the planes are shared out over threads (SAME padding
    here would be (1, 2, 1, 2); given explicitly so CorrMM can check it)."""
    x, w = _case((1, 24, 40, 40), 5, seed=5)
    _assert_same_as_corrmm(compiled, x, w, (2, 2), (1, 2, 1, 2), seed=6)


def test_mismatched_filters_are_one_clear_error():
    x, w = _case((1, 4, 8, 8), 3)
    f = theano.function([], depthwise_corr(theano.shared(x), theano.shared(w[:3])))
    with pytest.raises(ValueError, match="4 channels but filters of shape"):
        f()


def test_only_float32():
    with pytest.raises(TypeError, match="float32"):
        depthwise_corr(T.dtensor4(), T.ftensor4())


def test_bad_padding_is_refused():
    with pytest.raises(ValueError, match="pad must be"):
        DepthwiseCorr((1, 1), (1, 1))


def test_the_net_runs_depthwise_layers_with_the_op():
    """A model's depthwise layer compiles to DepthwiseCorr, not a grouped CorrMM,
    and gives what the numpy reference gives."""
    from reproduce.nets.build import build_net
    from reproduce.nets.weights import LayerSpec, Model
    x, w = _case((1, 6, 11, 11), 3, seed=6)
    b = np.linspace(-1, 1, 6).astype(np.float32)
    model = Model(layers=[LayerSpec("dw", "conv", W=w, b=b, pad="same", stride=(2, 2),
                                    groups=6)],
                  model_name="dw", channel_order="RGB",
                  mean=np.zeros(3, np.float32), scale=1.0)
    assert model.layers[0].depthwise
    net = build_net(model, input_shape=(None, 6, None, None))
    f = theano.function([net.input_var], net.output())
    ops = {type(node.op).__name__ for node in f.maker.fgraph.toposort()}
    assert "DepthwiseCorr" in ops and "CorrMM" not in ops
    expected = depthwise.reference(x, w, (2, 2), "same") + b.reshape(1, 6, 1, 1)
    np.testing.assert_allclose(f(x), expected, rtol=1e-5, atol=1e-5)


def test_no_output_is_an_error_not_a_1x1_picture():
    """(2 + 0 - 3) // 2 + 1 is 0 outputs; C's division rounds -1 / 2 to 0."""
    x, w = _case((1, 2, 2, 2), 3)
    f = theano.function([], depthwise_corr(theano.shared(x), theano.shared(w), (2, 2),
                                           (0, 0, 0, 0)))
    with pytest.raises(ValueError, match="leave no output"):
        f()


def test_a_stride_below_one_is_refused():
    with pytest.raises(ValueError, match="stride"):
        DepthwiseCorr((0, 1), "same")


def test_output_types_do_not_borrow_broadcastable_sizes():
    """A batch of 1 known as such (a reshape gives it) must not make the
    filters' gradient (channels, 1, kh, kw) look broadcastable, nor a padded
    size-1 row count stay 'size 1'."""
    flat, w = T.fvector("flat"), T.ftensor4("w")
    x = flat.reshape((1, 3, 5, 5))
    assert x.broadcastable[0]
    gw = T.grad((depthwise_corr(x, w) ** 2).sum(), w)
    assert gw.broadcastable == w.broadcastable
    values, weights = _case((1, 3, 5, 5), 3, seed=7)
    shape, total = theano.function([flat, w], [gw.shape, gw.sum(axis=0)])(
        values.ravel(), weights)
    grad = theano.function([flat, w], gw)(values.ravel(), weights)
    assert tuple(shape) == (3, 1, 3, 3)
    np.testing.assert_allclose(total, grad.sum(axis=0), rtol=1e-5, atol=1e-5)
    row = T.ftensor4("row")
    one_row = T.patternbroadcast(row, (True, False, True, False))
    y = depthwise_corr(one_row, w, (1, 1), (1, 1, 0, 0))
    assert not y.broadcastable[2]
    out = theano.function([row, w], [y, y.shape])(np.ones((1, 3, 1, 4), np.float32),
                                                  np.ones((3, 1, 1, 1), np.float32))
    assert out[0].shape == (1, 3, 3, 4) and tuple(out[1]) == (1, 3, 3, 4)
