"""Reading images, opening our HDF5 files, and writing any output atomically
(temp file, then rename)."""
import contextlib
import os
import re
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError


@contextlib.contextmanager
def atomic_path(dst, suffix=None):
    """Yield a temporary path beside ``dst``; rename it onto ``dst`` on success.

    On any exception (Ctrl-C included) the temporary file is removed, so a
    failed write never leaves a half-written ``dst`` behind.
    """
    dst = os.fspath(dst)
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    suffix = suffix if suffix is not None else os.path.splitext(dst)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def safe_name(name):
    """A layer name as a file name: ``inception_4c/output`` -> ``inception_4c_output``
    (what the DeepDream posts called their pictures); any character other than
    letters, digits, ``.``, ``_`` and ``-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def load_image(path, size=None):
    """Read an image as float32 RGB on 0..255, shape (H, W, 3).

    ``size`` = (width, height) resizes it (bicubic).  The 2015 code never
    resized: its start image set the optimised size (models/default.py:48-49).
    """
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and tuple(size) != im.size:
                im = im.resize(tuple(int(s) for s in size), Image.BICUBIC)
            return np.asarray(im, dtype=np.float32)
    except FileNotFoundError:
        raise UserError("%s: no such image file" % path)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise UserError("%s: cannot read this image (%s); give a PNG or JPEG file"
                        % (path, exc.__class__.__name__))


def to_uint8(image):
    """(H, W, 3) float on 0..255 -> uint8, rounded and clipped."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def save_image(image, path):
    """Write an (H, W, 3) 0..255 image atomically; the format follows the suffix."""
    with atomic_path(path) as tmp:
        Image.fromarray(to_uint8(image)).save(tmp, format=_format_for(path))


def _format_for(path):
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP",
            "gif": "GIF"}.get(ext, "PNG")


def text(value):
    """An HDF5 attribute as str (h5py gives bytes or str)."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


@contextlib.contextmanager
def open_ours(path, format, version, noun, what, hint, needs=()):
    """Open one of our HDF5 files (weights, prior, reference vectors) for reading.

    ``format`` and ``version`` are the file kind's (root attributes);
    messages name it as ``noun`` ("prior file") when it is missing and as
    ``what`` ("a prior") when the file is another kind; ``hint`` says how to
    make one; ``needs`` lists datasets or groups it must hold.  A missing
    file, a file that is not HDF5, one of another kind or a newer version
    is one UserError line.  Yields the open ``h5py.File``.
    """
    import h5py
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError("%s: no such %s; %s" % (path, noun, hint))
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise UserError("%s: not an HDF5 file; %s" % (path, hint))
    with f:
        if text(f.attrs.get("format", "")) != format or any(n not in f for n in needs):
            raise UserError("%s: an HDF5 file, but not %s (no format=%s attribute); %s"
                            % (path, what, format, hint))
        if int(f.attrs.get("version", 0)) > version:
            raise UserError("%s: written by a newer version (format %d) of this "
                            "project; update it" % (path, int(f.attrs["version"])))
        yield f
