"""The modern ports against the reference on the tests' small VGG.

The PyTorch ports run here (`make setup` builds their venv from
requirements-conformance-torch.txt); the TensorFlow ports where their venv
exists (`make .venv-conformance-tf/stamp`).  Every cell must be what
reproduce/conformance/expected.json says: a new port release that changes
a default changes a cell and fails here.
"""
import json
import os

import numpy as np
import pytest

from reproduce import cli
from reproduce.conformance import envs, run, stages, table
from reproduce.conformance.ports import PORTS, by_name

EXPECTED = os.path.join(os.path.dirname(run.__file__), "expected.json")


def env_or_skip(name):
    env = envs.ENVS[name]
    if not envs.ready(env):
        pytest.skip("the %s ports' venv is not built: %s" % (name, env.install_command()))


@pytest.fixture(scope="module")
def torch_table(ref, tiny_model, reference_files):
    env_or_skip("torch")
    from reproduce.prior.fit import load_prior
    ports = [p for p in PORTS if p.env in ("torch", "source")]
    return run.conformance(*ref, tiny_model, load_prior(reference_files[1]), ports)


@pytest.fixture(scope="module")
def expected():
    with open(EXPECTED) as f:
        return json.load(f)


def rows_of(result):
    return {r["port"]: r for r in result["ports"]}


@pytest.mark.slow
def test_torch_ports_match_the_expectations(torch_table, expected):
    for row in torch_table["ports"]:
        assert row["status"] == "ran", (row["port"], row.get("reason"))
    mine = {"tiny-vgg": {k: v for k, v in expected["tiny-vgg"].items()
                         if k in rows_of(torch_table)}}
    assert table.changes(torch_table, mine) == []


@pytest.mark.slow
def test_every_cell_is_filled_and_explained(torch_table):
    for row in torch_table["ports"]:
        for mode in stages.MODES:
            for stage in stages.STAGE_KEYS:
                cell = row["cells"][mode][stage]
                assert cell["verdict"] in stages.VERDICTS
                if cell["verdict"] in ("differs", "not computed"):
                    assert cell["note"], (row["port"], mode, stage)


@pytest.mark.slow
def test_the_defects_found(torch_table):
    rows = rows_of(torch_table)
    # torch-dreams' start-image canvas feeds the raw 0..1 pixels
    cell = rows["torch-dreams"]["cells"]["defaults"]["preprocessing"]
    assert cell["verdict"] == "differs" and "the raw 0..1 pixels" in cell["note"]
    raw = float(cell["note"].split("max |fed - pixels/255| = ")[1].split(",")[0])
    assert raw < 1e-4
    # hooks on torchvision's conv modules see the value after its in-place ReLU
    assert rows["torchvision"]["cells"]["defaults"]["layer"]["verdict"] in (
        "identical", "agrees")
    assert rows["lucent"]["cells"]["aligned"]["layer"]["measure"].startswith(
        "the conv's output before")
    # neural-dream's jitter is dream.ipynb's roll; torchvision has no logit map
    assert rows["neural-dream"]["cells"]["aligned"]["jitter"]["verdict"] == "identical"
    assert rows["torchvision"]["cells"]["aligned"]["logit_map"]["verdict"] == "differs"


@pytest.mark.slow
def test_tensorflow_ports(ref, tiny_model, reference_files, expected):
    env_or_skip("tf")
    from reproduce.prior.fit import load_prior
    ports = [p for p in PORTS if p.env == "tf"]
    result = run.conformance(*ref, tiny_model, load_prior(reference_files[1]), ports)
    mine = {"tiny-vgg": {k: v for k, v in expected["tiny-vgg"].items()
                         if k in rows_of(result)}}
    assert table.changes(result, mine) == []


def test_a_changed_cell_is_reported():
    cells = {m: {s: {"verdict": "agrees"} for s in stages.STAGE_KEYS} for m in stages.MODES}
    result = {"model": "m", "ports": [{"port": "p", "version": "1", "status": "ran",
                                       "installed": {"p": "1"}, "cells": cells}]}
    want = {"m": table.expectations(result)}
    assert table.changes(result, want) == []
    cells["aligned"]["step"] = {"verdict": "factor", "factor": 2.55}
    assert table.changes(result, want) == ["p, aligned, step: factor 2.5, expected agrees"]
    result["ports"][0]["installed"] = {"p": "2"}
    assert "installed" in table.changes(result, want)[0]


def test_verdicts():
    e = np.linspace(-1, 2, 50).astype(np.float32)
    assert stages.compare_values(e, e, 1e-5).verdict == "identical"
    assert stages.compare_values(e + 1e-7, e, 1e-5).verdict == "agrees"
    c = stages.compare_values(-2 * e, e, 1e-5)
    assert (c.verdict, c.factor) == ("factor", -2.0)
    assert stages.compare_values(e[::-1], e, 1e-5).verdict == "differs"
    assert stages.compare_values(e[:3], e, 1e-5).measure.startswith("shape")
    # one number differs from another by some factor: only conventions count
    assert stages.compare_values(np.float32(3.0), np.float32(1.5), 1e-5).factor == 2.0
    assert stages.compare_values(np.float32(3.3), np.float32(1.5), 1e-5).verdict == "differs"
    g = np.random.RandomState(0).randn(1, 3, 8, 8)
    assert stages.compare_gradient(g * (1 + 1e-3), g).verdict == "agrees"
    assert stages.compare_gradient(-g, g).verdict == "factor"
    before = np.full((8, 8, 3), 100.0)
    step = before + 5 * np.sign(g[0].transpose(1, 2, 0))
    assert stages.compare_images(step, step + 1e-4, before).verdict == "agrees"
    c = stages.compare_images(before + 2.55 * (step - before), step, before)
    assert (c.verdict, round(c.factor, 2)) == ("factor", 2.55)


def test_a_port_not_installed_is_a_skipped_row(monkeypatch):
    monkeypatch.setattr(envs, "ready", lambda env: False)
    row = run._row(by_name(["lucent"])[0], "unused.npz", "unused", {})
    assert row["status"] == "skipped"
    assert "make .venv-conformance-torch/stamp" in row["reason"]
    lucid = run._row(by_name(["lucid"])[0], "unused.npz", "unused", {})
    assert lucid["status"] == "skipped" and "TensorFlow 1" in lucid["reason"]


@pytest.mark.parametrize("args, message", [
    (["--ports", "nonesuch"], "--ports: unknown port 'nonesuch'"),
    (["--reference", "r.h5"], "--reference needs the --weights"),
    (["--expect", "{missing}"], "--expect"),
    (["--expect", "{bad}"], "not JSON"),
    (["--prior", "{missing}"], "not found"),
])
def test_bad_input(tmp_path, capsys, args, message):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    args = [a.format(missing=tmp_path / "none.json", bad=bad) for a in args]
    assert cli.main(["conformance"] + args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_a_model_that_is_not_vgg_like(tmp_path, capsys):
    from reproduce.nets.weights import LayerSpec
    from helpers.models import tiny_vgg
    model = tiny_vgg()
    model.layers.insert(2, LayerSpec("avg", "pool", size=(1, 1), stride=(1, 1),
                                     method="avg"))
    with pytest.raises(Exception) as info:
        run.model_spec(model)
    assert "VGG-like" in str(info.value)


@pytest.mark.slow
def test_our_side_takes_theanos_flipped_views(ref, tiny_model, reference_files):
    """A reference computed in memory hands over Theano's arrays, a BGR
    model's input as a view with negative strides: torch refuses those."""
    from reproduce.prior.fit import load_prior
    arrays, attrs = ref
    flipped = np.ascontiguousarray(arrays["input"][:, ::-1])[:, ::-1]
    assert any(s < 0 for s in flipped.strides)
    inputs, expected = run.our_side(dict(arrays, input=flipped), attrs, tiny_model,
                                    load_prior(reference_files[1]))
    np.testing.assert_array_equal(inputs["input"], arrays["input"])
    assert expected["objective/lsd2015"].shape == ()  # no 0-d array made 1-d
