"""A figure script and the gallery page, end to end on the tiny model."""
import ast
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from helpers.shared import LSD2015, lsd2015_file
from reproduce.paths import REPO


def experiment(name):
    """The script experiments/NAME.py as a module (the scripts are no package)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "experiments",
                                                                     name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_figure_script_writes_picture_record_and_gallery(tiny_weights, tmp_path):
    lsd2015_file("student_prior_filters.npy")
    results = str(tmp_path / "results")
    figure, gallery = experiment("figure"), experiment("gallery")
    code = figure.main("rabbit_and_analog_clock", ["wood rabbit", "analog clock"], "caption",
                       ["--weights", tiny_weights, "--quick", "--results", results,
                        "--prior", "lsd2015", "--prior-dir", LSD2015, "--no-progress"])
    assert code == 0
    with open(os.path.join(results, "rabbit_and_analog_clock.json")) as f:
        record = json.load(f)
    assert record["classes"] == ["wood rabbit", "analog clock"] and record["quick"]
    assert record["settings"]["image_size"] == [256, 224] and record["steps"] == 6
    assert gallery.main(["--results", results]) == 0
    page = open(os.path.join(results, "index.html")).read()
    assert 'src="rabbit_and_analog_clock.png"' in page and "wood rabbit (lower half)" in page


def test_missing_weights_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(REPO, "experiments", "bee.py"),
                          "--weights", str(tmp_path / "vgg16.h5"), "--results",
                          str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "make weights" in out.stderr
    assert os.listdir(tmp_path) == []


def gallery_figures():
    """The figure scripts of `make figures`, as the Makefile lists them."""
    text = open(os.path.join(REPO, "Makefile")).read().replace("\\\n", " ")
    line = next(l for l in text.splitlines() if l.startswith("FIGURES :="))
    return [name + ".py" for name in line.split(":=", 1)[1].split()]


@pytest.mark.parametrize("script", gallery_figures())
def test_every_figure_names_known_classes(script):
    from reproduce.nets.classes import find_class, imagenet_descriptions
    tree = ast.parse(open(os.path.join(REPO, "experiments", script)).read())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") == "main")
    classes = ast.literal_eval(call.args[1])
    for name in classes:
        find_class(name, imagenet_descriptions()[0])
