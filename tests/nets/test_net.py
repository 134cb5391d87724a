import numpy as np

from reproduce.backend import T, theano
from reproduce.nets.build import build_net
from reproduce.nets.weights import LayerSpec, Model, dense_to_conv, load_model


def test_roundtrip_and_logit_map(tiny_model, tiny_weights):
    model = load_model(tiny_weights)
    assert model.layer_names() == tiny_model.layer_names()
    np.testing.assert_array_equal(model.layer("fc6").W, tiny_model.layer("fc6").W)
    net = build_net(model)
    f = theano.function([net.input_var], net.output())
    x = np.random.RandomState(1).randn(1, 3, 28, 28).astype(np.float32)
    assert f(x).shape == (1, 1000, 1, 1)
    # fully convolutional: a larger input gives a map of logits
    x = np.random.RandomState(1).randn(1, 3, 44, 60).astype(np.float32)
    assert f(x).shape == (1, 1000, 5, 9)


def test_layers_addressable_by_name(tiny_model):
    net = build_net(tiny_model)
    out = net.output("conv2_1")
    f = theano.function([net.input_var], out)
    assert f(np.zeros((1, 3, 28, 28), np.float32)).shape == (1, 8, 14, 14)


def test_correlation_not_convolution():
    """An off-centre filter tap must shift the image the MatConvNet way."""
    W = np.zeros((1, 1, 3, 3), np.float32)
    W[0, 0, 0, 0] = 1.0  # correlation: out[i, j] = in[i - 1, j - 1]
    model = Model(layers=[LayerSpec("c", "conv", W=W, b=np.zeros(1, np.float32),
                                    pad=(1, 1, 1, 1))])
    net = build_net(model)
    f = theano.function([net.input_var], net.output())
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 5, 5)
    np.testing.assert_array_equal(f(x)[0, 0, 1:, 1:], x[0, 0, :-1, :-1])


def test_dense_and_conv_forms_agree(tiny_model):
    """fc6 stored as a dense matrix (Caffe and Keras orders) gives the same logits."""
    W_conv = tiny_model.layer("fc6").W            # (16, 8, 7, 7)
    n_out, c, h, w = W_conv.shape
    caffe = W_conv.reshape(n_out, -1)              # (n_out, c*h*w)
    keras = W_conv.transpose(2, 3, 1, 0).reshape(-1, n_out)  # (h*w*c, n_out)
    np.testing.assert_array_equal(dense_to_conv(caffe, (c, h, w), "chw"), W_conv)
    np.testing.assert_array_equal(dense_to_conv(keras, (c, h, w), "hwc"), W_conv)

    # the dense form, run as a matrix product on the flattened pool2 output
    net = build_net(tiny_model)
    pool2, logits = net.outputs(["pool2", "fc8"])
    flat = pool2.flatten(2)
    h6 = T.nnet.relu(T.dot(flat, caffe.T) + tiny_model.layer("fc6").b)
    h7 = T.nnet.relu(T.dot(h6, tiny_model.layer("fc7").W[:, :, 0, 0].T)
                     + tiny_model.layer("fc7").b)
    dense_logits = (T.dot(h7, tiny_model.layer("fc8").W[:, :, 0, 0].T)
                    + tiny_model.layer("fc8").b)
    f = theano.function([net.input_var], [logits[:, :, 0, 0], dense_logits])
    x = np.random.RandomState(2).randn(1, 3, 28, 28).astype(np.float32) * 50
    conv_out, dense_out = f(x)
    np.testing.assert_allclose(conv_out, dense_out, rtol=1e-4, atol=1e-4)


def test_corrmm_shares_one_growing_im2col_buffer():
    """backend patches CorrMM to take its im2col buffer from one shared array.
    Convolutions of different sizes, forward and backward, in turn, must
    still match numpy; a smaller one after a larger reuses the same array."""
    from reproduce.ops import corrmm_workspace
    rng = np.random.RandomState(3)
    x, w = T.tensor4("x"), T.tensor4("w")
    y = T.nnet.conv2d(x, w, border_mode=(1, 1), filter_flip=False)
    f = theano.function([x, w], [y, T.grad(y.sum(), x)])
    filters = rng.randn(4, 3, 3, 3).astype(np.float32)
    buffers = []
    for size in (9, 31, 9):
        image = rng.randn(1, 3, size, size).astype(np.float32)
        out, grad = f(image, filters)
        # numpy: each output channel sums 2-D correlations over the input channels
        padded = np.pad(image[0], ((0, 0), (1, 1), (1, 1)))
        want = np.zeros((4, size, size))
        for dy in range(3):
            for dx in range(3):
                want += np.einsum("oc,chw->ohw", filters[:, :, dy, dx],
                                  padded[:, dy:dy + size, dx:dx + size])
        np.testing.assert_allclose(out[0], want, rtol=1e-4, atol=1e-3)
        # d sum(y) / dx at an interior pixel: the sum of all the taps
        np.testing.assert_allclose(grad[0, :, size // 2, size // 2],
                                   filters.sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-4)
        buffers.append(corrmm_workspace.buffer)
        assert buffers[-1].size >= 27 * size * size  # (3 * 3 * 3) x (size * size)
    assert buffers[2] is buffers[1]


def test_relu6_is_clip_values_nan_and_gradient():
    from reproduce.nets.build import relu6
    x = T.fvector("x")
    f = theano.function([x], [relu6(x), T.grad(relu6(x).sum(), x)])
    values = np.array([-1, 0, 0.5, 6, 7, np.nan], np.float32)
    y, g = f(values)
    np.testing.assert_array_equal(y[:5], [0, 0, 0.5, 6, 6])
    assert np.isnan(y[5])  # a diverged image must not be silently masked
    np.testing.assert_array_equal(g[:5], [0, 1, 1, 1, 0])  # clip's: 0 <= x <= 6


def test_pool_ties_on_the_vgg_path_and_the_files_rule(tmp_path):
    """A VGG pool (2x2, stride 2, floor) keeps Theano's rule, every tied
    maximum, by default (the 2015 profiles' "model"); ``pool_ties="argmax"``
    sends each window's gradient to its first maximum, Caffe's rule.  The
    rule is stored with the pool, and files written before it was stored
    read it from the rounding (only the Caffe converter wrote "ceil")."""
    import h5py
    from reproduce.lsd2015.profiles import PROFILES
    from reproduce.nets.weights import save_model
    model = Model(layers=[LayerSpec("pool1", "pool", size=(2, 2), stride=(2, 2))])
    x = np.ones((1, 1, 4, 4), np.float32)           # every window all ties
    grads = {}
    for ties in ("model", "every", "argmax"):
        net = build_net(model, pool_ties=ties)
        grads[ties] = theano.function([net.input_var], T.grad(
            net.output().sum(), net.input_var))(x)[0, 0]
    np.testing.assert_array_equal(grads["model"], np.ones((4, 4)))
    np.testing.assert_array_equal(grads["every"], grads["model"])
    np.testing.assert_array_equal(grads["argmax"], np.tile([[1, 0], [0, 0]], (2, 2)))
    assert {p.pool_ties for p in PROFILES.values()} == {"model"}
    path = str(tmp_path / "pools.h5")
    model.layers.append(LayerSpec("pool2", "pool", size=(3, 3), stride=(2, 2),
                                  rounding="ceil", ties="argmax"))
    save_model(model, path)
    assert [s.ties for s in load_model(path).layers] == ["every", "argmax"]
    with h5py.File(path, "r+") as f:
        for g in f["layers"].values():
            del g.attrs["ties"]
    assert [s.ties for s in load_model(path).layers] == ["every", "argmax"]
