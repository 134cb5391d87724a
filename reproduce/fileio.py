"""Reading images, opening our HDF5 files, and writing any output atomically
(temp file, then rename)."""
import contextlib
import os
import re
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UserError


def check_output(path, inputs=(), option="--out", upfront=True):
    """Refuse an output path that would fail or destroy something, before any
    computation: an empty or folder-like name, a name too long for the
    folder (with our temporary prefix), a parent that is a file or in which
    no file can be made (tried: a read-only disk, /proc and /sys pass a
    permission check but refuse a new file), an existing path that is not a
    regular file (a device such as /dev/null, a FIFO, a folder: the final
    rename would replace it), or one of the ``inputs``.  Missing folders are
    fine: they are created.

    ``upfront`` (a command's check before its work): also try making a file
    there, and claim the path for this command (:func:`claim_output`), so
    that a second run writing the same file at the same time is refused.
    :func:`atomic_path` checks again at the write, without either.
    Returns the path."""
    text = _named(path, option)
    if text.endswith(os.sep) or os.path.basename(text) in ("", ".", ".."):
        raise UserError("%s %s: a folder name; give a file name" % (option, text))
    full = os.path.abspath(text)
    if os.path.lexists(full) and not os.path.isfile(full):
        kind = "a folder" if os.path.isdir(full) else "not a regular file (a device, FIFO or socket)"
        raise UserError("%s %s: exists and is %s; refusing to replace it" % (option, text, kind))
    for source in inputs:
        if source and _same_file(full, source):
            raise UserError("%s %s: the same file as the input %s; write elsewhere"
                            % (option, text, source))
    _check_place(os.path.dirname(full), text, option, upfront,
                 os.path.basename(full), _TMP_EXTRA)
    if upfront:
        claim_output(full, option, text)
    return text


def check_output_dir(path, option="--out-dir"):
    """:func:`check_output` for a folder a command fills (``--out-dir``,
    ``--dest``): it may exist as a folder, or be made; anything else there
    (a file, a device), a parent that is a file, or a place where no file
    can be made is refused before the work.  Claims the folder for this
    command.  Returns the path."""
    text = _named(path, option)
    full = os.path.abspath(text)
    if os.path.lexists(full) and not os.path.isdir(full):
        raise UserError("%s %s: exists and is not a folder; give a folder (it is "
                        "made if missing)" % (option, text))
    _check_place(full, text, option, True)
    claim_output(full, option, text)
    return text


def _named(path, option):
    text = os.fspath(path) if path is not None else ""
    if not text.strip():
        raise UserError("%s: an empty file name; give the file to write" % option)
    return text


def _same_file(full, source):
    """Is ``full`` the file ``source`` (the same inode, or the same path once
    links are resolved)?"""
    try:
        if os.path.exists(full) and os.path.exists(source):
            return os.path.samefile(full, source)
    except OSError:
        pass
    return os.path.realpath(full) == os.path.realpath(source)


def _check_place(folder, text, option, probe, name="", extra=0):
    """``folder`` (made if missing) can hold a new file called ``name``."""
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError("%s %s: %s is a file, not a folder" % (option, text, existing))
    problem = _cannot_create(existing) if probe else (
        None if os.access(existing, os.W_OK | os.X_OK) else "permission denied")
    if problem:
        raise UserError("%s %s: cannot make a file in %s (%s); choose another place"
                        % (option, text, existing, problem))
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    parts = os.path.relpath(os.path.join(folder, name), existing).split(os.sep)
    longest = max([len(os.fsencode(part)) for part in parts if part not in ("", ".")]
                  + [len(os.fsencode(name)) + extra])
    if longest > name_max or len(os.fsencode(os.path.join(folder, name))) > 4000:
        raise UserError("%s %s: the name is too long for the file system (at most %d "
                        "bytes a name)" % (option, text[:80] + "...", name_max - extra))


def _cannot_create(folder):
    """None when a file can be made in ``folder`` (tried, then removed), else why not."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    except OSError as exc:
        return exc.strerror or exc.__class__.__name__
    os.close(fd)
    os.remove(probe)
    return None


def claim_output(full, option="--out", text=None):
    """Hold ``full`` for the running command (its :class:`interrupt_scope`)
    until it ends: a second command that claims the same path meanwhile, in
    this process or another, is refused with one line naming the holder.
    Without this, two runs writing one ``--out`` at once both reported
    success and the slower one's file silently replaced the other's.  The
    lock is an ``flock`` on a file in the temporary folder named by the
    resolved path, so a killed run releases it.  Outside a command (a
    library caller) nothing is held."""
    import fcntl
    import hashlib
    scope = interrupt_scope.current
    if scope is None:
        return
    key = os.path.realpath(full)
    if key in scope.claims:
        return
    folder = os.path.join(tempfile.gettempdir(), "reproduce-outputs-%d" % os.getuid())
    os.makedirs(folder, mode=0o700, exist_ok=True)
    lock = os.path.join(folder, hashlib.sha256(os.fsencode(key)).hexdigest()[:32])
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        raise UserError("%s %s: another run (process %s) is writing it now; wait for "
                        "it to end, or write elsewhere" % (option, text or full, holder))
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    scope.claims[key] = fd


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
        self.written, self.handlers, self.claims = [], {}, {}
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
        for fd in self.claims.values():  # closing the lock file releases its flock
            os.close(fd)
        self.claims = {}
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
    dst = check_output(dst, option="output", upfront=False)
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


# --- reading small input files, bounded ----------------------------------
#
# Every file we read whole (a prototxt, a caffemodel, a list of names, a
# run's JSON state) goes through read_bytes: a device or FIFO such as
# /dev/zero never ends and a huge file exhausts the memory (MemoryError
# after minutes), so only regular files of at most ``limit`` bytes are read.

MiB = 1 << 20
TEXT_LIMIT = 64 * MiB      # a name list, a prototxt or a JSON state: far below this
JSON_DEPTH = 32            # nesting past this is refused before json.loads recurses
                           # (the server's request bodies too)


def read_bytes(path, what, limit=TEXT_LIMIT):
    """The contents of the regular file ``path`` (a ``what``, for the
    message), at most ``limit`` bytes; anything else is one UserError."""
    import stat
    path = os.fspath(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise UserError("%s: not a regular file (%s); give the %s" % (
                path, "a folder" if stat.S_ISDIR(info.st_mode) else
                "a device, FIFO or socket, which may never end", what))
        if info.st_size > limit:
            raise UserError("%s: %d MiB, more than a %s may be (%d MiB); is it the "
                            "right file?" % (path, info.st_size // MiB, what, limit // MiB))
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise UserError("%s: no such %s" % (path, what))
    except MemoryError:
        raise UserError("%s: not enough memory to read this %s" % (path, what))
    except OSError as exc:
        raise UserError("%s: cannot read this %s (%s)" % (path, what, exc.strerror or exc))
    if len(data) > limit:  # it grew while read, or /proc: a size of 0 that lies
        raise UserError("%s: more than a %s may be (%d MiB); is it the right file?"
                        % (path, what, limit // MiB))
    return data


def read_text(path, what, limit=TEXT_LIMIT):
    """:func:`read_bytes` as UTF-8 text; a binary file is one UserError."""
    data = read_bytes(path, what, limit)
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"),
                                     data.index(b"\0") + 1, "a NUL byte")
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError("%s: not a text file (binary data at byte %d); give the %s as "
                        "UTF-8 text" % (path, exc.start, what))


def json_depth(text):
    """The deepest nesting of [ and { in ``text``, strings skipped (an upper
    bound is enough: it only refuses)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            escaped, in_string = (not escaped and ch == "\\"), in_string and (escaped or ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def read_json(path, what, kind=dict, limit=TEXT_LIMIT):
    """A JSON file holding one ``kind`` (an object by default); a damaged,
    too deep or other file is one UserError."""
    import json
    text = read_text(path, what, limit)
    problem = None
    if json_depth(text) > JSON_DEPTH:
        problem = "nested more than %d deep" % JSON_DEPTH
    else:
        try:
            value = json.loads(text)
        except ValueError as exc:
            problem = "damaged JSON: %s" % exc
        else:
            if not isinstance(value, kind):
                problem = "JSON %s, not %s" % (type(value).__name__, {
                    dict: "an object", list: "a list"}.get(kind, kind.__name__))
    if problem:
        raise UserError("%s: not a %s (%s)" % (path, what, problem))
    return value


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


def save_image(image, path, metadata=None):
    """Write an (H, W, 3) 0..255 image atomically; the format follows the
    suffix.  Ctrl-C waits until the file is in place (deferred_interrupts).

    ``metadata``: a JSON-able mapping kept in the file under the key
    :data:`METADATA_KEY` (PNG: a text chunk; JPEG: the comment segment),
    read back by :func:`image_metadata`.
    """
    options = {}
    if metadata is not None:
        import json
        blob = json.dumps(metadata, sort_keys=True, default=_plain)
        if _format_for(path) == "PNG":
            from PIL import PngImagePlugin
            options["pnginfo"] = PngImagePlugin.PngInfo()
            options["pnginfo"].add_text(METADATA_KEY, blob)
        elif _format_for(path) == "JPEG":
            options["comment"] = (METADATA_KEY + ":" + blob).encode("utf-8")
    with deferred_interrupts(), atomic_path(path) as tmp:
        Image.fromarray(to_uint8(image)).save(tmp, format=_format_for(path), **options)


METADATA_KEY = "reproduce"   # where save_image keeps the settings a picture was made with


def image_metadata(path):
    """The mapping :func:`save_image` kept in ``path`` (an empty one if none)."""
    import json
    with _open(path) as im:
        blob = im.info.get(METADATA_KEY)
        comment = im.info.get("comment", b"")
        if blob is None and comment.startswith((METADATA_KEY + ":").encode()):
            blob = comment[len(METADATA_KEY) + 1:].decode("utf-8")
    return json.loads(blob) if blob else {}


def _plain(value):
    """JSON for what json does not know: numpy numbers and arrays, anything else as text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _format_for(path):
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP",
            "gif": "GIF"}.get(ext, "PNG")


def text(value):
    """An HDF5 attribute as str (h5py gives bytes or str)."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
