"""Reading our HDF5 files (weights, priors, reference vectors) as untrusted input.

Every file we read may have been edited, damaged or crafted, so one reader
serves all three formats:

* :func:`load_isolated` runs the format's reader in a forked child process
  under a deadline and brings the result back through a pipe.  A corrupted
  object header can make the HDF5 library loop inside C code, deaf to
  Ctrl-C (a single byte set to zero at offset 2320 of our prior does it,
  in ``attrs.__getitem__``); a damaged chunk index can crash it.  Neither
  can be caught in-process, and a checksum would only cover files we wrote
  (it lives in the very metadata that spins).  A child we can kill covers
  every file, ours or not, for the price of a fork (about 10-40 ms).
* :func:`check_tree` refuses what our writers never make and what could
  read another file: soft links (which may loop), external links, external
  or virtual dataset storage, deep or huge trees.
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
import time

import numpy as np

from .errors import UserError

METADATA_SECONDS = 5.0        # deadline for any file: metadata plus small data
READ_BYTES_PER_SECOND = 50e6  # plus this much time for the data of big files
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
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise UserError("%s: no such %s file; %s" % (path, what, hint))
    if not os.path.isfile(path):
        raise UserError("%s: not a regular file; give a %s file" % (path, what))
    if not hasattr(os, "fork"):
        return _unwrap(_payload(path, reader, what, hint), path)
    deadline = METADATA_SECONDS + os.path.getsize(path) / READ_BYTES_PER_SECOND
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns, never runs the parent's cleanup
        status = 1
        try:
            os.close(r)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            data = pickle.dumps(_payload(path, reader, what, hint),
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as out:
                out.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    chunks, finished = [], False
    try:
        end = time.monotonic() + deadline
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                break
            chunk = os.read(r, 1 << 22)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        if not finished:
            _kill(pid)
    _, status = os.waitpid(pid, 0)
    if not finished:
        raise UserError("%s: reading this %s file did not finish within %.0f s: its "
                        "HDF5 metadata is damaged (the library loops on it); %s"
                        % (path, what, deadline, hint))
    if not chunks:
        raise UserError("%s: the HDF5 library crashed reading this %s file (%s): it is "
                        "damaged; %s" % (path, what, _describe(status), hint))
    return _unwrap(pickle.loads(b"".join(chunks)), path)


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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
    """Refuse links and storage that reach outside the file, and huge trees."""
    import h5py
    count = 0
    stack = [(f, 0)]
    while stack:
        group, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UserError("%s: groups nested deeper than %d at %s; not one of our "
                            "files" % (where, MAX_DEPTH, group.name))
        for name in group:
            count += 1
            if count > MAX_OBJECTS:
                raise UserError("%s: more than %d objects; not one of our files"
                                % (where, MAX_OBJECTS))
            link = group.get(name, getlink=True)
            at = "%s/%s" % (group.name.rstrip("/"), name)
            if isinstance(link, h5py.ExternalLink):
                raise UserError("%s: %s is an external link (to %s); refusing to read "
                                "other files" % (where, at, link.filename))
            if isinstance(link, h5py.SoftLink):
                raise UserError("%s: %s is a soft link (to %s); our files have none"
                                % (where, at, link.path))
            obj = group[name]
            if isinstance(obj, h5py.Group):
                stack.append((obj, depth + 1))
            elif isinstance(obj, h5py.Dataset):
                if obj.is_virtual:
                    raise UserError("%s: %s is a virtual dataset (it reads other "
                                    "files); refusing it" % (where, at))
                if obj.id.get_create_plist().get_external_count():
                    raise UserError("%s: %s stores its data in an external file; "
                                    "refusing it" % (where, at))


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
    value = ds[()]
    if kind == "str":
        try:
            return [_text(v) for v in np.atleast_1d(value)]
        except UnicodeDecodeError:
            raise UserError("%s: dataset %r is not UTF-8 text" % (where, name))
    value = np.asarray(value, dtype)
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise UserError("%s: dataset %r holds NaN or infinite values" % (where, name))
    return value


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
