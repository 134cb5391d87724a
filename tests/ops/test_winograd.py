"""Winograd Ops: against numpy (float64) and CorrMM on odd sizes, gradients
against finite differences, clear errors for bad shapes, the net builder's choice."""
import numpy as np
import pytest

from reproduce.backend import T, theano
from reproduce.ops import winograd as W
from reproduce.ops import winograd_choice

# float32 error bound, relative to max|ref|, on these small cases (measured
# <= 2e-7 for tile 2 and <= 3e-6 for tile 4; docs/winograd.md)
BOUND = {2: 1e-6, 4: 1e-5}


@pytest.fixture(scope="module")
def compiled():
    """{tile: f(x, w, gz) -> [y, d(y . gz)/dx]}, and CorrMM's twin under "corrmm"."""
    x, w, gz = T.ftensor4("x"), T.ftensor4("w"), T.ftensor4("gz")
    out = {}
    for tile in W.TILES + ("corrmm",):
        if tile == "corrmm":
            y = T.nnet.conv2d(x, w, border_mode=(1, 1), filter_flip=False)
        else:
            y = W.winograd_corr(x, w, tile)
        out[tile] = theano.function([x, w, gz], [y, theano.grad(None, x, known_grads={y: gz})])
    return out


def _case(batch, c_in, c_out, rows, cols, seed):
    rng = np.random.RandomState(seed)
    return (rng.randn(batch, c_in, rows, cols).astype(np.float32),
            rng.randn(c_out, c_in, 3, 3).astype(np.float32),
            rng.randn(batch, c_out, rows, cols).astype(np.float32))


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


# (batch, in, out, rows, cols): 1x1 to 17x23 images, 1 to 64 channels, batch 1
# and 2, and widths where 8 tiles side by side fit (the vector path)
CASES = [(1, 1, 1, 1, 1), (2, 1, 3, 1, 5), (1, 3, 2, 2, 2), (2, 5, 7, 3, 4),
         (1, 64, 1, 7, 9), (2, 2, 64, 17, 23), (1, 16, 24, 17, 23), (2, 3, 5, 9, 41),
         (1, 4, 6, 13, 77)]


@pytest.mark.parametrize("tile", W.TILES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c)))
def test_forward_and_input_gradient_match_numpy_and_corrmm(compiled, tile, case):
    x, w, gz = _case(*case, seed=sum(case))
    y, gx = compiled[tile](x, w, gz)
    flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    assert y.shape == (case[0], case[2]) + case[3:] and gx.shape == x.shape
    assert _rel(y, W.reference(x, w)) < BOUND[tile]
    assert _rel(gx, W.reference(gz, flipped)) < BOUND[tile]
    y_mm, gx_mm = compiled["corrmm"](x, w, gz)
    assert _rel(y, y_mm) < BOUND[tile] and _rel(gx, gx_mm) < BOUND[tile]


def test_tile_4_loses_more_accuracy_than_tile_2_but_stays_small(compiled):
    """The stated numerics: F(4x4) is less accurate than F(2x2) in float32."""
    x, w, gz = _case(1, 64, 64, 20, 80, seed=3)
    ref = W.reference(x, w)
    e2 = _rel(compiled[2](x, w, gz)[0], ref)
    e4 = _rel(compiled[4](x, w, gz)[0], ref)
    assert e2 < e4 < 1e-5


@pytest.mark.parametrize("tile", W.TILES)
def test_gradients_match_finite_differences(tile):
    """d/dx through WinogradCorrGradInputs, d/dw through CorrMM's, and the
    gradient of the input-gradient Op itself."""
    rng = np.random.RandomState(tile)
    x = rng.randn(2, 3, 5, 6).astype(np.float32)
    w = rng.randn(4, 3, 3, 3).astype(np.float32)
    theano.gradient.verify_grad(lambda a, b: W.WinogradCorr(tile)(a, b), [x, w], rng=rng,
                                eps=1e-2, abs_tol=2e-2, rel_tol=2e-2, cast_to_output_type=True)
    gz = rng.randn(2, 4, 5, 6).astype(np.float32)
    theano.gradient.verify_grad(lambda a, b: W.WinogradCorrGradInputs(tile)(a, b), [gz, w],
                                rng=rng, eps=1e-2, abs_tol=2e-2, rel_tol=2e-2,
                                cast_to_output_type=True)


@pytest.mark.parametrize("tile", W.TILES)
@pytest.mark.parametrize("case", [(1, 3, 5, 9, 41), (2, 4, 6, 13, 77), (1, 0, 2, 3, 4)],
                         ids=lambda c: "x".join(map(str, c)))
def test_the_fused_bias_is_theanos_sum_after_the_op(tile, case):
    """The bias added in the output transform gives bit for bit ``op(x, w) + b``
    (no channels included: 0 + b), and its gradient is gz summed."""
    x, w, gz = _case(*case, seed=7)
    b = np.random.RandomState(8).randn(case[2]).astype(np.float32) * 10
    xs, ws, bs, gs = T.ftensor4(), T.ftensor4(), T.fvector(), T.ftensor4()
    fused = W.winograd_corr(xs, ws, tile, bs)
    after = W.winograd_corr(xs, ws, tile) + bs.dimshuffle("x", 0, "x", "x")
    f = theano.function([xs, ws, bs, gs], [fused, after] + theano.grad(
        None, [xs, ws, bs], known_grads={fused: gs}) + theano.grad(
        None, [xs, ws, bs], known_grads={after: gs}))
    y_fused, y_after, *grads = f(x, w, b, gz)
    np.testing.assert_array_equal(y_fused, y_after)
    for ours, theirs in zip(grads[:3], grads[3:]):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(TypeError, match="bias must be a float32 vector"):
        W.winograd_corr(xs, ws, tile, T.fmatrix())
    g = theano.function([xs, ws, bs], W.winograd_corr(xs, ws, tile, bs))
    with pytest.raises(ValueError, match=r"bias of shape \(%d,\)" % (case[2] + 1)):
        g(x, w, np.zeros(case[2] + 1, np.float32))


@pytest.mark.parametrize("tile", W.TILES)
def test_kept_filter_transforms_follow_the_filters(tile):
    """The Ops keep filter transforms: filters changed in place, set anew, of
    another shape, or NaN (never equal to itself) give the right answer."""
    x, w, gz = _case(1, 3, 4, 6, 7, seed=3)
    ws = theano.shared(w.copy())
    xs, gs = T.ftensor4(), T.ftensor4()
    y = W.winograd_corr(xs, ws, tile)
    f = theano.function([xs, gs], [y, theano.grad(None, xs, known_grads={y: gs})])

    def check(filters):
        flipped = np.ascontiguousarray(filters.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        out, gx = f(x[:, :filters.shape[1]], gz[:, :filters.shape[0]])
        assert _rel(out, W.reference(x[:, :filters.shape[1]], filters)) < BOUND[tile]
        assert _rel(gx, W.reference(gz[:, :filters.shape[0]], flipped)) < BOUND[tile]

    check(w)
    check(w)                                   # the kept transforms
    ws.get_value(borrow=True)[1, 2, 0, 1] += 5  # the same buffer, edited
    check(ws.get_value())
    ws.set_value(w[::-1].copy())
    check(w[::-1])
    ws.set_value(w[:2, :2].copy())             # another shape
    check(w[:2, :2])
    nan = w.copy()
    nan[0, 0, 1, 1] = np.nan
    ws.set_value(nan)
    y = f(x, gz)[0]
    assert np.isnan(y[0, 0]).all() and not np.isnan(y[0, 1:]).any()
    ws.set_value(w)
    check(w)


@pytest.mark.parametrize("tile", W.TILES)
def test_the_kept_table_evicts_and_stays_right(tile):
    """More distinct filters than the table keeps (64), in turn and again:
    the least recently used go, and every answer stays right."""
    x, _, gz = _case(1, 2, 3, 5, 6, seed=4)
    xs, ws, gs = T.ftensor4(), T.ftensor4(), T.ftensor4()
    y = W.winograd_corr(xs, ws, tile)
    f = theano.function([xs, ws, gs], [y, theano.grad(None, xs, known_grads={y: gs})])
    rng = np.random.RandomState(5)
    filters = [rng.randn(3, 2, 3, 3).astype(np.float32) for _ in range(70)]
    for w in filters + filters[::-1]:
        out, gx = f(x, w, gz)
        flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        assert _rel(out, W.reference(x, w)) < BOUND[tile]
        assert _rel(gx, W.reference(gz, flipped)) < BOUND[tile]


def test_mismatched_channels_are_one_clear_error():
    x, w, _ = _case(1, 4, 2, 5, 5, seed=0)
    f = theano.function([], W.winograd_corr(theano.shared(x), theano.shared(w[:, :3])))
    with pytest.raises(ValueError, match="the input has 4 channels but the filters"):
        f()
    g = theano.function([], W.WinogradCorrGradInputs(2)(theano.shared(x), theano.shared(w)))
    with pytest.raises(ValueError, match="the output gradient has 4 channels"):
        g()


def test_only_3x3_filters():
    x, _, _ = _case(1, 2, 2, 5, 5, seed=0)
    w = np.zeros((2, 2, 5, 5), np.float32)
    f = theano.function([], W.winograd_corr(theano.shared(x), theano.shared(w)))
    with pytest.raises(ValueError, match=r"want \(out, in, 3, 3\)"):
        f()


def test_only_float32_4d_and_known_tiles():
    with pytest.raises(TypeError, match="float32"):
        W.winograd_corr(T.dtensor4(), T.ftensor4())
    with pytest.raises(TypeError, match="4-D"):
        W.winograd_corr(T.fmatrix(), T.ftensor4())
    with pytest.raises(ValueError, match="tile must be 2 or 4"):
        W.WinogradCorr(3)


def test_eligible_layers_are_stride_1_pad_1_3x3():
    assert winograd_choice.eligible((8, 4, 3, 3), (1, 1, 1, 1), (1, 1), 1)
    assert not winograd_choice.eligible((8, 4, 3, 3), (1, 1, 1, 1), (2, 2), 1)
    assert not winograd_choice.eligible((8, 4, 3, 3), "same", (1, 1), 1)
    assert not winograd_choice.eligible((8, 4, 1, 1), (0, 0, 0, 0), (1, 1), 1)
    assert not winograd_choice.eligible((8, 4, 3, 3), (1, 1, 1, 1), (1, 1), 2)


def test_the_choice_is_measured_data_for_every_vgg16_layer():
    """Each layer's choice is its fastest measured implementation, and the
    whole net with those choices was measured within the reference tolerances."""
    data = winograd_choice.table()
    assert data["command"].startswith("python -m bench.bench_winograd --layers")
    kinds = {(r["in"], r["out"], r["shrink"]) for r in data["rows"]}
    assert {(3, 64, 1), (64, 64, 1), (512, 512, 8), (512, 512, 16)} <= kinds
    allowed = {"corrmm", "2", "4"} if data["net"]["auto"][0] <= 1e-5 else {"corrmm", "2"}
    for row in data["rows"]:
        fastest = min(allowed, key=row["ms"].get)
        assert row["choice"] == (None if fastest == "corrmm" else int(fastest))
    logits, gradient = data["net"]["auto"]
    assert logits <= data["tolerance"]["logits"] and gradient <= data["tolerance"]["gradient"]


def test_the_net_builder_follows_conv(tiny_model):
    """conv="winograd" puts every 3x3 layer of the tiny VGG on Winograd, and
    the logits match CorrMM's within the reference vectors' 1e-5."""
    from reproduce.nets.build import build_net
    from reproduce.errors import UserError
    x = np.random.RandomState(0).randn(1, 3, 64, 64).astype(np.float32) * 50
    out = {}
    for conv in ("winograd", "corrmm"):
        net = build_net(tiny_model, conv=conv)
        f = theano.function([net.input_var], net.output())
        ops = {type(node.op).__name__ for node in f.maker.fgraph.toposort()}
        assert ("WinogradCorr" in ops) == (conv == "winograd")
        out[conv] = f(x)
    assert _rel(out["winograd"], out["corrmm"]) < 1e-5
    with pytest.raises(UserError, match="conv=fast: choose one of auto, winograd, corrmm"):
        build_net(tiny_model, conv="fast")


def test_conv_is_a_profile_setting():
    """--set conv=corrmm computes the plain way; the default is the measured choice."""
    from reproduce.lsd2015.profiles import STREAM2015, apply_overrides
    assert STREAM2015.conv == "auto" and STREAM2015.source("conv")
    from reproduce.commands._options import parse_sets
    assert parse_sets(STREAM2015, ["conv=corrmm"]) == (("conv", "corrmm"),)
    assert apply_overrides(STREAM2015, {"conv": "corrmm"}).conv == "corrmm"
