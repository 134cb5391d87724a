"""Bad input through the CLI: exit 2, one `error:` line naming the file, no
traceback, and no output file (nor temporary file) left behind."""
import os
import subprocess
import sys

import h5py
import numpy as np
import pytest

from helpers.cli import assert_user_error
from helpers.matfiles import matconvnet_tree, write_mat, write_v5, write_v73
from reproduce.cli import main
from reproduce.paths import REPO as ROOT


def convert_fails(tmp_path, capsys, src):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    return assert_user_error(capsys, ["convert-weights", str(src),
                                      str(out_dir / "w.h5")], src, out_dir)


def _truncated(path, tmp_path):
    data = open(path, "rb").read()
    cut = tmp_path / ("cut-" + path.name)
    cut.write_bytes(data[:len(data) // 2])
    return cut


@pytest.mark.parametrize("version", ["v5", "v73"])
def test_truncated_mat(tmp_path, capsys, tiny_model, version):
    whole = tmp_path / "net.mat"
    write_mat(whole, tiny_model, "2015", version)
    line = convert_fails(tmp_path, capsys, _truncated(whole, tmp_path))
    assert "truncated" in line


def test_not_a_mat_file(tmp_path, capsys):
    src = tmp_path / "notes.mat"
    src.write_text("these are not weights\n" * 20)
    convert_fails(tmp_path, capsys, src)


def test_missing_source(tmp_path, capsys):
    convert_fails(tmp_path, capsys, tmp_path / "absent.mat")


def test_mat_without_layers(tmp_path, capsys):
    src = tmp_path / "other.mat"
    write_v5(str(src), {"x": np.ones((2, 2)), "meta": {"a": "b"}})
    assert "without `layers`" in convert_fails(tmp_path, capsys, src)


@pytest.mark.parametrize("version", ["v5", "v73"])
def test_in_channels_mismatch(tmp_path, capsys, tiny_model, version):
    tree = matconvnet_tree(tiny_model, "current")
    W, b = tree["layers"][2]["weights"]            # conv1_2 (3, 3, 4, 4)
    tree["layers"][2]["weights"] = [W[:, :, :3], b]
    src = tmp_path / "bad.mat"
    (write_v5 if version == "v5" else write_v73)(str(src), tree)
    line = convert_fails(tmp_path, capsys, src)
    assert "conv1_2" in line and "inconsistent shapes" in line


def test_bias_count_mismatch(tmp_path, capsys, tiny_model):
    tree = matconvnet_tree(tiny_model, "2015")
    W, b = tree["layers"][0]["weights"]
    tree["layers"][0]["weights"] = [W, b[:, :3]]
    src = tmp_path / "bad.mat"
    write_v5(str(src), tree)
    line = convert_fails(tmp_path, capsys, src)
    assert "conv1_1" in line and "4 filters but 3 biases" in line


def test_our_weights_given_as_source(tmp_path, capsys, tiny_weights):
    assert "--weights" in convert_fails(tmp_path, capsys, tiny_weights)


def test_hdf5_not_matlab_as_source(tmp_path, capsys):
    src = tmp_path / "other.mat"
    with h5py.File(src, "w") as f:
        f["layers"] = np.ones(3)
    assert "not one MATLAB wrote" in convert_fails(tmp_path, capsys, src)


def test_hdf5_not_ours_as_weights(tmp_path, capsys):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.ones(3)
    assert_user_error(capsys, ["classify", "any.png", "--weights", str(other)], other)


def test_unreadable_image(tmp_path, capsys, tiny_weights):
    image = tmp_path / "image.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    assert_user_error(capsys, ["classify", str(image), "--weights", tiny_weights], image)


def test_real_entry_point(tmp_path):
    """Once through `python -m reproduce`: the exit status and stderr a shell sees."""
    src = tmp_path / "notes.mat"
    src.write_text("not a mat file")
    dst = tmp_path / "w.h5"
    proc = subprocess.run([sys.executable, "-m", "reproduce", "convert-weights",
                           str(src), str(dst)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: %s: " % src) and proc.stderr.count("\n") == 1
    assert not dst.exists()


def test_missing_downloaded_weights_offer_the_embedded_ones(tmp_path, capsys):
    """A download the user has not made: what fetches it, and what runs without it."""
    from reproduce import paths
    line = assert_user_error(capsys, ["dream", "--weights", str(tmp_path / "vgg16.h5"),
                                      "--classes", "bee", "--out", str(tmp_path / "b.png")],
                             "vgg16.h5")
    assert paths.how_to_make("vgg16") in line
    assert "--weights %s --recipe fourier" % paths.shown(paths.EMBEDDED_CLASSIFIER) in line
    line = assert_user_error(capsys, ["deepdream", str(tmp_path / "p.png"), "--weights",
                                      str(tmp_path / "bvlc_googlenet.h5"), "--out",
                                      str(tmp_path / "d.png")], "bvlc_googlenet.h5")
    assert paths.how_to_make("googlenet") in line and "leave out --weights" in line
