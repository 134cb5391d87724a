"""The 2015 still-image step (train_image.py + models/default_image.py),
written out independently of ``reproduce``'s objective, prior and update,
for the tests to compare our step with.

* the net term: train_image.py:74-90 and :154-155 as Theano code, line by
  line, on a net whose InputLayer has the full image's static shape
  (models/default_image.py:78), so that ``get_output_shape()`` is 2015's;
  Theano takes the mean of an empty slice as NaN, so the loss is NaN here
  exactly as 2015 printed it, while the gradient is finite;
* the prior term: train_image.py:94-120 and :150-151 in numpy, from the raw
  2015 ``.npy`` files: a true convolution with the stored filters (Theano
  0.7's ``conv2d``), in bands of rows to bound the memory;
* the update: models/default_image.py:136-161 in numpy, then the clip of
  train_image.py:219-220.
"""
import os

import numpy as np

NU = 0.665248                        # train_image.py:116
PRIOR_POOLS = (1, 2, 5, 11, 23, 47, 95)  # train_image.py:150
NET_POOLS = (3, 4)                   # train_image.py:154


def meanpool(x, pool):
    """train_image.py:75-83 on (1, C, H, W): crop to a multiple, mean of blocks."""
    x = x[:, :, :x.shape[2] // pool * pool, :x.shape[3] // pool * pool]
    return x.reshape((x.shape[0], x.shape[1], x.shape[2] // pool, pool,
                      x.shape[3] // pool, pool)).mean(axis=(3, 5))


def net_term_function(model, shape, layer="fc8"):
    """f(image (1, 3, H, W) float32, features (2,) int32) -> [n, dn/dx]:
    train_image.py's ``n`` (the negated objective, averaged over the net's
    pools) and its gradient.  ``shape`` = (rows, cols), the static shape."""
    import lasagne
    from reproduce.backend import T, theano
    from reproduce.nets.build import build_net

    assert model.channel_order == "RGB" and model.scale == 1.0
    mean_img = np.float32(model.mean_rgb().astype(np.float32).mean())  # default_image.py:46
    net = build_net(model, input_shape=(1, 3) + tuple(shape))
    to_strengthen = net.layers[layer]
    x = T.tensor4("x")
    interesting_features = T.ivector("features")

    def l_from_network(inp, pool):
        inp = meanpool(inp, pool)
        network_output = lasagne.layers.get_output(
            to_strengthen, {net.input_layer: inp - mean_img}, deterministic=True)
        output_shape = lasagne.layers.get_output_shape(to_strengthen)  # static
        return (-(network_output[0, interesting_features[0], output_shape[2] // 2:, :]).mean()
                - (network_output[0, interesting_features[1], :output_shape[2] // 2, :]).mean()
                + (network_output[0, :, :, :]).mean())

    n = sum([l_from_network(x, pool=p) for p in NET_POOLS]) / len(NET_POOLS)
    return theano.function([x, interesting_features], [n, T.grad(n, x)])


def student_prior(inp, filters, mu, band=128):
    """train_image.py:94-120 for one pooled image (3, h, w) float32:
    (mean over channels and positions of log(1 + (z - mu)^2 / nu), gradient).

    z = conv2d(inp - 128, w) with w = filters.transpose(3, 2, 0, 1), a true
    convolution ('valid'): z[f, i, j] = sum w[f, c, u, v] inp[c, i+7-u, j+7-v],
    i.e. a correlation with the filters flipped in both spatial axes.
    """
    w = np.transpose(filters, (3, 2, 0, 1))[:, :, ::-1, ::-1]  # (192, 3, 8, 8) correlating
    k = w.shape[2]
    flat = np.ascontiguousarray(w.reshape(w.shape[0], -1).T, np.float32)  # (3*8*8, 192)
    x = inp.astype(np.float32) - np.float32(128.0)
    rows, cols = x.shape[1] - k + 1, x.shape[2] - k + 1
    count = float(w.shape[0] * rows * cols)
    energy, grad = 0.0, np.zeros(x.shape, np.float32)
    for top in range(0, rows, band):
        n = min(band, rows - top)
        part = x[:, top:top + n + k - 1]
        windows = np.lib.stride_tricks.sliding_window_view(part, (k, k), axis=(1, 2))
        patches = windows.transpose(1, 2, 0, 3, 4).reshape(n * cols, -1)   # (c, u, v) order
        d = patches.dot(flat) - mu.astype(np.float32)                      # z - mu
        d2 = d * d
        energy += np.log1p(d2 / np.float32(NU)).sum(dtype=np.float64)
        dz = d * (np.float32(2.0 / count) / (np.float32(NU) + d2))
        # back to the pixels: each patch's gradient added where the patch lies
        dpatch = np.ascontiguousarray(dz.dot(flat.T).reshape(n, cols, x.shape[0], k, k)
                                      .transpose(2, 3, 4, 0, 1))         # (c, u, v, n, cols)
        for u in range(k):
            for v in range(k):
                grad[:, top + u:top + u + n, v:v + cols] += dpatch[:, u, v]
    return energy / count, grad


def prior_term(image, folder, strength):
    """train_image.py:151: strength * mean over PRIOR_POOLS of the energy of
    the pooled image, and its gradient w.r.t. ``image`` (1, 3, H, W)."""
    filters = np.load(os.path.join(folder, "student_prior_filters.npy")).astype(np.float32)
    mu = np.load(os.path.join(folder, "student_prior_mean.npy")).astype(np.float32)
    total, grad = 0.0, np.zeros(image.shape, np.float64)
    for p in PRIOR_POOLS:
        e, g = student_prior(meanpool(image.astype(np.float64), p)[0].astype(np.float32),
                             filters, mu)
        total += e
        # d meanpool / dx: each pixel of a p x p block gets 1/p^2 of its block's gradient
        rows, cols = g.shape[1] * p, g.shape[2] * p
        grad[0, :, :rows, :cols] += np.repeat(np.repeat(g, p, axis=1), p, axis=2) / (p * p)
    return strength * total / len(PRIOR_POOLS), strength * grad / len(PRIOR_POOLS)


def adam2015_first_step(x, grad, learning_rate=5.0, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """models/default_image.py:136-161 from zero moments, t = 1, then the clip
    of train_image.py:219-220; float32 as Theano's floatX."""
    f = np.float32
    g = grad.astype(f)
    m = f(beta1) * g + f(1 - beta1) * np.zeros_like(g)
    v = f(beta2) * g * g + f(1 - beta2) * np.zeros_like(g)
    m_unbiased = m / (f(1) - f(1 - beta1) ** f(1))
    v_unbiased = v / (f(1) - f(1 - beta2) ** f(1))
    w = x - f(learning_rate) * m_unbiased / (np.sqrt(v_unbiased) + f(epsilon))
    return np.clip(w, 0.0, 255.0)
