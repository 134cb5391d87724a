"""Objectives compose, and the 2015 regions aim at the right rows."""
import dataclasses

import numpy as np
import pytest

from reproduce import objectives as obj
from reproduce.backend import T, theano


def evaluate(objective, values):
    """Evaluate an objective on fixed activations {layer: (1, K, R, C) array}."""
    shared = {k: theano.shared(v.astype(np.float32)) for k, v in values.items()}
    return float(theano.function([], objective(lambda name: shared[name]))())


def logit_map(rows=4, cols=3, k=5):
    return np.arange(k * rows * cols, dtype=np.float32).reshape(1, k, rows, cols)


def test_regions_follow_the_2015_rows():
    m = logit_map()
    acts = {"fc8": m}
    # 2015: feature 0 on rows R//2.., feature 1 on rows ..R//2
    assert evaluate(obj.class_logit(2, region="lower"), acts) == m[0, 2, 2:].mean()
    assert evaluate(obj.class_logit(2, region="upper"), acts) == m[0, 2, :2].mean()
    assert evaluate(obj.class_logit(2), acts) == m[0, 2].mean()


def loss_and_gradient(objective, m):
    """(loss, d loss / d map) with loss = -objective, on a fixed map (1, K, R, C)."""
    shared = theano.shared(m.astype(np.float32))
    loss = -objective(lambda name: shared)
    value, grad = theano.function([], [loss, T.grad(loss, shared)])()
    return float(value), np.asarray(grad)


def l_from_network_2015(m, features, half):
    """train_image.py:86-89 in numpy on a logit map m (1, K, R, C), with the
    half-way row ``half`` = output_shape[2]/2 from the static shape: -> the
    loss 2015 printed, and its gradient w.r.t. m, written out (the mean of
    an empty slice is NaN in the loss and contributes no gradient)."""
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        loss = (-(m[0, features[0], half:, :]).mean()
                - (m[0, features[1], :half, :]).mean() + (m[0, :, :, :]).mean())
    grad = np.full(m.shape, 1.0 / m[0].size)
    for f, rows in ((features[0], slice(half, None)), (features[1], slice(None, half))):
        cells = m[0, f, rows].size
        if cells:
            grad[0, f, rows] -= 1.0 / cells
    return loss, grad


def check_one_class_covers_the_map(m, features, half, whole):
    """Ours against the 2015 formula where one slice is empty and the class
    ``whole`` covers the map: a finite loss where 2015's was NaN, the same
    gradient, -1/n + 1/(n K) per cell of ``whole`` (n cells per class) and
    1/(n K) on every other class.  Returns our gradient."""
    loss, grad = loss_and_gradient(obj.lsd2015(*features, half=half), m)
    loss2015, grad2015 = l_from_network_2015(m, features, half)
    assert np.isnan(loss2015) and np.isfinite(loss)
    np.testing.assert_allclose(loss, -m[0, whole].mean() + m.mean(), rtol=1e-5)
    np.testing.assert_allclose(grad, grad2015, rtol=1e-5, atol=1e-9)
    n, k = m[0, 0].size, m.shape[1]
    others = [c for c in range(k) if c != whole]
    np.testing.assert_allclose(grad[0, whole], -1.0 / n + 1.0 / (n * k), rtol=1e-5)
    np.testing.assert_allclose(grad[0, others], 1.0 / (n * k), rtol=1e-5)
    return grad


def test_the_2015_still_image_objective_on_a_pooled_map():
    """image2015 on hd1.jpg: the full-size map has 27 rows, so row 13; the
    map of the image pooled by 3 has 5 rows and 14 columns.  The lower slice
    [13:] is empty (2015 printed NaN); the upper covers the whole map: the
    second class gets -1/70 + 1/(70 K) in every cell, all rows alike."""
    k = 6
    m = np.random.RandomState(0).randn(1, k, 5, 14).astype(np.float32)
    grad = check_one_class_covers_the_map(m, (1, 4), 13, whole=4)
    np.testing.assert_allclose(grad[0, 4], -1 / 70.0 + 1 / (70.0 * k), rtol=1e-5)
    # our option, each map halved: rows 2.. for class 1, rows ..1 for class 4
    _, per_map = loss_and_gradient(obj.lsd2015(1, 4), m)
    np.testing.assert_allclose(per_map[0, 4, :2], -1 / 28.0 + 1 / (70.0 * k), rtol=1e-5)
    np.testing.assert_allclose(per_map[0, 1, 2:], -1 / 42.0 + 1 / (70.0 * k), rtol=1e-5)


def test_one_row_maps_give_the_lower_class_the_whole_map():
    """One row: H/2 = 0, so 2015's upper slice [:0] is empty and the lower
    class [0:] runs alone over the map; the optimisation goes on."""
    m = np.random.RandomState(1).randn(1, 5, 1, 7).astype(np.float32)
    check_one_class_covers_the_map(m, (2, 3), 0, whole=2)


def test_per_map_halves_give_a_single_row_to_both_classes():
    m = logit_map(rows=1)
    assert evaluate(obj.class_logit(1, region="upper"), {"fc8": m}) == m[0, 1, 0].mean()
    assert evaluate(obj.class_logit(1, region="lower"), {"fc8": m}) == m[0, 1, 0].mean()


def test_the_half_way_row_comes_from_the_full_size_map():
    """image2015 on a VGG-16-shaped net (one channel per layer: only the
    shapes matter): hd1.jpg's 1920x1080 map has 27 rows, so row 13, while
    the images pooled by 3 and 4 give maps of 5 and 2 rows."""
    from reproduce.lsd2015.profiles import IMAGE2015
    from reproduce.nets.build import build_net
    net = build_net(vgg16_shaped())
    assert net.output_shape(1080, 1920, "fc8")[2:] == (27, 54)
    assert [net.output_shape(1080 // s, 1920 // s, "fc8")[2] for s in (3, 4)] == [5, 2]
    assert IMAGE2015.half_row_index(net) == 13
    assert dataclasses.replace(IMAGE2015, half_row="per_map").half_row_index(net) is None


def vgg16_shaped():
    from reproduce.nets.weights import LayerSpec, Model

    def conv(name, k, pad):
        return LayerSpec(name, "conv", W=np.ones((1, 1, k, k), np.float32),
                         b=np.zeros(1, np.float32), pad=(pad,) * 4, stride=(1, 1))
    layers = []
    for block, n in enumerate((2, 2, 3, 3, 3), 1):
        layers += [conv("conv%d_%d" % (block, i), 3, 1) for i in range(1, n + 1)]
        layers.append(LayerSpec("pool%d" % block, "pool", size=(2, 2), stride=(2, 2)))
    layers += [conv("fc6", 7, 0), conv("fc7", 1, 0), conv("fc8", 1, 0)]
    layers[0] = LayerSpec("conv1_1", "conv", W=np.ones((1, 3, 3, 3), np.float32),
                          b=np.zeros(1, np.float32), pad=(1,) * 4, stride=(1, 1))
    return Model(layers=layers, model_name="vgg16-shaped", channel_order="RGB",
                 mean=np.zeros(3, np.float32), image_shape=(224, 224))


def test_lsd2015_is_an_expression_of_the_pieces():
    m = np.random.RandomState(0).randn(1, 5, 4, 3).astype(np.float32)
    acts = {"fc8": m}
    expected = m[0, 1, 2:].mean() + m[0, 3, :2].mean() - m.mean()
    np.testing.assert_allclose(evaluate(obj.lsd2015(1, 3), acts), expected, rtol=1e-5)
    composed = (obj.class_logit(1, region="lower") + obj.class_logit(3, region="upper")
                - obj.mean_logits())
    np.testing.assert_allclose(evaluate(composed, acts), expected, rtol=1e-5)
    np.testing.assert_allclose(evaluate(2 * obj.lsd2015(1, 3) - 1.5, acts),
                               2 * expected - 1.5, rtol=1e-5)


def test_layer_objectives():
    a = np.random.RandomState(1).randn(1, 4, 5, 6).astype(np.float32)
    acts = {"conv": a}
    np.testing.assert_allclose(evaluate(obj.layer_l2("conv"), acts),
                               0.5 * (a ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(evaluate(obj.layer_l2("conv", 2), acts),
                               0.5 * (a[:, 2] ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(evaluate(obj.channel("conv", 3), acts), a[0, 3].mean(),
                               rtol=1e-5)
    assert evaluate(obj.neuron("conv", 1), acts) == a[0, 1, 2, 3]


def test_guide_matches_each_position_to_its_best_guide_feature():
    a = np.random.RandomState(2).randn(1, 3, 2, 2).astype(np.float32)
    guide = np.random.RandomState(3).randn(3, 4).astype(np.float32)
    x = a[0].reshape(3, -1)
    best = guide[:, (x.T @ guide).argmax(axis=1)]
    expected = (x * best).sum() / x.shape[1]
    value = evaluate(obj.guide("conv", T.constant(guide)), {"conv": a})
    np.testing.assert_allclose(value, expected, rtol=1e-5)


# -- unit objectives: channel, neuron, diversity, their algebra ---------------------------

def batch_acts(n=3, k=4, rows=5, cols=6, seed=4):
    return np.random.RandomState(seed).randn(n, k, rows, cols).astype(np.float32)


def test_a_channel_is_the_mean_of_its_slice_over_positions_and_batch():
    a = batch_acts()
    np.testing.assert_allclose(evaluate(obj.channel("conv", 2), {"conv": a}),
                               a[:, 2].mean(), rtol=1e-5)


def test_a_neuron_is_one_position_of_its_channel():
    a = batch_acts()
    np.testing.assert_allclose(evaluate(obj.neuron("conv", 1), {"conv": a}),
                               a[:, 1, 2, 3].mean(), rtol=1e-5)   # the centre: 5//2, 6//2
    np.testing.assert_allclose(evaluate(obj.neuron("conv", 1, x=4, y=0), {"conv": a}),
                               a[:, 1, 0, 4].mean(), rtol=1e-5)


def test_sums_negatives_and_weights_are_those_of_the_values():
    a = batch_acts()
    acts = {"conv": a}
    parts = [obj.channel("conv", 0), obj.neuron("conv", 3), obj.layer_l2("conv", 1),
             obj.diversity("conv")]
    values = [evaluate(p, acts) for p in parts]
    np.testing.assert_allclose(evaluate(sum(parts), acts), sum(values), rtol=1e-5)
    np.testing.assert_allclose(evaluate(-parts[0], acts), -values[0], rtol=1e-6)
    np.testing.assert_allclose(evaluate(parts[1] - 2.5 * parts[2], acts),
                               values[1] - 2.5 * values[2], rtol=1e-5)
    assert sum(parts).name == "conv:0 + conv:3@centre + l2(conv:1) + diversity(conv)"


def lucid_diversity(a):
    """Lucid's diversity (lucid/optvis/objectives.py) in numpy, its sign
    flipped: each image's Gram matrix over positions, normalised, the
    similarity summed over ordered pairs, over the batch size."""
    n, k = a.shape[:2]
    flat = a.reshape(n, k, -1).astype(np.float64)
    grams = [f @ f.T for f in flat]
    grams = [g / np.sqrt((g * g).sum()) for g in grams]
    return -sum((grams[i] * grams[j]).sum() for i in range(n) for j in range(n)
                if i != j) / n


def test_diversity_is_lucids_negated():
    a = batch_acts()
    np.testing.assert_allclose(evaluate(obj.diversity("conv"), {"conv": a}),
                               lucid_diversity(a), rtol=1e-5)
    # one image: no pairs; n copies of one image: every cosine is 1, so -(n - 1)
    assert evaluate(obj.diversity("conv"), {"conv": a[:1]}) == 0
    np.testing.assert_allclose(evaluate(obj.diversity("conv"),
                                        {"conv": np.repeat(a[:1], 4, axis=0)}), -3, rtol=1e-5)
