"""Reading images, opening our HDF5 files, and writing any output atomically
(temp file, then rename)."""
import contextlib
import os
import re
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError


def check_output(path, inputs=(), option="--out"):
    """Refuse an output path that would fail or destroy something, before any
    computation: an empty or folder-like name, a name too long for the
    folder (with our temporary prefix), a parent that is a file or cannot be
    written, an existing path that is not a regular file (a device such as
    /dev/null, a FIFO, a folder: the final rename would replace it), or one
    of the ``inputs``.  Missing folders are fine: they are created.
    Returns the path."""
    text = os.fspath(path) if path is not None else ""
    if not text.strip():
        raise UserError("%s: an empty file name; give the file to write" % option)
    if text.endswith(os.sep) or os.path.basename(text) in ("", ".", ".."):
        raise UserError("%s %s: a folder name; give a file name" % (option, text))
    full = os.path.abspath(text)
    if os.path.lexists(full) and not os.path.isfile(full):
        kind = "a folder" if os.path.isdir(full) else "not a regular file (a device, FIFO or socket)"
        raise UserError("%s %s: exists and is %s; refusing to replace it" % (option, text, kind))
    for source in inputs:
        if source and os.path.exists(full) and os.path.exists(source) and \
                os.path.samefile(full, source):
            raise UserError("%s %s: the same file as the input %s; write elsewhere"
                            % (option, text, source))
    folder = os.path.dirname(full)
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError("%s %s: %s is a file, not a folder" % (option, text, existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError("%s %s: cannot write in %s" % (option, text, existing))
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    longest = max(len(os.fsencode(os.path.basename(full))) + _TMP_EXTRA,
                  max((len(os.fsencode(part)) for part in
                       os.path.relpath(full, existing).split(os.sep)), default=0))
    if longest > name_max or len(os.fsencode(full)) > 4000:
        raise UserError("%s %s: the name is too long for the file system (at most %d "
                        "bytes a name)" % (option, text[:80] + "...", name_max - _TMP_EXTRA))
    return text


_TMP_EXTRA = len(".tmp-") + 8 + 8  # mkstemp's prefix and random part, a suffix


# --- interrupts ------------------------------------------------------------
#
# Ctrl-C (SIGINT) and SIGTERM are one thing: under the CLI both arrive as
# KeyboardInterrupt, and one handler, installed once for the command
# (:class:`interrupt_scope`), decides what a signal does from two plain
# values, never by swapping handlers in and out (a signal landing while a
# handler is being restored could be lost, or raised in the wrong place):
# * the first interrupt raises KeyboardInterrupt and marks the command
#   stopping: every later one is noted, never raised, so a double Ctrl-C
#   at any moment (in the run loop, while the first unwinds, in the save,
#   after the command returned) cannot discard what the first one keeps;
# * a save holds them until its file is renamed into place
#   (:class:`deferred_interrupts`), then raises the one that came, so no
#   signal leaves a ``.tmp-*`` file or half a result.

class interrupt_scope:
    """One command's life under the CLI: ``written`` gathers every file
    :func:`atomic_path` put in place; SIGINT and SIGTERM go to
    :meth:`_signal` (in the main thread; elsewhere nothing is installed).

    ``final=True``: the command is the process's whole life (the CLI's own
    entry), so on leaving, the signals are ignored instead of restored: a
    late Ctrl-C while the interpreter exits changes neither the status nor
    the files.  Otherwise the previous handlers come back."""
    current = None

    def __init__(self, final=False):
        self.final = final

    def __enter__(self):
        import signal
        import threading
        self.written, self.handlers = [], {}
        self.stopping = False  # an interrupt was raised: later ones are noted
        self.saving = 0        # deferred_interrupts under way
        self.pending = []      # signals that came during a save
        self.outer, interrupt_scope.current = interrupt_scope.current, self
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.handlers[sig] = signal.signal(sig, self._signal)
        return self

    def _signal(self, signum, frame):
        if self.stopping:
            import sys
            if not self.pending:
                print("(stopping already: what was made is being kept)",
                      file=sys.stderr, flush=True)
            self.pending.append(signum)
        elif self.saving:
            self.pending.append(signum)
        else:
            self.stopping = True
            raise KeyboardInterrupt

    def end_save(self, failed):
        """A save ended (the last, if several were nested): raise the
        interrupt that came meanwhile, unless the save itself failed."""
        self.saving -= 1
        if self.saving or self.stopping or not self.pending:
            return
        self.pending = []
        self.stopping = True
        if not failed:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        import signal
        for sig, handler in self.handlers.items():
            signal.signal(sig, signal.SIG_IGN if self.final else handler)
        self.handlers = {}
        interrupt_scope.current = self.outer
        return False


def stopping():
    """A KeyboardInterrupt that no signal raised (a child's death, nothing
    to save) ends the command: from now on it only saves, so later
    interrupts are noted, not raised (a no-op outside an
    :class:`interrupt_scope`, e.g. a library caller keeps its own Ctrl-C)."""
    if interrupt_scope.current is not None:
        interrupt_scope.current.stopping = True


_checkpoint_hits = {}


def checkpoint(name):
    """A point a test can wait on, for signals that must land in a phase.

    Only with ``REPRODUCE_CHECKPOINTS=DIR`` in the environment (tests set
    it; nothing else does): print ``checkpoint NAME K pid=PID`` on stderr
    (K: the K-th time this process got here), and while ``DIR/NAME.hold``
    exists and K is at least the number it holds (empty: 1), wait, at most
    60 s, so that the test can send its signals to a process known to be
    at this point, then remove the file."""
    folder = os.environ.get("REPRODUCE_CHECKPOINTS")
    if not folder:
        return
    import sys
    import time
    hits = _checkpoint_hits[name] = _checkpoint_hits.get(name, 0) + 1
    print("checkpoint %s %d pid=%d" % (name, hits, os.getpid()), file=sys.stderr,
          flush=True)
    hold, deadline = os.path.join(folder, name + ".hold"), time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with open(hold) as f:
                first = f.read().strip()
        except OSError:  # no hold, or the test has just removed it
            return
        if hits < int(first or 1):
            return
        time.sleep(0.005)


class deferred_interrupts:
    """Hold Ctrl-C and SIGTERM while a file is written and renamed, then
    deliver them: a second Ctrl-C during the final save must not lose the
    first one's picture (nor leave a temporary file).

    ``deferred_interrupts(active=False)`` holds nothing until :meth:`start`,
    so that a ``with`` can hold from the end of a loop to past a rename
    made by an inner ``with``.  Under an :class:`interrupt_scope` (the CLI)
    it only counts, for the scope's handler; a library caller without one
    gets handlers of its own for the time of the save."""

    def __init__(self, active=True):
        self.active, self.caught, self.handlers, self.scope = active, [], {}, None

    def __enter__(self):
        if self.active:
            self.start()
        return self

    holding = 0  # how many are holding now: an inner one leaves it to the outer

    def start(self):
        import signal
        import threading
        if self.scope is not None or self.handlers:
            return
        scope = interrupt_scope.current
        if scope is not None and scope.handlers:
            scope.saving += 1
            self.scope = scope
            return
        if deferred_interrupts.holding or \
                threading.current_thread() is not threading.main_thread():
            return
        deferred_interrupts.holding += 1
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.handlers[sig] = signal.signal(
                sig, lambda signum, frame: self.caught.append(signum))

    def __exit__(self, kind, value, traceback):
        import signal
        if self.scope is not None:
            scope, self.scope = self.scope, None
            scope.end_save(failed=kind is not None)
            return False
        if self.handlers:
            deferred_interrupts.holding -= 1
        for sig, handler in self.handlers.items():
            signal.signal(sig, handler)
        self.handlers = {}
        if self.caught and kind is None:
            raise KeyboardInterrupt
        return False


@contextlib.contextmanager
def atomic_path(dst, suffix=None):
    """Yield a temporary path beside ``dst``; rename it onto ``dst`` on success.

    On any exception (Ctrl-C included) the temporary file is removed, so a
    failed write never leaves a half-written ``dst`` behind.  ``dst`` is
    checked first (:func:`check_output`): an existing device, FIFO or
    folder is never replaced.
    """
    dst = check_output(dst, option="output")
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    suffix = suffix if suffix is not None else os.path.splitext(dst)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix[:8], dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp
        checkpoint("save" + os.path.splitext(dst)[1])  # e.g. "save.png"
        os.replace(tmp, dst)
        if interrupt_scope.current is not None:
            interrupt_scope.current.written.append(dst)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def safe_name(name):
    """A layer name as a file name: ``inception_4c/output`` -> ``inception_4c_output``
    (what the DeepDream posts called their pictures); any character other than
    letters, digits, ``.``, ``_`` and ``-`` becomes ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


# Past this many pixels an image is a decompression bomb to us (a 30000x30000
# PNG compresses to 107 KB): its float32 RGB copy alone would take 10 GiB.
MAX_PIXELS = 64 << 20
# bytes per pixel while decoding: PIL's 8-bit RGBA (4) + our float32 RGB (12)
DECODE_BYTES_PER_PIXEL = 16
_ORIENTATION = 0x0112    # EXIF tag; values 5..8 turn the picture a quarter
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def image_header(path):
    """(width, height) of the picture as it will be shown, from the header
    alone (EXIF orientation applied); one-line UserError if it cannot be
    read or would be a decompression bomb."""
    with _open(path) as im:
        return _shown_size(im)


def _shown_size(im):
    width, height = im.size
    try:
        turned = im.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001  (a damaged EXIF block: shown as stored)
        turned = False
    return (height, width) if turned else (width, height)


@contextlib.contextmanager
def _open(path):
    """Image.open (header only) with every failure as one UserError line."""
    import warnings
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError("%s: no such image file" % path)
    if not os.path.isfile(path):
        raise UserError("%s: not a regular file; give a PNG or JPEG file" % path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's bomb and palette warnings: we decide
        try:
            im = Image.open(path)
        except Image.DecompressionBombError:
            raise UserError("%s: the image declares more than %d pixels (a "
                            "decompression bomb?); refusing to decode it" % (path, MAX_PIXELS))
        except Exception as exc:  # noqa: BLE001  PIL raises many types for bad files
            raise UserError("%s: cannot read this image (%s); give a PNG or JPEG file"
                            % (path, exc.__class__.__name__))
        with im:
            width, height = im.size
            if width * height > MAX_PIXELS or min(width, height) < 1:
                raise UserError("%s: the image is %dx%d pixels; we decode at most %d "
                                "(a decompression bomb?); make it smaller first"
                                % (path, width, height, MAX_PIXELS))
            yield im


def load_image(path, size=None, check=None):
    """Read an image as float32 RGB on 0..255, shape (H, W, 3).

    ``size`` = (width, height) resizes it (bicubic).  The 2015 code never
    resized: its start image set the optimised size (models/default.py:48-49).
    ``check(width, height)``, called with the size the caller will get
    before anything is decoded, may raise (a memory estimate).  EXIF
    orientation is applied, alpha dropped, 16-bit images scaled to 0..255.
    """
    from .nets.memory import available_bytes, human
    with _open(path) as im:
        width, height = _shown_size(im)
        need = DECODE_BYTES_PER_PIXEL * width * height
        free = available_bytes()
        if free is not None and need > free:
            raise UserError("%s: decoding %dx%d pixels needs about %s, more than the %s "
                            "available" % (path, width, height, human(need), human(free)))
        if check is not None:
            check(*(tuple(int(s) for s in size) if size is not None else (width, height)))
        try:
            return _decode(im, size)
        except MemoryError:
            raise UserError("%s: not enough memory to decode this image" % path)
        except Exception as exc:  # noqa: BLE001  truncated or damaged data
            raise UserError("%s: cannot decode this image (%s: %s); give a PNG or JPEG "
                            "file" % (path, exc.__class__.__name__,
                                      " ".join(str(exc).split())[:120]))


def _decode(im, size):
    from PIL import ImageOps
    im = ImageOps.exif_transpose(im)
    if im.mode in _SIXTEEN_BIT or im.mode == "F":
        # convert("RGB") would clip 16-bit values to 255 (white): scale instead
        gray = np.asarray(im, np.float32)
        if im.mode != "F":
            gray = gray * np.float32(255.0 / 65535.0)
        im = Image.fromarray(np.clip(gray, 0, 255).astype(np.float32), "F")
        if size is not None and tuple(size) != im.size:
            im = im.resize(tuple(int(s) for s in size), Image.BICUBIC)
        gray = np.clip(np.asarray(im, np.float32), 0, 255)
        return np.repeat(gray[:, :, None], 3, axis=2)
    im = im.convert("RGB")  # alpha dropped, palettes and CMYK resolved
    if size is not None and tuple(size) != im.size:
        im = im.resize(tuple(int(s) for s in size), Image.BICUBIC)
    return np.asarray(im, dtype=np.float32)


def to_uint8(image):
    """(H, W, 3) float on 0..255 -> uint8, rounded and clipped."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def save_image(image, path):
    """Write an (H, W, 3) 0..255 image atomically; the format follows the
    suffix.  Ctrl-C waits until the file is in place (deferred_interrupts)."""
    with deferred_interrupts(), atomic_path(path) as tmp:
        Image.fromarray(to_uint8(image)).save(tmp, format=_format_for(path))


def _format_for(path):
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP",
            "gif": "GIF"}.get(ext, "PNG")


def text(value):
    """An HDF5 attribute as str (h5py gives bytes or str)."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
