"""The microscope on a local Dask cluster of two workers: on the tests' tiny
VGG every unit rendered exactly once and a re-run renders nothing; a worker
killed mid-unit loses only that unit, retried elsewhere; the synthetic
GoogLeNet through the command; the plan of layers and channels; bad
options refused in one line before anything is written.

The worker functions below wrap ``tasks.render`` to log each unit made
(and to kill their worker); cloudpickle sends them by value.
"""
import json
import os
import sys

import pytest

pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)

from helpers.cli import one_error_line  # noqa: E402
from reproduce.errors import UserError  # noqa: E402
from reproduce.job import PictureJob  # noqa: E402
from reproduce.microscope import plan, run, tasks  # noqa: E402
from reproduce.nets.weights import sha256_of  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

LAYERS = ["conv1_1", "conv2_1"]   # relu1_1 (4 channels), relu2_1 (8)
SMALL = (("image_size", (32, 32)), ("steps", 2))
DREAM = plan.DREAM.__class__(octaves=1, steps=2)


def small_job(weights, **fields):
    picture = PictureJob(weights=weights, recipe="fourier", overrides=SMALL)
    options = dict(diverse=1, dream=DREAM, photo_side=32, batch=2)
    options.update(fields)
    return plan.make_job(picture, **options)[0]


@pytest.fixture(scope="module")
def client():
    from distributed import Client
    from reproduce.atlas.cluster import local_cluster
    with local_cluster(2) as local, Client(local) as c:
        yield c


# -- worker functions (sent by value) ----------------------------------------

def _log(out_dir, records):
    with open(os.path.join(out_dir, "..", "log"), "a") as f:
        f.write("".join("%s %s %d %r\n" % (r["layer"], r["channel"], r["worker"]["pid"],
                                           r["finished"]) for r in records))


def logged(job, items, out_dir, digest):
    """tasks.render, and a line per record in ``out_dir``/../log: item,
    worker and when it was made (a record found on disk logs the same line
    again, so the set of lines counts what was made)."""
    records = tasks.render(job, items, out_dir, digest)
    _log(out_dir, records)
    return records


def dies_in_second_unit(job, items, out_dir, digest):
    """The first time a task holds relu2_1's channels 0 and 1: render channel
    0, log it, then kill the worker while on channel 1."""
    marker = os.path.join(out_dir, "..", "died")
    if items == [("relu2_1", 0), ("relu2_1", 1)] and not os.path.exists(marker):
        _log(out_dir, tasks.render(job, items[:1], out_dir, digest))
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)
    return logged(job, items, out_dir, digest)


def made(tmp_path):
    """(layer, channel) per unit made, from the log."""
    log = tmp_path / "log"
    lines = set(log.read_text().split("\n")) - {""} if log.exists() else set()
    return sorted((line.split()[0], line.split()[1]) for line in lines)


ALL = sorted([("relu1_1", c) for c in ("None", "0", "1")]
             + [("relu2_1", c) for c in ("None", "0", "1")])


# -- on the cluster -----------------------------------------------------------------

@pytest.mark.slow
def test_every_unit_once_then_a_rerun_renders_nothing(tmp_path, client, tiny_weights):
    out = tmp_path / "m"
    job = small_job(tiny_weights)
    first = run.make_microscope(job, LAYERS, "2", str(out), client=client, task=logged,
                                progress=False)
    assert (first.rendered, first.failed, first.skipped) == (6, 0, 0)
    assert made(tmp_path) == ALL
    record = plan.read_record(str(out), "relu2_1", 1)
    kinds = [p["kind"] for p in record["pictures"]]
    assert kinds == ["positive", "neg", "div1", "dream"]
    for path, sha in record["files"].items():
        assert sha256_of(str(out / path)) == sha
    # the tiny VGG is a classifier: the classes its picture raises most
    assert len(record["classes"]) == tasks.TOP_CLASSES
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"done": 6, "failed": 0, "pending": 0}
    assert manifest["layers"] == {"relu1_1": 2, "relu2_1": 2}
    # every page there, linked from the pages above it
    index = (out / "index.html").read_text()
    assert 'href="layers/relu2_1.html"' in index and "images/relu2_1/layer.png" in index
    grid = (out / "layers" / "relu2_1.html").read_text()
    assert grid.count('loading="lazy"') == 2 and "../units/relu2_1/0001.html" in grid
    unit = (out / "units" / "relu2_1" / "0001.html").read_text()
    assert "../../images/relu2_1/0001-neg.png" in unit and "relu2_1:1" in unit

    again = run.make_microscope(job, LAYERS, "2", str(out), client=client, task=logged,
                                progress=False)
    assert (again.rendered, again.skipped) == (0, 6)
    assert made(tmp_path) == ALL
    # one more channel renders that unit only; other settings render all anew
    more = run.make_microscope(job, LAYERS, "3", str(out), client=client, task=logged,
                               progress=False)
    assert (more.rendered, more.skipped) == (2, 6)
    other = small_job(tiny_weights, diverse=0)
    assert len(plan.pending(str(out), plan.items({"relu1_1": [0]}), other.digest())[0]) == 2


@pytest.mark.slow
def test_a_killed_worker_loses_only_its_unit(tmp_path, client, tiny_weights):
    out = tmp_path / "m"
    job = small_job(tiny_weights)
    result = run.make_microscope(job, LAYERS, "2", str(out), client=client,
                                 task=dies_in_second_unit, progress=False)
    dead = int((tmp_path / "died").read_text())
    assert (result.rendered, result.failed) == (6, 0)
    assert made(tmp_path) == ALL   # channel 0 of relu2_1 made once, before the death
    assert plan.read_record(str(out), "relu2_1", 0)["worker"]["pid"] == dead
    assert plan.read_record(str(out), "relu2_1", 1)["worker"]["pid"] != dead


# -- the synthetic GoogLeNet through the command -----------------------------------------

@pytest.fixture(scope="module")
def googlenet(tmp_path_factory):
    from helpers.caffe_models import googlenet, write_caffe
    from reproduce.convert.caffe import convert_caffe
    from reproduce.nets.weights import save_model
    folder = tmp_path_factory.mktemp("microscope_googlenet")
    caffemodel, prototxt, _ = write_caffe(folder, googlenet(divisor=16, pool5=2),
                                          (3, 64, 64), "layer", name="googlenet")
    path = str(folder / "bvlc_googlenet.h5")
    save_model(convert_caffe(caffemodel, prototxt), path)
    return path


def test_default_layers_of_a_googlenet_and_a_vgg(googlenet, tiny_model):
    from reproduce.nets.build import build_net
    from reproduce.nets.weights import load_model
    layers = plan.default_layers(build_net(load_model(googlenet)))
    assert layers[:3] == ["conv1/7x7_s2", "conv2/3x3_reduce", "conv2/3x3"]
    assert layers[3:] == ["inception_%s/output" % m for m in
                          ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert plan.default_layers(build_net(tiny_model)) == [
        "relu1_1", "relu1_2", "relu2_1", "relu6", "relu7", "fc8"]


@pytest.mark.slow
def test_the_command_on_the_synthetic_googlenet(googlenet, tmp_path, capsys):
    from reproduce.cli import main
    out = tmp_path / "g"
    argv = ["microscope", "--weights", googlenet, "--layers",
            "conv2/3x3,inception_3a/output", "--channels", "1", "--size", "64",
            "--steps", "2", "--diverse", "0", "--dream-octaves", "1", "--dream-steps",
            "1", "--photo-size", "64", "--workers", "1", "--out-dir", str(out),
            "--no-progress"]
    assert main(argv) == 0
    assert " 4 rendered" in capsys.readouterr().out  # 2 layers, 1 channel each
    assert (out / "layers" / "inception_3a_output.html").exists()
    unit = (out / "units" / "inception_3a_output" / "0000.html").read_text()
    assert "inception_3a/output:0" in unit
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert " 0 rendered" in printed and "4 skipped" in printed


# -- the plan ------------------------------------------------------------------------

def test_channel_selection():
    assert plan.select_channels("all", 4, "x") == [0, 1, 2, 3]
    assert plan.select_channels("2", 4, "x") == [0, 1]
    assert plan.select_channels("9", 4, "x") == [0, 1, 2, 3]   # a limit, not an index
    assert plan.select_channels("3,0-1", 8, "x") == [0, 1, 3]
    assert plan.select_channels("3,", 8, "x") == [3]
    for bad in ("0", "-1", "x", "5-3", "0-8", ",", "1.5", "nan"):
        with pytest.raises(UserError):
            plan.select_channels(bad, 8, "x")


BAD = [
    (["--channels", "0"], "at least 1"),
    (["--channels", "0-99"], "channels 0-3"),
    (["--channels", "x"], "no channel index"),
    (["--layers", "nope"], "unknown layer"),
    (["--layers", ","], "names no layer"),
    (["--diverse", "-1"], "--diverse"),
    (["--batch", "0"], "--batch"),
    (["--workers", "0"], "--workers"),
    (["--size", "0"], "--size"),
    (["--steps", "0"], "--steps"),
    (["--steps", "nan"], "--steps"),
    (["--photo-size", "5"], "--photo-size"),
    (["--dream-octaves", "0"], "octaves"),
    (["--set", "no_such=1"], "no such setting"),
    (["--set", "learning_rate=inf"], "learning_rate"),
    (["--photo", "/no/such.png"], "such.png"),
]


@pytest.mark.parametrize("extra, words", BAD)
def test_bad_options_are_one_line_and_write_nothing(extra, words, tiny_weights, tmp_path,
                                                    capsys):
    out = tmp_path / "out"
    argv = ["microscope", "--weights", tiny_weights, "--out-dir", str(out)]
    line = one_error_line(capsys, argv + (["--layers", "conv1_1"] if "--layers" not in
                                          extra else []) + extra)
    assert words in line
    assert not out.exists()


def test_missing_weights_and_an_out_dir_that_is_a_file(tmp_path, capsys):
    line = one_error_line(capsys, ["microscope", "--weights", str(tmp_path / "no.h5"),
                                   "--out-dir", str(tmp_path / "o")])
    assert "no.h5" in line and not (tmp_path / "o").exists()
    (tmp_path / "file").write_text("mine")
    one_error_line(capsys, ["microscope", "--out-dir", str(tmp_path / "file")])
    assert (tmp_path / "file").read_text() == "mine"
