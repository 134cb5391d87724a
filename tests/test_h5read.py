"""h5read's cache: an unchanged file is read in a child once per process."""
import os
import shutil
import time

import h5py
import numpy as np
import pytest

from reproduce import h5read
from reproduce.nets.weights import load_model


def aged(path, seconds):
    """Date ``path`` ``seconds`` back: a file written just now is not kept."""
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


@pytest.fixture
def forks(monkeypatch):
    """The forks load_isolated makes, counted."""
    h5read.clear_cache()
    made, real = [], os.fork
    monkeypatch.setattr(os, "fork", lambda: made.append(1) or real())
    yield made
    h5read.clear_cache()


@pytest.fixture
def weights_file(tmp_path, tiny_weights):
    path = tmp_path / "w.h5"
    shutil.copy(tiny_weights, path)
    aged(path, 60)
    return path


def first_conv(model):
    """(index in model.layers, dataset name) of the first convolution's W."""
    from reproduce.nets.weights import group_key
    i = next(i for i, spec in enumerate(model.layers) if spec.type == "conv")
    return i, "layers/%s/W" % group_key(model.layers[i].name)


def test_an_unchanged_file_forks_once_and_gives_fresh_copies(weights_file, forks):
    first = load_model(weights_file)
    assert len(forks) == 1
    i, name = first_conv(first)
    first.layers[i].W[...] = 7.0  # a caller scribbling on what it got
    first.layers.pop()
    second = load_model(weights_file)
    assert len(forks) == 1
    assert len(second.layers) == len(first.layers) + 1
    with h5py.File(weights_file, "r") as f:
        np.testing.assert_array_equal(second.layers[i].W, f[name][()])
    assert not np.all(second.layers[i].W == 7.0)


def test_a_changed_file_is_read_again(weights_file, forks):
    model = load_model(weights_file)
    i, name = first_conv(model)
    before = model.layers[i].W.copy()
    with h5py.File(weights_file, "r+") as f:
        f[name][...] = f[name][()] + 1  # in place: the same size and inode
    aged(weights_file, 30)
    changed = load_model(weights_file).layers[i].W
    assert len(forks) == 2
    np.testing.assert_allclose(changed, before + 1, rtol=1e-6)

    # another file renamed onto it, with the same size and mtime: a new inode
    stat = os.stat(weights_file)
    other = weights_file.with_name("other.h5")
    shutil.copy(weights_file, other)
    with h5py.File(other, "r+") as f:
        f[name][...] = f[name][()] + 1
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(other).st_size == stat.st_size
    os.replace(other, weights_file)
    np.testing.assert_allclose(load_model(weights_file).layers[i].W, before + 2, rtol=1e-6)
    assert len(forks) == 3


def test_a_file_written_just_now_is_not_kept(weights_file, forks):
    """Its next change may come within the same mtime tick."""
    os.utime(weights_file)  # now
    load_model(weights_file)
    load_model(weights_file)
    assert len(forks) == 2


def test_refusals_still_come_from_the_child(tmp_path, weights_file, forks):
    """A file refused once is refused again, in the same one line."""
    from reproduce.errors import UserError
    with h5py.File(weights_file, "a") as f:
        f["layers"].attrs["sneaky"] = 1
        f["elsewhere"] = h5py.ExternalLink(str(tmp_path / "x.h5"), "/")
    aged(weights_file, 30)
    messages = []
    for _ in range(2):
        with pytest.raises(UserError) as exc:
            load_model(weights_file)
        messages.append(str(exc.value))
    assert "external link" in messages[0] and messages[0] == messages[1]
