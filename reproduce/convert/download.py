"""Fetch, verify, convert (``python -m reproduce download vgg16|vgg19 [--dest weights/]``).

Downloads MatConvNet's ``imagenet-vgg-verydeep-16.mat`` (or -19, about 0.5 GB)
from the pretrained-models page into ``DEST/``, resuming an interrupted
download (an HTTP Range request continues ``<file>.part``), checks its
digest, then converts it into ``DEST/vgg16.h5`` (or ``vgg19.h5``).

Digests (the DIGESTS table):

* SHA-256: MatConvNet publishes none, and this project was written on a
  machine without internet, so we could not compute one.  We do not make one
  up: pass ``--sha256`` to check against a digest you trust; either way the
  file's SHA-256 is printed and recorded in the converted weights.
* MD5: MatConvNet's documentation lists one per file (doc/site/docs/
  pretrained.md, "File checksums", in github.com/vlfeat/matconvnet).  Two
  revisions of that page give different MD5s for the same file name (the
  models were re-exported once); a file matching either is a published one.
  ``--sha256`` replaces this check.

The ``*-beta16`` entries are the older files from before MatConvNet beta17
(top-level ``normalization``/``classes``, the layout the 2015 code read);
MatConvNet says they are numerically equivalent.  No digests are published
for them.
"""
import collections
import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request

from ..errors import UserError

BASE_URL = "https://www.vlfeat.org/matconvnet/models/"

Source = collections.namedtuple("Source", "filename url sha256 md5")

# name -> where it comes from and what it must hash to.  sha256 is None
# where no trusted SHA-256 is known (see the module doc: never invented).
DIGESTS = {
    "vgg16": Source("imagenet-vgg-verydeep-16.mat",
                    BASE_URL + "imagenet-vgg-verydeep-16.mat", None,
                    ("f72d927587ca4c97fbd165ec9cb9997f",    # later revision of the page
                     "7f0f9f01dfd99c7b7088d1c5a26eb483")),  # earlier revision
    "vgg19": Source("imagenet-vgg-verydeep-19.mat",
                    BASE_URL + "imagenet-vgg-verydeep-19.mat", None,
                    ("106118b7cf60435e6d8e04f6a6dc3657",
                     "49e623de543b207d57fab0f6eaf79a7e")),
    "vgg16-beta16": Source("imagenet-vgg-verydeep-16-beta16.mat",
                           BASE_URL + "beta16/imagenet-vgg-verydeep-16.mat", None, ()),
    "vgg19-beta16": Source("imagenet-vgg-verydeep-19-beta16.mat",
                           BASE_URL + "beta16/imagenet-vgg-verydeep-19.mat", None, ()),
}

CHUNK = 1 << 20
TIMEOUT_S = 60


def file_digests(path):
    """{"sha256": hex, "md5": hex, "sha1": hex} of a file, in one pass."""
    hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5(), "sha1": hashlib.sha1()}
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def check_digests(path, digests, sha256=None, md5=(), sha1=()):
    """Raise UserError unless ``digests`` match: the given SHA-256 if any, else
    one of the published MD5s or SHA-1s if any (MatConvNet publishes MD5s,
    Caffe's model zoo SHA-1s).  Returns what was checked ("" if nothing)."""
    if sha256:
        if digests["sha256"] != sha256.lower():
            raise UserError(
                "%s: SHA-256 %s does not match the expected %s; the file stays there: "
                "delete it to download again" % (path, digests["sha256"], sha256))
        return "SHA-256"
    for kind, label, published in (("md5", "MD5", md5), ("sha1", "SHA-1", sha1)):
        if published:
            if digests[kind] not in published:
                raise UserError(
                    "%s: %s %s matches none published for it (%s); the file stays "
                    "there: delete it to download again, or, if you trust it, run "
                    "again with --sha256 %s" % (path, label, digests[kind],
                                                ", ".join(published), digests["sha256"]))
            return label
    return ""


def fetch(url, path, sha256=None, md5=(), progress=True, sha1=()):
    """Download ``url`` to ``path`` (resuming ``path.part``) and verify it.

    Returns (digests, what was checked).  An interrupted transfer raises
    UserError and keeps ``path.part``; the next call continues it.
    """
    check_url(url)
    if os.path.exists(path):
        digests = file_digests(path)
        return digests, check_digests(path, digests, sha256, md5, sha1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    part = path + ".part"
    _download(url, part, progress)
    digests = file_digests(part)
    checked = check_digests(part, digests, sha256, md5, sha1)
    os.replace(part, path)
    return digests, checked


URL_SCHEMES = ("http", "https", "ftp", "file")  # what urllib.request opens


def check_url(url):
    """UserError unless ``url`` is a whole address urllib can open: without a
    scheme ("example.com/vgg16.mat") urlopen fails with a ValueError."""
    import urllib.parse
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme.lower() not in URL_SCHEMES or not (parts.netloc or
                                                      parts.scheme.lower() == "file"):
        raise UserError("--url %s: not a whole address (it needs %s); give e.g. "
                        "https://HOST/PATH" % (url, " or ".join(
                            s + "://" for s in URL_SCHEMES)))
    return url


def report_digests(path, digests, checked, recorded=True):
    """One line: what was verified, or the SHA-256 to compare by hand
    (``recorded``: the weights file keeps it as its source's digest)."""
    if checked:
        print("%s: %s verified; sha256 %s" % (path, checked, digests["sha256"]))
    else:
        print("%s: no published digest to check against; its sha256 is %s%s: compare "
              "it with a source you trust" % (path, digests["sha256"], (
                  " (recorded in the weights file)" if recorded else "")))


def _download(url, part, progress):
    """Append the rest of ``url`` to ``part`` (Range: bytes=<size of part>-)."""
    have = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url, headers={"User-Agent": "reproduce-download"})
    if have:
        request.add_header("Range", "bytes=%d-" % have)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left past our end: part is whole
            return
        raise UserError("%s: the server answered HTTP %d %s; check the URL or try "
                        "later" % (url, exc.code, exc.reason))
    except (urllib.error.URLError, OSError) as exc:
        raise UserError("%s: cannot connect (%s); check your internet connection%s"
                        % (url, getattr(exc, "reason", exc), _resume_hint(part, have)))
    with response:
        if have and response.status == 206:
            start = _range_start(response.headers.get("Content-Range", ""))
            if start != have:
                raise UserError("%s: asked for bytes from %d, the server sent from %s; "
                                "delete %s and run again" % (url, have, start, part))
        else:  # a full answer (200): the server ignores Range, so start over
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        _copy(response, part, have, total, progress, url)


def _copy(response, part, have, total, progress, url):
    from ..loop import progress_bar

    bar = progress_bar(total=total, initial=have, unit="B", unit_scale=True,
                       unit_divisor=1024, desc=os.path.basename(part)[:-len(".part")],
                       disable=not progress, file=sys.stderr)
    with bar, open(part, "ab" if have else "wb") as out:
        try:
            for block in iter(lambda: response.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))
        except (OSError, http.client.HTTPException):
            pass  # judged by the size below; what arrived is kept for resuming
    size = os.path.getsize(part)
    if total is not None and size < total:
        raise UserError("%s: download interrupted at %d of %d bytes%s"
                        % (url, size, total, _resume_hint(part, size)))


def _range_start(content_range):
    """'bytes 100-199/200' -> 100 (None if absent or malformed)."""
    match = re.match(r"bytes\s+(\d+)-", content_range)
    return int(match.group(1)) if match else None


def _resume_hint(part, have):
    return ("; %s keeps the %d bytes received: run the same command again to "
            "resume" % (part, have)) if have else ""


def download_and_convert(name, dest, url=None, sha256=None, progress=True):
    """Fetch model ``name`` of DIGESTS into ``dest`` and write ``dest/<name>.h5``."""
    from . import summary
    from .matconvnet import convert_matconvnet
    from ..nets.weights import save_model

    source = DIGESTS[name]
    mat = os.path.join(dest, source.filename)
    digests, checked = fetch(url or source.url, mat, sha256 or source.sha256,
                             source.md5, progress)
    report_digests(mat, digests, checked)
    model = convert_matconvnet(mat, model_name=name)
    dst = os.path.join(dest, name + ".h5")
    save_model(model, dst)
    print(summary(model, dst))
    return dst
