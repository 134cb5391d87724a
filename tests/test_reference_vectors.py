"""The reference-vectors command: the file, its schema as documented, and
stages that agree with independent numpy formulas."""
import os
import re

import numpy as np
import pytest

from helpers.reference import DREAM_LAYER, SIZE
from reproduce import cli
from reproduce import reference
from reproduce.paths import REPO

pytestmark = pytest.mark.slow  # compiles optimiser steps

DOC = os.path.join(REPO, "docs", "reference-vectors.md")


def documented_schema():
    """{name: (shape text, dtype)} from the table in docs/reference-vectors.md."""
    rows = re.findall(r"^\| `([\w/]+)` \| `(\([^`]*\))` \| (\w+) \|", open(DOC).read(), re.M)
    assert len(rows) > 10, "the schema table in %s did not parse" % DOC
    return {name: (shape, dtype) for name, shape, dtype in rows}


def test_file_holds_exactly_the_documented_datasets(ref, tiny_model):
    arrays, attrs = ref
    schema = documented_schema()
    assert sorted(arrays) == sorted(schema)
    h, w = SIZE[1], SIZE[0]
    symbols = {"H": h, "W": w, "K": 1000, "R": h // 4 - 6, "C": w // 4 - 6,
               "S": 3, "N": reference.STEPS}
    from reproduce.deepdream.dream import octave_sizes
    for i, (rows, cols) in enumerate(octave_sizes((h, w), 4, 1.4)[:3]):
        symbols.update({"H%d" % i: rows, "W%d" % i: cols})
    for name, (shape, dtype) in schema.items():
        expected = tuple(symbols.get(t.strip(), None) or int(t)
                         for t in shape.strip("()").split(",") if t.strip())
        assert arrays[name].shape == expected, name
        assert arrays[name].dtype == np.dtype(dtype), name
    for key in ("format", "version", "seed", "size", "settings", "classes",
                "deepdream_layer", "weights", "weights_sha256", "prior", "prior_sha256"):
        assert key in attrs and "`%s`" % key in open(DOC).read(), key
    assert attrs["seed"] == 3 and tuple(attrs["size"]) == SIZE
    assert attrs["deepdream_layer"] == DREAM_LAYER
    assert list(attrs["classes"]) == [tiny_model.descriptions.index(
        "wood rabbit, cottontail, cottontail rabbit"), 409]


def test_stages_agree_with_numpy_formulas(ref, reference_files, tiny_model):
    """Each stage from its inputs, in numpy: the file is self-consistent."""
    from reproduce.nets.build import preprocess, to_batch
    from reproduce.prior.fit import load_prior, prior_energy_numpy
    arrays, attrs = ref
    profile = reference.reference_profile(SIZE)
    np.testing.assert_array_equal(arrays["start"], reference.start_image(SIZE, 3))
    np.testing.assert_allclose(arrays["input"],
                               preprocess(to_batch(arrays["start"]), tiny_model, "scalar"))
    logits, (c0, c1) = arrays["logits"][0].astype(np.float64), attrs["classes"]
    half = logits.shape[1] // 2
    objective = logits[c0, half:].mean() + logits[c1, :half].mean() - logits.mean()
    np.testing.assert_allclose(arrays["objective"], objective, rtol=1e-5)
    total, energies = prior_energy_numpy(arrays["start"], load_prior(reference_files[1]),
                                         profile.prior_scales)
    assert list(arrays["prior/scales"]) == list(energies) == [1, 4, 8]
    np.testing.assert_allclose(arrays["prior/energy"], list(energies.values()), rtol=1e-5)
    np.testing.assert_allclose(arrays["prior/weighted"], 10.0 * total, rtol=1e-5)
    np.testing.assert_allclose(arrays["loss"], -objective + 10.0 * total, rtol=1e-5)
    # The first 2015 step from fresh moments: mhat = g, vhat = g^2.
    g = arrays["grad"][0].transpose(1, 2, 0).astype(np.float64)
    step = np.clip(arrays["start"] - 5.0 * g / (np.abs(g) + 1e-8), 0, 255)
    np.testing.assert_allclose(arrays["step1"], step, atol=1e-3)
    # run(): zoom before steps 0 and 5; each step starts where the last ended.
    before, after = arrays["trajectory/before"], arrays["trajectory/after"]
    np.testing.assert_array_equal(before[0], arrays["zoom"])
    np.testing.assert_array_equal(before[1:5], after[:4])
    np.testing.assert_array_equal(after[-1], arrays["steps10"])
    assert np.abs(before[5] - after[4]).mean() > 1.0  # the zoom moved pixels
    assert 0 <= after.min() and after.max() <= 255
    assert arrays["history"][-1, 1] > arrays["history"][0, 1]  # the objective rose


def test_deepdream_gradient_is_the_layer_l2_gradient(ref, tiny_model):
    """Check the stored gradient by a finite difference along a random direction."""
    from reproduce.backend import T, theano
    from reproduce.nets.build import build_net, preprocess
    from reproduce.objectives import layer_l2
    arrays, _ = ref
    net = build_net(tiny_model)
    x = T.tensor4("pixels", dtype="float64")  # float64: a fine difference stays exact
    f = theano.function([x], layer_l2(DREAM_LAYER)(
        lambda name: net.output(name, input=preprocess(x, tiny_model, "scalar"))))
    pixels = arrays["start"].transpose(2, 0, 1)[None].astype(np.float64)
    assert np.isclose(f(pixels), arrays["deepdream/objective"], rtol=1e-5)
    direction = np.random.RandomState(0).randn(*pixels.shape)
    # small: the layer is after its ReLU, whose kinks a wide difference crosses
    eps = 1e-3
    numeric = (f(pixels + eps * direction) - f(pixels - eps * direction)) / (2 * eps)
    analytic = float((arrays["deepdream/grad"].astype(np.float64) * direction).sum())
    assert abs(numeric - analytic) < 1e-2 * abs(analytic)


@pytest.mark.parametrize("extra, message", [
    (["--size", "96by64"], "--size 96by64"),
    (["--size", "20x20"], "too small"),
    (["--classes", "bee"], "exactly two"),
    (["--classes", "bee", "--classes", "no such thing"], "unknown class"),
    (["--layer", "conv9"], "conv9"),
])
def test_bad_input_is_one_line_and_writes_nothing(reference_files, tiny_weights, tmp_path,
                                                  capsys, extra, message):
    out = tmp_path / "ref.h5"
    argv = ["reference-vectors", "--weights", tiny_weights, "--prior", reference_files[1],
            "--out", str(out), "--no-progress", "--size", "96x64"] + extra
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and message in err, err
    assert os.listdir(tmp_path) == []


def test_missing_prior_and_foreign_file_are_user_errors(tiny_weights, tmp_path, capsys):
    argv = ["reference-vectors", "--weights", tiny_weights, "--prior",
            str(tmp_path / "nope.h5"), "--out", str(tmp_path / "ref.h5"), "--no-progress"]
    assert cli.main(argv) == 2
    assert "nope.h5" in capsys.readouterr().err
    from reproduce.errors import UserError
    with pytest.raises(UserError, match="not reference vectors"):
        reference.load(tiny_weights)


def test_a_missing_file_is_refused_before_the_progress_bar(tmp_path, capsys, reference_files):
    """The bar starts once every input is read and the step compiled: a
    missing file leaves exactly the error line, not a bar at 0%."""
    argv = ["reference-vectors", "--weights", str(tmp_path / "missing.h5"), "--prior",
            reference_files[1], "--out", str(tmp_path / "ref.h5")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "missing.h5" in err, err
    assert os.listdir(tmp_path) == []
