"""The DeepDream seed gallery (experiments/deepdream/, ``make deepdream-figures``)
on a synthetic GoogLeNet written as Caffe files and converted: the pictures,
their records and the page; and missing weights as one line naming the make
target."""
import json
import os
import subprocess
import sys

import pytest

from helpers.caffe_models import googlenet, write_caffe
from reproduce.convert.caffe import convert_caffe
from reproduce.nets.weights import save_model
from reproduce.paths import REPO

SCRIPTS = os.path.join(REPO, "experiments", "deepdream")


def scripts(prefix):
    return sorted(f for f in os.listdir(SCRIPTS) if f.startswith(prefix))


def test_one_script_per_picture_of_the_explainer():
    assert [s[len("googlenet_"):-3] for s in scripts("googlenet_")] == [
        "conv2_3x3_reduce", "conv2_norm2", "inception_3b_3x3_reduce", "inception_4d_3x3",
        "inception_4d_3x3_reduce", "inception_4d_pool_proj", "pool3_3x3_s2"]
    assert len(scripts("places205_")) == 6


@pytest.mark.parametrize("script, target", [("googlenet_pool3_3x3_s2.py", "weights-googlenet"),
                                            ("places205_inception_3b_pool.py", "weights-places")])
def test_missing_weights_is_one_line_naming_the_target(tmp_path, script, target):
    out = subprocess.run([sys.executable, os.path.join(SCRIPTS, script), "--weights",
                          str(tmp_path / "none.h5"), "--results", str(tmp_path / "r")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "make %s" % target in out.stderr
    assert not (tmp_path / "r").exists()


@pytest.fixture(scope="module")
def small_googlenet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dd_googlenet")
    caffemodel, prototxt, _ = write_caffe(folder, googlenet(divisor=16, pool5=2),
                                          (3, 64, 64), "V1", name="googlenet")
    path = str(folder / "googlenet.h5")
    save_model(convert_caffe(caffemodel, prototxt), path)
    return path


@pytest.mark.slow
def test_make_deepdream_figures_writes_the_gallery_page(small_googlenet, tmp_path):
    results = tmp_path / "results"
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(
        ["make", "-s", "-o", "setup", "deepdream-figures", "PY=" + sys.executable,
         "GOOGLENET=" + small_googlenet, "PLACES=" + small_googlenet, "QUICK=1",
         "DD_ONLY=conv2_norm2", "DD_RESULTS=" + str(results),
         "DD_ARGS=--no-progress"], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    pictures = sorted(f for f in os.listdir(results) if f.endswith(".png"))
    assert len(pictures) == 4  # the start photo and conv2/norm2, for each model
    dreamed = [p for p in pictures if "conv2_norm2" in p]
    assert len(dreamed) == 2 and all("/" not in p for p in dreamed)
    with open(results / dreamed[0].replace(".png", ".json")) as f:
        record = json.load(f)
    assert record["classes"] == ["conv2/norm2"] and record["quick"]
    assert record["settings"]["octaves"] == 2
    page = open(results / "index.html").read()
    assert 'src="%s"' % dreamed[0] in page and "conv2/norm2" in page
    assert page.index(pictures[0]) < page.index(dreamed[0])  # the start photo first
