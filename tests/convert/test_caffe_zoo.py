"""``make weights-googlenet`` / ``make weights-places`` without the network: the
zoo downloader fetches synthetic Caffe models from a loopback HTTP server
(``--url``), checks their digests and converts them; a wrong digest or a
truncated archive is one line, exit 2, and no weights file."""
import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading

import pytest

from helpers.caffe_models import small_net, write_caffe
from reproduce.cli import main
from reproduce.convert import caffe_zoo
from reproduce.nets.weights import load_model

SMALL_INPUT = (3, 23, 19)


@pytest.fixture
def mirror(tmp_path):
    """(folder, URL): a loopback server of the folder's files."""
    folder = tmp_path / "mirror"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield folder, "http://127.0.0.1:%d" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def digest(path, kind):
    return hashlib.new(kind, open(path, "rb").read()).hexdigest()


def googlenet_files(folder, monkeypatch, sha1=None):
    """The small net (1000 classes) under the zoo's file names; the zoo entry's
    digests replaced by theirs (or by ``sha1``)."""
    cm, pt, _ = write_caffe(folder / "src", small_net(1000), SMALL_INPUT, "layer")
    entry = caffe_zoo.ZOO["googlenet"]
    os.replace(cm, folder / entry.caffemodel.filename)
    os.replace(pt, folder / entry.prototxt.filename)
    monkeypatch.setitem(caffe_zoo.ZOO, "googlenet", entry._replace(
        caffemodel=entry.caffemodel._replace(
            sha1=(sha1 or digest(folder / entry.caffemodel.filename, "sha1"),)),
        prototxt=entry.prototxt._replace(
            sha256=digest(folder / entry.prototxt.filename, "sha256"))))


def test_googlenet_downloads_checks_and_converts(mirror, tmp_path, monkeypatch, capsys):
    folder, url = mirror
    googlenet_files(folder, monkeypatch)
    dest = tmp_path / "weights"
    assert main(["download", "googlenet", "--dest", str(dest), "--url", url,
                           "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "SHA-1 verified" in out and "SHA-256 verified" in out
    model = load_model(dest / "bvlc_googlenet.h5")
    assert model.model_name == "bvlc_googlenet" and len(model.descriptions) == 1000
    assert model.descriptions[0].startswith("tench")
    assert model.source_file == "bvlc_googlenet.caffemodel"
    # a second run finds the files and converts again without a transfer
    assert main(["download", "googlenet", "--dest", str(dest), "--url", url + "/gone",
                           "--no-progress"]) == 0


def test_googlenet_wrong_digest_is_one_line(mirror, tmp_path, monkeypatch, capsys):
    folder, url = mirror
    googlenet_files(folder, monkeypatch, sha1="405fc5acd08a3bb12de8ee5e23a96bec22f08204")
    dest = tmp_path / "weights"
    assert main(["download", "googlenet", "--dest", str(dest), "--url", url,
                           "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "SHA-1" in err
    assert not (dest / "bvlc_googlenet.h5").exists()


def places_archive(path, with_labels=True, cut=None):
    cm, pt, _ = write_caffe(path.parent / "src", small_net(7), SMALL_INPUT, "V1")
    members = {"googlenet_places205/googlelet_places205_train_iter_2400000.caffemodel":
               open(cm, "rb").read(),
               "googlenet_places205/deploy_places205.protxt": open(pt, "rb").read()}
    if with_labels:
        members["googlenet_places205/categoryIndex_places205.csv"] = "".join(
            "/%s/scene_%d %d\n" % ("abcdefg"[i], i, i) for i in range(7)).encode()
    data = tar_gz(members)
    path.write_bytes(data[:cut] if cut else data)


def tar_gz(members):
    """A .tar.gz of {name: bytes}, as bytes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def photo(folder):
    """A small PNG to classify."""
    from PIL import Image
    path = folder / "photo.png"
    Image.new("RGB", (30, 26), (90, 140, 60)).save(path)
    return str(path)


def test_places_archive_unpacks_and_keeps_its_205_style_classes(mirror, tmp_path, capsys):
    folder, url = mirror
    places_archive(folder / "googlenet_places205.tar.gz")
    dest = tmp_path / "weights"
    assert main(["download", "places205", "--dest", str(dest), "--url", url,
                           "--no-progress"]) == 0
    assert "no published digest" in capsys.readouterr().out
    model = load_model(dest / "places205_googlenet.h5")
    assert model.descriptions == ["scene %d" % i for i in range(7)]
    assert model.wnids[3] == "/d/scene_3"
    assert (model.channel_order, list(model.mean)) == ("BGR", [104, 116, 122])


def labels_archive(path, n=7):
    """A stand-in for placesCNN_upgraded.tar.gz: its class list among other files."""
    path.write_bytes(tar_gz({
        "placesCNN_upgraded/categoryIndex_places205.csv": "".join(
            "/%s/place_%d %d\n" % ("abcdefg"[i % 7], i, i) for i in range(n)).encode(),
        "placesCNN_upgraded/places205CNN_mean.binaryproto": b"\0" * 64}))


def test_places_names_come_from_the_places_cnn_archive(mirror, tmp_path, capsys):
    """The GoogLeNet archive has no class list: the download takes
    categoryIndex_places205.csv from the Places-CNN archive, so the net
    classifies with its names."""
    folder, url = mirror
    places_archive(folder / "googlenet_places205.tar.gz", with_labels=False)
    labels_archive(folder / caffe_zoo.ZOO["places205"].labels_archive.filename)
    dest = tmp_path / "weights"
    assert main(["download", "places205", "--dest", str(dest), "--url", url,
                 "--no-progress"]) == 0
    capsys.readouterr()
    weights = dest / "places205_googlenet.h5"
    assert load_model(weights).descriptions == ["place %d" % i for i in range(7)]
    assert main(["classify", photo(tmp_path), "--weights", str(weights), "--top", "2"]) == 0
    assert "place " in capsys.readouterr().out


def test_a_net_without_names_says_which_flag_names_them(mirror, tmp_path, capsys):
    folder, url = mirror
    places_archive(folder / "googlenet_places205.tar.gz", with_labels=False)
    labels_archive(folder / caffe_zoo.ZOO["places205"].labels_archive.filename, n=3)
    dest = tmp_path / "weights"
    # three names for seven outputs: refused, nothing written
    assert main(["download", "places205", "--dest", str(dest), "--url", url,
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "3 class names for a net with 7 outputs" in err
    assert not (dest / "places205_googlenet.h5").exists()
    # converted without names, classify says how to name them, in one line
    cm, pt, _ = write_caffe(tmp_path / "src", small_net(7), SMALL_INPUT, "layer")
    weights = tmp_path / "unnamed.h5"
    assert main(["convert-weights", str(cm), str(weights), "--prototxt", str(pt)]) == 0
    capsys.readouterr()
    assert main(["classify", photo(tmp_path), "--weights", str(weights)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--labels" in err and "no class names" in err


def test_truncated_archive_is_one_line(mirror, tmp_path, capsys):
    folder, url = mirror
    places_archive(folder / "googlenet_places205.tar.gz", cut=300)
    dest = tmp_path / "weights"
    assert main(["download", "places205", "--dest", str(dest), "--url", url,
                           "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "truncated" in err
    assert not (dest / "places205_googlenet.h5").exists()
