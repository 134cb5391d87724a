"""--objective texts -> objectives on a built net; gradients against finite
differences on the tiny net."""
import numpy as np
import pytest

from reproduce import objectives as obj
from reproduce.backend import T, theano
from reproduce.errors import UserError


@pytest.fixture(scope="module")
def net(tiny_model):
    from reproduce.nets.build import build_net
    return build_net(tiny_model)


def compiled(net, objective):
    """f(pixels (N, 3, H, W) on 0..255) -> the objective."""
    from reproduce.nets.build import preprocess
    pixels = T.tensor4("pixels")
    return theano.function([pixels], objective(net.activations(preprocess(pixels, net.model))))


def outputs(net, names, x):
    from reproduce.nets.build import preprocess
    pixels = T.tensor4("pixels")
    return theano.function([pixels], net.outputs(names, preprocess(pixels, net.model)))(x)


def pixels(n=1, rows=32, cols=32, seed=0):
    return (128 + 40 * np.random.RandomState(seed).randn(n, 3, rows, cols)).astype(np.float32)


@pytest.mark.parametrize("spec, expected", [
    ("relu2_1:3", "relu2_1:3"),
    ("conv2_1:3", "relu2_1:3"),                # a conv name means its output after the ReLU
    ("conv2_1/pre_relu:3", "conv2_1:3"),       # ... unless it says otherwise
    ("relu2_1/pre_relu:3", "conv2_1:3"),
    ("-relu2_1:3", "-(relu2_1:3)"),
    ("relu2_1:3@centre", "relu2_1:3@centre"),
    ("relu2_1:3@center", "relu2_1:3@centre"),
    ("relu2_1:3@4,2", "relu2_1:3@4,2"),
    ("relu1_2", "l2(relu1_2)"),
    ("class:bee", "logit[309]"),
    ("class:309", "logit[309]"),
    ("diversity:relu1_2", "diversity(relu1_2)"),
    ("relu2_1:3 + 0.5*relu1_2:1 - diversity:relu1_2",
     "relu2_1:3 + 0.5 * relu1_2:1 + -(diversity(relu1_2))"),
    ("-relu2_1:3 -2*relu2_1:4", "-(relu2_1:3) + -(2 * relu2_1:4)"),
])
def test_the_grammar(net, spec, expected):
    assert obj.parse(spec, net).name == expected


def test_parsed_values_are_the_layer_outputs(net):
    x = pixels(n=2)
    relu21, relu12, fc8, conv21 = outputs(net, ["relu2_1", "relu1_2", "fc8", "conv2_1"], x)
    assert conv21.min() < 0 < conv21.max()
    cases = {
        "relu2_1:3": relu21[:, 3].mean(),
        "conv2_1:3": relu21[:, 3].mean(),
        "relu2_1/pre_relu:3": conv21[:, 3].mean(),
        "-relu2_1:3": -relu21[:, 3].mean(),
        "relu2_1:3@centre": relu21[:, 3, 4, 4].mean(),
        "relu2_1:3@5,1": relu21[:, 3, 1, 5].mean(),
        "relu1_2": 0.5 * (relu12 ** 2).mean(),
        "class:bee": fc8[0, 309].mean(),
        "relu2_1:3 + 0.5*relu1_2:1": relu21[:, 3].mean() + 0.5 * relu12[:, 1].mean(),
        "diversity:relu1_2": lucid_diversity(relu12),
    }
    for spec, expected in cases.items():
        value = compiled(net, obj.parse(spec, net))(x)
        np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-6, err_msg=spec)


def lucid_diversity(a):
    from test_objectives import lucid_diversity as lucid
    return lucid(a)


@pytest.mark.parametrize("spec", ["relu2_1:3@centre - 0.3*relu1_2",
                                  "relu2_1:3@5,1 + 2*relu1_2:1",
                                  "class:bee - class:1 + 10*diversity:relu1_2",
                                  "-diversity:relu2_1"])
def test_gradients_match_finite_differences(net, spec):
    """Parsed on the tiny net, evaluated in float64 on random maps of its
    layers' shapes for a batch of two (two noise images would give nearly
    equal Gram matrices, where diversity is flat): the derivative along a
    random direction, central differences against Theano's gradient."""
    objective = obj.parse(spec, net)
    names = ["relu1_2", "relu2_1", "fc8"]
    rng = np.random.RandomState(1)
    values = {name: rng.randn(2, *net.output_shape(32, 32, name)[1:]) for name in names}
    shared = {k: theano.shared(v.astype(np.float64)) for k, v in values.items()}
    value = objective(lambda name: shared[name])
    f = theano.function([], [value] + T.grad(value, list(shared.values()),
                                             disconnected_inputs="ignore"))
    _, *grads = f()
    directions = {k: rng.randn(*v.shape) for k, v in values.items()}
    analytic = sum(float((g * directions[k]).sum()) for k, g in zip(shared, grads))

    def at(eps):
        for k, v in values.items():
            shared[k].set_value(v.astype(np.float64) + eps * directions[k])
        return float(f()[0])
    eps = 1e-4
    numeric = (at(eps) - at(-eps)) / (2 * eps)
    assert abs(analytic) > 1e-3
    np.testing.assert_allclose(numeric, analytic, rtol=1e-5)


@pytest.mark.parametrize("spec, words", [
    ("relu4_3:76", "did you mean"),
    ("rleu2_1:3", "did you mean relu2_1"),
    ("relu2_1:99", "has 8 channels (0..7), not 99"),
    ("relu2_1:x", "channel 'x' must be a whole number"),
    ("relu2_1:-1", "channel '-1'"),
    ("relu2_1:3@middle", "after @ write centre or a position X,Y"),
    ("relu2_1:3@a,1", "column 'a'"),
    ("nan*relu2_1:3", "finite number other than 0"),
    ("inf*relu2_1:3", "finite number other than 0"),
    ("0*relu2_1:3", "finite number other than 0"),
    ("two*relu2_1:3", "cannot read the weight 'two'"),
    ("relu2_1:3 + ", "a term is empty"),
    ("", "empty objective"),
    ("class:no such thing", "unknown class"),
    ("diversity:nope", "unknown layer 'nope'"),
    ("rleu2_1/pre_relu:3", "unknown layer 'rleu2_1'"),
])
def test_bad_specs_are_one_clear_error(net, spec, words):
    with pytest.raises(UserError) as error:
        obj.parse(spec, net)
    assert words in str(error.value)
    assert "\n" not in str(error.value)


def test_a_position_off_the_map_is_refused_before_compiling(net):
    objective = obj.parse("relu2_1:3@20,1", net)
    objective.check(net, 96, 96)          # 48 columns at 96 pixels (one pool before)
    with pytest.raises(UserError, match="map is 16x16"):
        objective.check(net, 32, 32)


def test_a_feature_extractor_has_no_classes(net):
    import dataclasses
    from reproduce.nets.build import build_net
    bare = build_net(dataclasses.replace(net.model, descriptions=None, wnids=None))
    with pytest.raises(UserError, match="has no class names"):
        obj.parse("class:bee", bare)
