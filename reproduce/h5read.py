"""Reading our HDF5 files (weights, priors, reference vectors) as untrusted input.

Every file we read may have been edited, damaged or crafted, so one reader
serves all three formats:

* :func:`load_isolated` runs the format's reader in a forked child process,
  killed when it stops making progress, and brings the result back through
  a pipe.  A corrupted
  object header can make the HDF5 library loop inside C code, deaf to
  Ctrl-C (a single byte set to zero at offset 2320 of our prior does it,
  in ``attrs.__getitem__``); a damaged chunk index can crash it.  Neither
  can be caught in-process, and a checksum would only cover files we wrote
  (it lives in the very metadata that spins).  A child we can kill covers
  every file, ours or not, for the price of a fork and a pickle.
* :func:`check_tree` refuses what our writers never make and what could
  read another file: soft links (which may loop), external links, deep or
  huge trees; :func:`check_dataset` external or virtual dataset storage.
* :func:`read_attr` / :func:`read_array` read one value by a small schema
  ("int[2]", "float", "str|int[4]", ...), checking kind, shape, declared
  size (before allocating) and finiteness, and name the file and object
  in the one-line error.
"""
import os
import pickle
import re
import select
import signal
import threading
import time

import numpy as np

from .errors import UserError
from .fileio import checkpoint

SILENCE_SECONDS = 3.0         # a child silent this long is stuck in the library
BEAT_SECONDS = 0.2
SLAB_BYTES = 16 << 20         # big datasets are read in slabs, between which the child beats
MAX_ELEMENTS = 1 << 30        # one dataset: 4 GiB of float32 (VGG-16's fc6 is 103 M)
MAX_ATTR_ELEMENTS = 1 << 20
MAX_DEPTH = 6
MAX_OBJECTS = 100000
STORAGE_RATIO = 64            # declared bytes may exceed stored bytes this much (compression)


def one_line(text):
    return " ".join(str(text).split())


# --- the child process -------------------------------------------------------

def load_isolated(path, reader, what, hint):
    """``reader(h5file, path)`` for the HDF5 file at ``path``, run in a child.

    ``what`` names the format in messages ("weights", "prior", ...); ``hint``
    says what to do.  Returns what ``reader`` returns (it must pickle).  Any
    failure, hang or crash of the child becomes one UserError line.

    The child proves it is alive with a heartbeat thread.  h5py holds the
    GIL inside the library, so a loop in HDF5's C code silences the thread;
    after SILENCE_SECONDS without a beat or data the child is killed.  A
    slow disk or a large file therefore never trips it: progress is
    silence's opposite, not a fixed budget for the whole read.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError("%s: no such %s file; %s" % (path, what, hint))
    if not os.path.isfile(path):
        raise UserError("%s: not a regular file; give a %s file" % (path, what))
    if not hasattr(os, "fork"):
        return _unwrap(_payload(path, reader, what, hint), path)
    key = _cache_key(path, reader, what, hint)
    cached = _cached(key)
    if cached is not None:
        return _unwrap(pickle.loads(cached), path)
    data_r, data_w = os.pipe()
    beat_r, beat_w = os.pipe()
    # Signals wait while the process forks: Python runs its at-fork hooks
    # (logging's lock) in the parent, and an interrupt raised inside one is
    # printed as "Exception ignored" and lost.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    if pid == 0:  # the child: never returns, never runs the parent's cleanup
        status = 1
        try:
            os.close(data_r)
            os.close(beat_r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal held: the end
            threading.Thread(target=_beat, args=(beat_w,), daemon=True).start()
            checkpoint("h5read")
            data = pickle.dumps(_payload(path, reader, what, hint),
                                protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(data_w, view[:1 << 22]):]
            status = 0
        except KeyboardInterrupt:  # a signal before the handlers above were reset
            status = INTERRUPTED
        finally:
            os._exit(status)
    os.close(data_w)
    os.close(beat_w)
    chunks, finished = [], False
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal held: raised here
        last = time.monotonic()
        while not finished:
            left = last + SILENCE_SECONDS - time.monotonic()
            ready = select.select([data_r, beat_r], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                break
            last = time.monotonic()
            if beat_r in ready:
                os.read(beat_r, 4096)
            if data_r in ready:
                chunk = os.read(data_r, 1 << 22)
                chunks.append(chunk)
                finished = not chunk
    finally:
        # also on Ctrl-C or SIGTERM (KeyboardInterrupt under the CLI): the
        # child goes with the parent's read, killed and reaped
        os.close(data_r)
        os.close(beat_r)
        if not finished:
            _kill(pid)
        _, status = os.waitpid(pid, 0)
    if _interrupted(status):
        # the terminal's Ctrl-C (or `timeout`'s SIGTERM to the process group)
        # reached the child too: an interrupt, not a damaged file
        raise KeyboardInterrupt
    if not finished:
        raise UserError("%s: reading this %s file stalled for %.0f s inside the HDF5 "
                        "library: its metadata is damaged (the library loops on it); %s"
                        % (path, what, SILENCE_SECONDS, hint))
    if not any(chunks):
        raise UserError("%s: the HDF5 library crashed reading this %s file (%s): it is "
                        "damaged; %s" % (path, what, _describe(status), hint))
    data = b"".join(chunks)
    _remember(key, path, data)
    return _unwrap(pickle.loads(data), path)


# --- what the children read, kept while the file stays the same --------------
# A fork costs 0.1-0.5 s; the same unchanged file read again gives the same
# answer, so a process keeps the child's pickle (unpickled afresh on each
# load: a caller changing what it got cannot change the next caller's).
# The checks ran in the child that made it: external links and external
# storage were refused, so no other file can have changed the answer.

CACHE_BYTES = 256 << 20       # all kept pickles together; bigger ones are not kept
RECENT_NS = 2 * 10 ** 9       # a file changed less than this long ago is not kept
_CACHE = {}                   # key -> pickle, oldest first
_CACHE_LOCK = threading.Lock()


def _identity(path):
    """What says the file is unchanged: (device, inode, size, mtime_ns)."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _cache_key(path, reader, what, hint):
    """The file as named and as it is, and the reader: its code and what it
    closes over (None, so no caching, if that does not hash or the file
    cannot be looked at)."""
    cells = tuple(cell.cell_contents for cell in getattr(reader, "__closure__", None) or ())
    key = (path, os.path.realpath(path), None, getattr(reader, "__code__", reader),
           cells, what, hint)
    try:
        hash(key)
        return key[:2] + (_identity(path),) + key[3:]
    except (TypeError, OSError):
        return None


def _cached(key):
    if key is None:
        return None
    with _CACHE_LOCK:
        data = _CACHE.pop(key, None)
        if data is not None:
            _CACHE[key] = data  # the newest again
        return data


def _remember(key, path, data):
    """Keep ``data`` unless the file changed while the child read it, or was
    written so recently that a change to come could keep its mtime (a file
    system stamps times in ticks of up to a second or two)."""
    if key is None:
        return
    try:
        identity = _identity(path)
    except OSError:
        return
    if identity != key[2] or identity[3] > time.time_ns() - RECENT_NS:
        return
    if len(data) > CACHE_BYTES:
        return
    with _CACHE_LOCK:
        for old in [k for k in _CACHE if k[1] == key[1] and k[2] != key[2]]:
            del _CACHE[old]  # an earlier state of the file
        _CACHE.pop(key, None)
        _CACHE[key] = data
        while sum(len(d) for d in _CACHE.values()) > CACHE_BYTES:
            del _CACHE[next(iter(_CACHE))]


def clear_cache():
    """Forget what was read: the next load of every file forks again."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _beat(fd):
    """The child's heartbeat: a byte every BEAT_SECONDS while Python runs."""
    try:
        while True:
            os.write(fd, b".")
            time.sleep(BEAT_SECONDS)
    except OSError:  # the parent has gone
        pass


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


INTERRUPTED = 130  # the child's exit status for a KeyboardInterrupt


def _interrupted(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status) == INTERRUPTED
    return os.WTERMSIG(status) in (signal.SIGINT, signal.SIGTERM)


def _describe(status):
    if os.WIFSIGNALED(status):
        return "signal %d" % os.WTERMSIG(status)
    return "exit status %d" % os.WEXITSTATUS(status)


def _unwrap(payload, path):
    kind, value = payload
    if kind == "error":
        raise UserError(value)
    return value


def _payload(path, reader, what, hint):
    """("ok", value) or ("error", one line): never raises, so the child can
    always report; a MemoryError or a library error is still one line."""
    import h5py
    try:
        try:
            f = h5py.File(path, "r")
        except OSError:
            return "error", "%s: not an HDF5 file; %s" % (path, hint)
        with f:
            return "ok", reader(f, path)
    except UserError as exc:
        return "error", one_line(exc)
    except MemoryError:
        return "error", "%s: not enough memory to read this %s file" % (path, what)
    except Exception as exc:  # the library on a damaged file: any of its errors
        return "error", one_line("%s: this %s file is damaged (%s: %s); %s"
                                 % (path, what, exc.__class__.__name__, exc, hint))


# --- the tree ------------------------------------------------------------------

def check_tree(f, where):
    """Refuse links that reach outside the file or may loop, and huge trees.

    Walks the links without opening objects (H5Lvisit: each object once);
    datasets are checked for external storage where they are read
    (:func:`check_dataset`)."""
    import h5py
    count, problem = [0], []

    def visit(name, link):  # an exception must not cross h5py's C callback
        count[0] += 1
        if count[0] > MAX_OBJECTS:
            problem.append("more than %d objects; not one of our files" % MAX_OBJECTS)
        elif name.count("/") >= MAX_DEPTH:
            problem.append("groups nested deeper than %d at /%s; not one of our files"
                           % (MAX_DEPTH, name))
        elif isinstance(link, h5py.ExternalLink):
            problem.append("/%s is an external link (to %s); refusing to read other "
                           "files" % (name, link.filename))
        elif isinstance(link, h5py.SoftLink):
            problem.append("/%s is a soft link (to %s); our files have none"
                           % (name, link.path))
        return True if problem else None  # a value stops the walk

    f.visititems_links(visit)
    if problem:
        raise UserError("%s: %s" % (where, problem[0]))


def check_dataset(ds, where):
    """Refuse a dataset whose data lives in other files."""
    if ds.is_virtual:
        raise UserError("%s: %s is a virtual dataset (it reads other files); "
                        "refusing it" % (where, ds.name))
    if ds.id.get_create_plist().get_external_count():
        raise UserError("%s: %s stores its data in an external file; refusing it"
                        % (where, ds.name))


# --- values by schema --------------------------------------------------------

_SCHEMA = re.compile(r"^(int|float|str)(?:\[(\d*)\])?$")


def _parse(schema):
    """'int[2]|str' -> [("int", 2), ("str", None)]; n None = a scalar, -1 = any length."""
    out = []
    for part in schema.split("|"):
        kind, n = _SCHEMA.match(part).groups()
        out.append((kind, None if n is None else int(n) if n else -1))
    return out


def _kind_of(dtype):
    import h5py
    if h5py.check_string_dtype(dtype) is not None or dtype.kind in "SU":
        return "str"
    if dtype.kind in "iu":
        return "int"
    if dtype.kind == "f":
        return "float"
    return dtype.kind


def read_attr(obj, name, where, schema, default=KeyError):
    """Attribute ``name`` of ``obj`` by ``schema``: "int", "float", "str"
    (scalars), "int[2]" (exactly 2), "str[]" (any length), alternatives
    joined by "|".  Ints come back as int / tuple of ints, floats as float /
    float32 array, strings as str / list of str."""
    if name not in obj.attrs:
        if default is not KeyError:
            return default
        raise UserError("%s: attribute %r is missing" % (where, name))
    attr_id = obj.attrs.get_id(name)
    shape, kind = attr_id.shape or (), _kind_of(attr_id.dtype)
    if int(np.prod(shape)) > MAX_ATTR_ELEMENTS:
        raise UserError("%s: attribute %r declares shape %s; too large"
                        % (where, name, shape))
    for want, n in _parse(schema):
        if kind != want and not (want == "float" and kind == "int"):
            continue
        if n is None and shape not in ((), (1,)):
            continue
        if n is not None and (len(shape) != 1 or (n >= 0 and shape[0] != n)):
            continue
        return _convert(obj.attrs[name], want, n, where, name)
    raise UserError("%s: attribute %r is %s of shape %s; expected %s"
                    % (where, name, {"str": "text", "int": "an integer",
                                     "float": "a float"}.get(kind, "dtype " + str(kind)),
                       shape, schema.replace("|", " or ")))


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _convert(value, kind, n, where, name):
    array = np.atleast_1d(np.asarray(value))
    if kind == "str":
        try:
            items = [_text(v) for v in array]
        except UnicodeDecodeError:
            raise UserError("%s: attribute %r is not UTF-8 text" % (where, name))
        return items[0] if n is None else items
    if kind == "float":
        array = array.astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise UserError("%s: attribute %r holds NaN or infinite values: %s"
                            % (where, name, one_line(array[:8])))
        return float(array[0]) if n is None else array.astype(np.float32)
    items = tuple(int(v) for v in array)
    return items[0] if n is None else items


def read_array(group, name, where, ndim, kinds="f", dtype=np.float32, shape=None):
    """Dataset ``name`` of ``group`` as a numpy array, checked before reading:
    a dataset of ``ndim`` axes, dtype kind in ``kinds`` ("f" float, "i"
    integer, "S" text), each axis of ``shape`` (None = any) matching, a
    declared size we can hold; then finite.  Text comes back as a list."""
    import h5py
    if name not in group:
        raise UserError("%s: dataset %r is missing" % (where, name))
    ds = group[name]
    if not isinstance(ds, h5py.Dataset):
        raise UserError("%s: %r is a group; expected a dataset" % (where, name))
    check_dataset(ds, where)
    kind = _kind_of(ds.dtype)
    allowed = {"f": ("float", "int") if "f" in kinds else (), "i": ("int",),
               "S": ("str",)}
    if not any(kind in allowed[k] for k in kinds):
        raise UserError("%s: dataset %r has dtype %s; expected %s"
                        % (where, name, ds.dtype, {"f": "floats", "i": "integers",
                                                   "S": "text"}[kinds[0]]))
    if len(ds.shape) != ndim or (shape is not None and any(
            want is not None and want != got for want, got in zip(shape, ds.shape))):
        want = tuple("*" if s is None else s for s in shape) if shape else "%d-D" % ndim
        raise UserError("%s: dataset %r has shape %s; expected %s"
                        % (where, name, ds.shape, want))
    size = int(np.prod(ds.shape, dtype=np.float64))
    if size > MAX_ELEMENTS:
        raise UserError("%s: dataset %r declares shape %s (%d values); too large to be "
                        "one of our files" % (where, name, ds.shape, size))
    stored = ds.id.get_storage_size()
    if size and ds.dtype.itemsize * size > STORAGE_RATIO * stored + (1 << 20):
        raise UserError("%s: dataset %r declares %d bytes but the file stores %d: "
                        "damaged or crafted" % (where, name, ds.dtype.itemsize * size,
                                                stored))
    value = _read_slabs(ds)
    if kind == "str":
        try:
            return [_text(v) for v in np.atleast_1d(value)]
        except UnicodeDecodeError:
            raise UserError("%s: dataset %r is not UTF-8 text" % (where, name))
    value = np.asarray(value, dtype)
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise UserError("%s: dataset %r holds NaN or infinite values" % (where, name))
    return value


def _read_slabs(ds):
    """``ds[()]``, in slabs along the first axis so that the GIL (and the
    child's heartbeat) is free between them."""
    row = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.float64))
    if not ds.shape or ds.shape[0] * row <= SLAB_BYTES or ds.dtype.kind not in "fiu":
        return ds[()]
    out = np.empty(ds.shape, ds.dtype)
    step = max(1, SLAB_BYTES // max(row, 1))
    for start in range(0, ds.shape[0], step):
        out[start:start + step] = ds[start:start + step]
    return out


def check_format(f, where, format, version, hint, what):
    """The root attributes every format shares: format name and version."""
    name = read_attr(f, "format", where, "str", default="")
    if name != format:
        raise UserError("%s: an HDF5 file, but not %s (no format=%s attribute); %s"
                        % (where, what, format, hint))
    found = read_attr(f, "version", where, "int", default=0)
    if found > version:
        raise UserError("%s: written by a newer version (format %d) of this project; "
                        "update it" % (where, found))
    if found < 1:
        raise UserError("%s: format version %d; expected 1..%d" % (where, found, version))
