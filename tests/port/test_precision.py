"""The port's bfloat16 path against its float32 one, the fallback where the
CPU has no bfloat16 unit, and the precision setting's bad values.

Tolerances (docs/precision.md, "Tolerances"), in units of U = 2^-8, the
spacing of bfloat16 values relative to their size (8 mantissa bits):

* forward values (any layer, the logits): relative L2 <= 5 U.  Each layer
  rounds its input and weights to bfloat16 and sums in float32; measured
  here <= 1.7 U on the tiny net at 15 shapes and seeds.
* gradients through max-pools: relative L2 <= 0.4 and cosine >= 0.95.
  Rounding ties neighbours in a pool window (two inputs less than U apart
  become equal), and the tie sends the window's whole gradient to the first
  of them: an O(1) error at about one window in a hundred.  Measured here
  0.01-0.2 (cosine >= 0.98); a wrong layer gives O(1).
Both are far above the 1e-6 that float32 sums in another order (another CPU)
give, and a lower bound shows that bfloat16 really ran.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reproduce import objectives  # noqa: E402
from reproduce.cli import main  # noqa: E402
from reproduce.deepdream import dream as dd  # noqa: E402
from reproduce.nets.build import build_net as theano_net  # noqa: E402
from helpers.cli import one_error_line  # noqa: E402

import reproduce_torch as rt  # noqa: E402
from reproduce_torch import precision  # noqa: E402
from reproduce_torch.deepdream import guide as torch_guide  # noqa: E402

U = 2.0 ** -8                          # bfloat16's spacing relative to a value
FORWARD_TOL, GRADIENT_TOL, GRADIENT_COSINE = 5 * U, 0.4, 0.95
BF16_CPU = frozenset({"avx512f", "avx512_bf16"})   # a simulated CPU with the unit
AMX_CPU = frozenset({"amx_bf16", "amx_tile", "amx_int8", "avx512_bf16"})
NO_UNIT = frozenset({"avx2", "fma", "avx512f"})



pytestmark = pytest.mark.usefixtures("one_torch_thread")

def rel_l2(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def logits_and_gradient(net, x):
    pixels = torch.as_tensor(x).requires_grad_(True)
    logits = net.output(x=rt.preprocess(pixels, net.model))
    grad, = torch.autograd.grad(objectives.layer_l2("fc8")(net.activations(
        rt.preprocess(pixels, net.model))), pixels)
    return logits.detach().numpy(), grad.numpy()


@pytest.fixture(scope="module")
def wide_model():
    from helpers.models import tiny_vgg
    return tiny_vgg(seed=1, width=8, n_classes=50)


@pytest.mark.parametrize("rows, cols", [(29, 29), (37, 45), (31, 61)])
def test_bf16_follows_float32_on_odd_shapes(wide_model, rows, cols):
    x = np.random.RandomState(rows).uniform(0, 255, (1, 3, rows, cols)).astype(np.float32)
    f32 = rt.TorchNet(wide_model, "cpu", "float32")
    bf16 = rt.TorchNet(wide_model, "cpu", "bf16", flags=BF16_CPU)
    assert (f32.precision, bf16.precision) == ("float32", "bf16")
    y32, g32 = logits_and_gradient(f32, x)
    y16, g16 = logits_and_gradient(bf16, x)
    assert y16.dtype == np.float32 and y16.shape == y32.shape and g16.shape == g32.shape
    assert 1e-4 < rel_l2(y16, y32) <= FORWARD_TOL     # bfloat16 ran, and closely
    assert 1e-4 < rel_l2(g16, g32) <= GRADIENT_TOL
    assert cosine(g16, g32) >= GRADIENT_COSINE


def test_the_tolerances_catch_a_wrong_layer(wide_model):
    """Negative control: a bf16 net whose fc7 has another net's weights fails both bounds."""
    import dataclasses
    from helpers.models import tiny_vgg
    other = tiny_vgg(seed=2, width=8, n_classes=50)
    wrong = dataclasses.replace(wide_model, layers=[
        other.layer("fc7") if spec.name == "fc7" else spec for spec in wide_model.layers])
    x = np.random.RandomState(0).uniform(0, 255, (1, 3, 37, 45)).astype(np.float32)
    y32, g32 = logits_and_gradient(rt.TorchNet(wide_model, "cpu"), x)
    y16, g16 = logits_and_gradient(rt.TorchNet(wrong, "cpu", "bf16", flags=BF16_CPU), x)
    assert rel_l2(y16, y32) > FORWARD_TOL and rel_l2(g16, g32) > GRADIENT_TOL


def test_bf16_weights_are_converted_once_in_channels_last(wide_model):
    net = rt.TorchNet(wide_model, "cpu", "bf16", flags=AMX_CPU)
    w, b = net.params["conv1_2"]
    assert w.dtype == b.dtype == torch.bfloat16
    assert w.is_contiguous(memory_format=torch.channels_last)
    x = torch.zeros((1, 3, 28, 28))
    assert net.output("fc8", x).dtype == torch.float32   # objectives sum in float32


def test_capability_from_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse avx512f avx512_bf16\n")
    assert precision.bf16_units(precision.cpu_flags(str(cpuinfo))) == "avx512_bf16"
    assert precision.bf16_units(AMX_CPU) == "amx"
    assert precision.bf16_units({"amx_tile"}) is None      # tiles without bf16
    assert precision.bf16_units(NO_UNIT) is None
    assert precision.cpu_flags(str(tmp_path / "absent")) == frozenset()


def test_without_a_bf16_unit_bf16_falls_back_to_float32_in_one_line(wide_model, capsys):
    precision._say_once.cache_clear()
    net = rt.TorchNet(wide_model, "cpu", "bf16", flags=NO_UNIT)
    again = rt.TorchNet(wide_model, "cpu", "bf16", flags=NO_UNIT)
    assert net.precision == again.precision == "float32"
    assert net.params["fc8"][0].dtype == torch.float32
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "float32" in err[0] and "bf16" in err[0], err
    # "auto" falls back silently; float32 never asks the CPU
    assert rt.TorchNet(wide_model, "cpu", "auto", flags=NO_UNIT).precision == "float32"
    assert rt.TorchNet(wide_model, "cpu", "auto", flags=BF16_CPU).precision == "bf16"
    assert rt.TorchNet(wide_model, "cpu", "float32", flags=BF16_CPU).precision == "float32"
    assert capsys.readouterr().err == ""


def test_float32_output_is_the_unchanged_port(wide_model):
    """float32 stays the reference's format: the same numbers as before the setting."""
    x = np.random.RandomState(0).uniform(0, 255, (1, 3, 28, 28)).astype(np.float32)
    net = rt.TorchNet(wide_model, "cpu")
    y, _ = logits_and_gradient(net, x)
    w, b = (torch.as_tensor(a) for a in (wide_model.layer("conv1_1").W,
                                         wide_model.layer("conv1_1").b))
    first = torch.nn.functional.conv2d(rt.preprocess(torch.as_tensor(x), wide_model),
                                       w, b, padding=1)
    np.testing.assert_array_equal(net.output("conv1_1", rt.preprocess(torch.as_tensor(x),
                                                                      wide_model)), first)
    assert y.dtype == np.float32


# ------------------------------------------------------------------ deepdream on torch

def test_deepdream_gradient_on_torch_is_the_references(tiny_model, ref):
    """The torch twin of compile_gradient against the reference vectors'
    DeepDream stage (Theano's), to their tolerance on a small net (1e-5 of the
    largest value); deepdream's compile_gradient hands a torch net to it."""
    from reproduce_torch.deepdream import compile_gradient
    arrays, attrs = ref
    x = np.ascontiguousarray(arrays["start"].transpose(2, 0, 1)[None])
    net = rt.TorchNet(tiny_model, "cpu")
    objective = objectives.layer_l2(attrs["deepdream_layer"])
    score, grad = compile_gradient(net, objective, mean="scalar")(x)
    ref_score, ref_grad = arrays["deepdream/objective"], arrays["deepdream/grad"]
    assert abs(score - ref_score) <= 1e-5 * abs(ref_score)
    assert np.abs(grad - ref_grad).max() <= 1e-5 * np.abs(ref_grad).max()
    via, direct = dd.compile_gradient(net, objective)(x), compile_gradient(net, objective)(x)
    np.testing.assert_array_equal(via[1], direct[1])


@pytest.mark.slow   # a Theano compile
def test_guided_deepdream_on_torch_is_the_references(tiny_model):
    rng = np.random.RandomState(6)
    x = rng.uniform(0, 255, (1, 3, 36, 44)).astype(np.float32)
    guide = rng.uniform(0, 255, (36, 44, 3)).astype(np.float32)
    results = []
    for net in (theano_net(tiny_model), rt.TorchNet(tiny_model, "cpu")):
        features = dd.guide_features(net, "relu2_1", guide)
        guide_of = objectives.guide if net.backend == "theano" else torch_guide
        objective = guide_of("relu2_1", features)
        results.append((features,) + tuple(dd.compile_gradient(net, objective)(x)))
    (f_ref, s_ref, g_ref), (f, s, g) = results
    assert np.abs(f - f_ref).max() <= 1e-5 * np.abs(f_ref).max()
    assert abs(s - s_ref) <= 1e-5 * abs(s_ref)
    assert np.abs(g - g_ref).max() <= 1e-5 * np.abs(g_ref).max()


def test_torch_net_refuses_layers_it_cannot_run(tiny_model):
    import dataclasses
    from reproduce.errors import UserError
    from reproduce.nets.weights import LayerSpec
    model = dataclasses.replace(tiny_model, layers=list(tiny_model.layers) + [
        LayerSpec("norm", "lrn", local_size=5, alpha=1e-4, beta=0.75, k=1.0)])
    with pytest.raises(UserError, match="norm.*lrn.*--backend theano"):
        rt.TorchNet(model, "cpu")


# ------------------------------------------------------------------ the CLI

@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    from PIL import Image
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    rng = np.random.RandomState(3)
    Image.fromarray(rng.randint(0, 255, (36, 44, 3)).astype(np.uint8)).save(path)
    return str(path)


@pytest.mark.parametrize("value", ["fp8", "BF16", "half", "", "nan"])
def test_dream_refuses_a_bad_precision(tmp_path, capsys, tiny_weights, value):
    line = one_error_line(capsys, ["dream", "--weights", tiny_weights, "--classes", "0",
                                   "--set", "precision=" + value, "--prior", "none",
                                   "--backend", "torch", "--out", str(tmp_path / "a.png")])
    assert "precision" in line and "float32" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["dream", "atlas"])
def test_bf16_on_the_theano_backend_is_refused(tmp_path, capsys, tiny_weights, command):
    out = ["--out", str(tmp_path / "a.png")] if command == "dream" else \
        ["--out-dir", str(tmp_path / "atlas"), "--classes", "0", "--judge", "none"]
    argv = [command, "--weights", tiny_weights, "--set", "precision=bf16",
            "--prior", "none"] + (["--classes", "0"] if command == "dream" else []) + out
    line = one_error_line(capsys, argv)
    assert "bf16" in line and "--backend torch" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["deepdream", "sweep"])
@pytest.mark.parametrize("value", ["fp16", "Float32", "inf"])
def test_deepdream_and_sweep_refuse_a_bad_precision(tmp_path, capsys, tiny_weights,
                                                    photo_file, command, value):
    out = ["--out", str(tmp_path / "a.png")] if command == "deepdream" else \
        ["--out-dir", str(tmp_path / "s")]
    line = one_error_line(capsys, [command, photo_file, "--weights", tiny_weights,
                                   "--backend", "torch", "--precision", value] + out)
    assert "precision" in line
    assert list(tmp_path.iterdir()) == []


def test_video_refuses_bf16_on_theano(tmp_path, capsys, tiny_weights):
    line = one_error_line(capsys, ["video", str(tmp_path / "film.mp4"), "--weights",
                                   tiny_weights, "--precision", "bf16",
                                   "--out", str(tmp_path / "out.mp4")])
    assert "bf16" in line and "--backend torch" in line


@pytest.mark.slow
def test_cli_deepdream_and_sweep_on_torch_match_theano(tmp_path, tiny_weights, photo_file):
    """The commands' --backend torch against the reference: the same picture to
    float32 noise (one octave, three steps, no jitter)."""
    from reproduce.fileio import load_image
    args = ["--layer", "conv2_1", "--octaves", "1", "--steps", "3", "--jitter", "0",
            "--no-progress", "--weights", tiny_weights]
    for backend in ("theano", "torch"):
        assert main(["deepdream", photo_file, "--backend", backend, "--out",
                     str(tmp_path / (backend + ".png"))] + args) == 0
    a, b = (load_image(str(tmp_path / (n + ".png"))) for n in ("theano", "torch"))
    assert np.mean(np.abs(a - b) > 1) <= 0.005
    assert main(["sweep", photo_file, "--backend", "torch", "--precision", "bf16",
                 "--layers", "conv2_1", "--size", "44x36", "--octaves", "1", "--steps",
                 "2", "--no-progress", "--weights", tiny_weights, "--out-dir",
                 str(tmp_path / "sweep")]) == 0
    assert (tmp_path / "sweep" / "01_relu2_1.png").exists()


# ------------------------------------------------------------------ the defaults

def test_the_reference_stays_float32_and_the_live_stream_takes_auto():
    from reproduce import reference
    from reproduce.lsd2015.profiles import LIVE_PRECISION, PROFILES
    from reproduce.recipes import base_settings
    assert all(p.precision == "float32" for p in PROFILES.values())   # figures, 2015
    assert reference.reference_profile((64, 48)).precision == "float32"
    assert base_settings("lsd2015", "image2015").precision == "float32"
    live = base_settings("lsd2015", "stream2015", stream=True)
    assert live.precision == LIVE_PRECISION == "auto"
    assert "docs/precision.md" in live.source("precision")


def test_the_atlas_stays_float32_unless_set(tiny_weights):
    from reproduce.atlas import plan
    from reproduce.job import PictureJob

    def precision(**fields):
        job, _ = plan.make_job(PictureJob(weights=tiny_weights, profile="stream2015",
                                          prior="none", **fields))
        return job.profile().precision

    assert precision(backend="torch") == precision(backend="theano") == "float32"
    assert precision(backend="torch", overrides=(("precision", "bf16"),)) == "bf16"
