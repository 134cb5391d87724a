"""Objectives compose, and the 2015 regions aim at the right rows."""
import numpy as np

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


def test_single_row_maps_aim_both_halves_at_row_zero():
    m = logit_map(rows=1)
    assert evaluate(obj.class_logit(1, region="upper"), {"fc8": m}) == m[0, 1, 0].mean()
    assert evaluate(obj.class_logit(1, region="lower"), {"fc8": m}) == m[0, 1, 0].mean()


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
