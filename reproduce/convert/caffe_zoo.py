"""Fetch a Caffe GoogLeNet, verify it, convert it into ``DEST/<model>.h5``
(``python -m reproduce download googlenet|places205 [--dest weights/]``).

* ``googlenet``: BVLC GoogLeNet (ImageNet, 1000 classes), the net of
  google/deepdream's dream.ipynb.  ``bvlc_googlenet.caffemodel`` from the
  BVLC model zoo, checked against the SHA-1 its readme publishes
  (BVLC/caffe models/bvlc_googlenet/readme.md: ``sha1: 405fc5ac...``);
  ``deploy.prototxt`` from BVLC/caffe at commit 9b89154 (master, the file
  last changed in 2cc3844c), checked against the SHA-256 of that file as
  the repository holds it (computed from the git object; Caffe publishes
  no digest for it).
* ``places205``: Places205-GoogLeNet (205 scene classes), from the Places
  project's download page (places.csail.mit.edu/downloadCNN.html):
  ``googlenet_places205.tar.gz`` with the caffemodel and its deploy
  prototxt.  The class list, ``categoryIndex_places205.csv`` ("/a/abbey 0",
  one a line in output order), came with the project's first Places-CNN
  (AlexNet) archive, ``placesCNN_upgraded.tar.gz``, beside
  ``places205CNN_mean.binaryproto``, which is where programs that classify
  with Places205-GoogLeNet read it; it is taken from the GoogLeNet archive
  when that has one, else from that archive (``labels_archive``).  The
  project publishes no digests, so each archive's SHA-256 is printed and
  recorded; ``--sha256`` checks the model's against one you trust.

Downloads resume (``download.fetch``: HTTP Range on ``<file>.part``).  The
ImageNet class names come from our ImageNet list (Caffe's ilsvrc12 order is
the standard one); Places' from its csv.  ``--url URL`` (``mirror``) fetches every
file from URL/<file name> instead (a local copy; the tests use loopback).
"""
import collections
import fnmatch
import os
import shutil
import tarfile

from ..errors import UserError
from .download import fetch, report_digests

Remote = collections.namedtuple("Remote", "filename url sha256 sha1")

BVLC_COMMIT = "9b891540183ddc834a02b2bd81b31afae71b2153"


class ZooModel(collections.namedtuple(
        "ZooModel", "name output caffemodel prototxt labels archive labels_archive")):
    """A model to fetch: either two Remotes (caffemodel, prototxt), or an
    ``archive`` Remote with file-name patterns for the three members; a
    ``labels_archive`` Remote holds the class list (pattern ``labels``)
    where the model's archive has none."""


ZOO = {
    "googlenet": ZooModel(
        "bvlc_googlenet", "bvlc_googlenet.h5",
        Remote("bvlc_googlenet.caffemodel",
               "http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel", None,
               ("405fc5acd08a3bb12de8ee5e23a96bec22f08204",)),
        Remote("bvlc_googlenet_deploy.prototxt",
               "https://raw.githubusercontent.com/BVLC/caffe/%s/models/bvlc_googlenet/"
               "deploy.prototxt" % BVLC_COMMIT,
               "fa36cd4112a3240a29600a5aa35333f31bec33daa1a6085b0af308a9f50f0c50", ()),
        None, None, None),
    "places205": ZooModel(
        "places205_googlenet", "places205_googlenet.h5",
        "*.caffemodel", ("*deploy*.prot*xt", "*.prot*xt"), "*categoryIndex*",
        Remote("googlenet_places205.tar.gz",
               "http://places.csail.mit.edu/model/googlenet_places205.tar.gz", None, ()),
        Remote("placesCNN_upgraded.tar.gz",
               "http://places.csail.mit.edu/model/placesCNN_upgraded.tar.gz", None, ())),
}


def _url(remote, mirror):
    return mirror.rstrip("/") + "/" + remote.filename if mirror else remote.url


def _get(remote, dest, mirror, sha256, progress, recorded=True):
    path = os.path.join(dest, remote.filename)
    digests, checked = fetch(_url(remote, mirror), path, sha256 or remote.sha256,
                             sha1=() if sha256 else remote.sha1, progress=progress)
    report_digests(path, digests, checked, recorded)
    return path


def _member(names, patterns, archive, required=True):
    """The first archive member whose base name matches one of ``patterns``."""
    for pattern in (patterns,) if isinstance(patterns, str) else patterns:
        hits = sorted(n for n in names if fnmatch.fnmatch(os.path.basename(n), pattern))
        if hits:
            return hits[0]
    if required:
        raise UserError("%s: no file matching %s in this archive; it is not the one "
                        "expected here: delete it to download it again"
                        % (archive, patterns))
    return None


def unpack(archive, folder, patterns):
    """Extract the members matching ``patterns`` (a list; None entries skipped)
    from a tar archive into ``folder`` by base name -> their paths (None where
    an optional member is absent).  Only regular files, never a path outside."""
    from ..fileio import atomic_path
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}
            chosen = [None if p is None else _member(members, p, archive, required)
                      for p, required in patterns]
            paths = []
            for name in chosen:
                if name is None:
                    paths.append(None)
                    continue
                out = os.path.join(folder, os.path.basename(name))
                if not (os.path.exists(out)
                        and os.path.getsize(out) == members[name].size):
                    with atomic_path(out) as tmp, open(tmp, "wb") as f:
                        shutil.copyfileobj(tar.extractfile(members[name]), f)
                paths.append(out)
            return paths
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise UserError("%s: cannot read this archive (%s); it may be truncated: "
                        "delete it to download again" % (archive, exc))


def download_and_convert(key, dest, mirror=None, sha256=None, progress=True):
    """Fetch ZOO[key] into ``dest``, convert it to ``dest/<output>``; returns that path."""
    from . import summary
    from .caffe import convert_caffe
    from ..nets.weights import save_model

    entry = ZOO[key]
    if entry.archive is None:
        caffemodel = _get(entry.caffemodel, dest, mirror, sha256, progress)
        prototxt = _get(entry.prototxt, dest, mirror, None, progress, recorded=False)
        labels = None
    else:
        archive = _get(entry.archive, dest, mirror, sha256, progress, recorded=False)
        caffemodel, prototxt, labels = unpack(
            archive, os.path.join(dest, entry.name),
            [(entry.caffemodel, True), (entry.prototxt, True), (entry.labels, False)])
        if labels is None and entry.labels_archive is not None:
            names = _get(entry.labels_archive, dest, mirror, None, progress, recorded=False)
            labels, = unpack(names, os.path.join(dest, entry.name), [(entry.labels, True)])
        if labels is None:
            print("%s: no class list in the archive; the model is converted without "
                  "class names (give them with `python -m reproduce convert-weights ... "
                  "--labels FILE`)" % archive)
    model = convert_caffe(caffemodel, prototxt, model_name=entry.name, labels=labels)
    out = os.path.join(dest, entry.output)
    save_model(model, out)
    print(summary(model, out))
    return out
