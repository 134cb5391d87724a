"""The 2015 update rule against steps computed by hand from its formulas."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.updates import make_rule


def compiled_step(name, x0, lr, clip=None):
    x = theano.shared(x0.copy())
    g = T.matrix("g")
    rule = make_rule(name, x)
    step = theano.function([g], [], updates=rule.updates(g, np.float32(lr), clip))
    return x, rule, step


def test_adam2015_matches_hand_computed_steps():
    x0 = np.array([[10.0, 200.0, 128.0]], np.float32)
    grads = [np.array([[1.0, -2.0, 0.5]], np.float32),
             np.array([[-3.0, 0.25, 0.5]], np.float32)]
    x, rule, step = compiled_step("adam2015", x0, lr=5.0)

    # By hand, the 2015 way: m <- 0.9 g + 0.1 m; correction 1 - 0.1^t.
    m = v = np.zeros(3)
    expected = x0.astype(np.float64)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * g + 0.1 * m
        v = 0.999 * g ** 2 + 0.001 * v
        mhat, vhat = m / (1 - 0.1 ** t), v / (1 - 0.001 ** t)
        expected = expected - 5.0 * mhat / (np.sqrt(vhat) + 1e-8)
        step(g)
        np.testing.assert_allclose(x.get_value(), expected, rtol=1e-5)

    # First step by hand, in numbers: mhat = g, vhat = g^2, so x moves by lr*sign(g).
    x, rule, step = compiled_step("adam2015", x0, lr=5.0)
    step(grads[0])
    np.testing.assert_allclose(x.get_value(), [[5.0, 205.0, 123.0]], rtol=1e-6)


def test_second_step_differs_from_published_adam():
    """The swapped moment weights are what makes the 2015 rule the 2015 rule."""
    x0 = np.zeros((1, 2), np.float32)
    g1, g2 = np.array([[1.0, 1.0]], np.float32), np.array([[-1.0, 0.1]], np.float32)
    results = {}
    for name in ("adam2015", "adam"):
        x, rule, step = compiled_step(name, x0, lr=1.0)
        step(g1)
        step(g2)
        results[name] = x.get_value()
    # Published Adam, by hand: m = 0.9*0.1*1 + 0.1*g2 ...
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1 ** 2) + 0.001 * g2 ** 2
    step1 = -1.0 * g1 / np.abs(g1)  # first Adam step moves by lr*sign(g)
    expected = step1 - (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(results["adam"], expected, rtol=1e-4)
    assert not np.allclose(results["adam2015"], results["adam"], atol=1e-3)


def test_reset_restarts_t_and_moments_and_clip_holds():
    x0 = np.array([[254.0, 1.0]], np.float32)
    x, rule, step = compiled_step("adam2015", x0, lr=5.0, clip=(0.0, 255.0))
    step(np.array([[-1.0, 1.0]], np.float32))
    np.testing.assert_array_equal(x.get_value(), [[255.0, 0.0]])  # clipped
    step(np.array([[1.0, 1.0]], np.float32))
    assert int(rule.t.get_value()) == 3
    rule.reset()
    assert int(rule.t.get_value()) == 1
    assert not rule.m.get_value().any() and not rule.v.get_value().any()
    before = x.get_value().copy()
    step(np.array([[1.0, -1.0]], np.float32))  # after a reset: a first step again
    np.testing.assert_allclose(x.get_value(), np.clip(before + [[-5.0, 5.0]], 0, 255))


def test_unknown_rule_is_a_user_error():
    from reproduce.errors import UserError
    with pytest.raises(UserError, match="adam2015"):
        make_rule("sgd", theano.shared(np.zeros((1, 1), np.float32)))
