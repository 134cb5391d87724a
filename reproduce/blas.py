"""Which OpenBLAS kernels this process runs: the fastest that computes
correctly on this CPU, measured once per machine.

OpenBLAS chooses its kernels (its "core") from CPUID when the library loads.
A CPU newer than the library gets a fallback: Debian's 0.3.21 runs an Intel
Xeon with AMX (family 6 model 207) on its Prescott kernels, 4-5x below the
hardware (sgemm 37 against 170 GFLOP/s with SkylakeX's), and forcing the
Cooperlake kernels there is fast but wrong (9% relative error).  So we do not
trust the library's choice, nor a name, but measure: each core the CPU's flags
allow runs a few sgemm shapes against a float64 sum in a child process (a
crash or a wrong answer rules it out), and the fastest correct one wins.

Both BLAS copies read ``OPENBLAS_CORETYPE`` once, when they load: numpy's
bundled one on ``import numpy``, the system's (which Theano's compiled Ops
link) when the first of them loads.  :func:`apply` therefore runs first
thing in ``reproduce/__init__``, before this package imports numpy.

Overrides, in order: ``REPRODUCE_BLAS_CORE=NAME`` (a core, e.g. SkylakeX) or
``=keep`` (leave the environment and the library alone); then an
``OPENBLAS_CORETYPE`` the environment already has, kept if it computes
correctly.  ``python -m reproduce blas`` prints the survey, ``--remeasure``
redoes it.

This module imports nothing heavy: run as a script (``python -I blas.py
--probe``) it is the child process that measures one core.
"""
import hashlib
import json
import os
import subprocess
import sys

# Core names as OpenBLAS's OPENBLAS_CORETYPE takes them (driver/others/
# dynamic.c, force_coretype) with the CPU flags (/proc/cpuinfo) each one's
# kernels need.  Older cores are tried only where none of these fits.
CORES = (
    ("SapphireRapids", {"avx512f", "avx512bw", "avx512vl", "avx512_bf16", "amx_bf16", "amx_tile"}),
    ("Cooperlake", {"avx512f", "avx512bw", "avx512vl", "avx512_bf16"}),
    ("SkylakeX", {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}),
    ("Zen", {"avx2", "fma"}),
    ("Haswell", {"avx2", "fma"}),
)
OLD_CORES = (("Sandybridge", {"avx"}), ("Nehalem", {"sse4_2"}), ("Prescott", set()))
DEFAULT = "(library's own)"   # the core OpenBLAS picks by itself, no variable set

# The correctness check: C = A @ B in float32 against a float64 sum (einsum
# without BLAS), element by element relative to (|A| @ |B|), the scale its
# rounding error has.  float32 with any summation order stays below k * 2^-24
# (3e-5 at k = 515; 1e-7 measured); kernels that round their inputs to
# bfloat16 err by about 2^-9 = 2e-3 per product.
CHECK_SHAPES = ((67, 129, 515), (256, 256, 256), (1, 1000, 4096), (1000, 3, 300))
CHECK_TOLERANCE = 2.0 ** -13
KEEP_OWN = 0.9             # the library's own core stays unless another is 1/0.9 as fast
# float64 (numpy's and scipy's products, the prior's fit): k * 2^-53 = 6e-14
# at k = 515; Cooperlake's kernels in numpy 1.23.5's OpenBLAS on a Zen 4 EPYC
# err by 0.47 in dgemm while their sgemm is right
CHECK_TOLERANCE64 = 2.0 ** -40
PARTS = ("system", "numpy", "scipy")   # the OpenBLAS copies a run loads
TIMING_SIZE = 1024          # sgemm n x n x n, best of TIMING_REPEATS
# A survey taken while the machine was busy (1-minute load average per core
# above BUSY) is taken again at a start that finds it quiet (below QUIET):
# under load the timings are noise, and they decide between correct cores.
BUSY, QUIET = 1.0, 0.5
TIMING_REPEATS = 3
SYSTEM_LIBRARY = "libopenblas.so.0"

_CHOSEN = "REPRODUCE_BLAS_CHOSEN"  # tells our child processes the core was measured
_state = {"core": None, "how": "not chosen", "survey": None, "error": None}


def cpu():
    """(model name, set of flags) from /proc/cpuinfo; ('', set()) elsewhere."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def candidates(flags):
    """The cores worth measuring for these CPU flags, most specific first."""
    fitting = [name for name, need in CORES if need <= flags]
    return fitting or [name for name, need in OLD_CORES if need <= flags]


def _cache_root():
    from .paths import CACHE_ROOT
    return os.path.join(CACHE_ROOT, "blas")


def _survey_key(library):
    """The survey holds for this CPU, these flags, this library file and numpy."""
    model, flags = cpu()
    parts = [model, " ".join(sorted(flags)), library or SYSTEM_LIBRARY]
    for path in (_resolve(library or SYSTEM_LIBRARY), _numpy_library()):
        try:
            st = os.stat(path)
            parts.append("%s %d %d" % (path, st.st_size, int(st.st_mtime)))
        except (OSError, TypeError):
            parts.append(str(path))
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def _resolve(name):
    """The file the dynamic loader would open for ``name`` (None if none)."""
    if os.path.isabs(name):
        return name
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                   "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return os.path.realpath(path)
    return None


def _numpy_library():
    """numpy's bundled OpenBLAS, found without importing numpy."""
    import importlib.util
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = os.path.join(os.path.dirname(list(spec.submodule_search_locations)[0]), "numpy.libs")
    try:
        return next(os.path.join(libs, f) for f in sorted(os.listdir(libs))
                    if f.startswith("libopenblas"))
    except (OSError, StopIteration):
        return None


def probe(core, library=None, timing_size=TIMING_SIZE, timeout=120):
    """Measure one core in a child process: {'reported', 'system': {...}, 'numpy': {...}}.

    ``core`` None measures the library's own choice.  Each of 'system' and
    'numpy' has 'error' (max relative error, None if it crashed) and 'gflops'.
    """
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if core:
        env["OPENBLAS_CORETYPE"] = core
    command = [sys.executable, "-I", os.path.abspath(__file__), "--probe",
               "--library", library or SYSTEM_LIBRARY, "--timing-size", str(timing_size)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"reported": None, "failure": "took over %d s" % timeout}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exit status %d" % done.returncode])[-1]
        return {"reported": None, "failure": "crashed: %s" % last[:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def correct(result):
    """Whether a probe's result computed right in both BLAS copies."""
    if result.get("failure"):
        return False
    parts = [result.get(name) for name in PARTS]
    return all(part.get("error") is not None and part["error"] <= CHECK_TOLERANCE and
               part.get("error64", 0.0) is not None and
               part.get("error64", 0.0) <= CHECK_TOLERANCE64
               for part in parts if part is not None)


def survey(library=None, cores=None, progress=None, timing_size=TIMING_SIZE):
    """Measure the library's own choice and every candidate core; choose.

    Returns {'cpu', 'library', 'results': {name: probe result}, 'chosen'}: the
    correct core with the fastest system sgemm (Theano's GEMMs run there).
    """
    import time
    model, flags = cpu()
    names = [DEFAULT] + list(cores if cores is not None else candidates(flags))
    results = {}
    started, load = time.strftime("%Y-%m-%d %H:%M"), load_per_core()
    for i, name in enumerate(names):
        if progress:
            progress(i, len(names), name)
        results[name] = probe(None if name == DEFAULT else name, library, timing_size)
        reported = results[name].get("reported")
        # a name this build lacks runs another core: measured, but not a choice
        results[name]["available"] = (name == DEFAULT or reported is None
                                      or reported.lower() == name.lower())
    # a second round in reverse order, best of both: a burst of load on the
    # machine should not decide between cores that differ by 10-20%
    for name in reversed(names):
        if correct(results[name]):
            again = probe(None if name == DEFAULT else name, library, timing_size)
            if not correct(again):  # wrong once is wrong
                results[name].update({key: again.get(key) for key in ("failure",) + PARTS})
                continue
            for part in (p for p in PARTS if results[name].get(p) and again.get(p)):
                for key in ("gflops", "error", "error64"):
                    if results[name][part].get(key) is not None:
                        results[name][part][key] = max(results[name][part][key],
                                                       again[part][key])
    usable = [n for n in names[1:] if results[n]["available"] and correct(results[n])]
    chosen = max(usable, key=lambda n: results[n]["system"]["gflops"], default=None)
    # the library's own choice, where it computes right and is as fast (the
    # cores of a CPU the library knows measure within noise of each other)
    if correct(results[DEFAULT]) and (chosen is None or results[DEFAULT]["system"]["gflops"]
                                      >= KEEP_OWN * results[chosen]["system"]["gflops"]):
        chosen = DEFAULT
    return {"cpu": model, "library": library or SYSTEM_LIBRARY, "results": results,
            "chosen": chosen, "timing_size": timing_size, "date": started,
            "load_per_core": load}


def _usable(found):
    """Whether a cached survey has what :func:`apply` reads (an edited or
    overwritten cache file is measured again)."""
    return (isinstance(found, dict) and isinstance(found.get("results"), dict)
            and "chosen" in found and isinstance(found["chosen"], (str, type(None))))


def load_per_core():
    """The 1-minute load average over the cores this process may use."""
    return os.getloadavg()[0] / max(1, len(os.sched_getaffinity(0)))


def load_survey(library=None, remeasure=False, progress=None, retake=True):
    """The cached survey for this machine, measured now if there is none, or
    (``retake``) if it was measured on a busy machine (BUSY, or when is not
    known) and this one is quiet (QUIET)."""
    path = os.path.join(_cache_root(), _survey_key(library) + ".json")
    if not remeasure:
        try:
            with open(path) as f:
                found = json.load(f)
        except (OSError, ValueError):
            found = None  # none yet, or damaged: measure again
        if _usable(found):
            load = found.get("load_per_core")
            busy = not isinstance(load, (int, float)) or not load <= BUSY  # unknown: busy
            if not (retake and busy and load_per_core() < QUIET):
                return found
    result = survey(library, progress=progress)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
        os.replace(tmp, path)
    except OSError:  # a read-only cache: this run still uses what it measured
        pass
    return result


def _say_measuring(i, n, name):
    if i == 0:
        print("choosing this CPU's BLAS kernels, once for this machine (%d to try)..."
              % n, file=sys.stderr, flush=True)


def _known(name):
    return {n.lower(): n for n, _ in CORES + OLD_CORES}.get(name.lower())


def apply():
    """Put the chosen core into OPENBLAS_CORETYPE, before BLAS loads.

    Never raises: a failure leaves OpenBLAS to choose and says why in
    :func:`describe`.  A bad ``REPRODUCE_BLAS_CORE`` is reported by
    :func:`check_override` (the CLI turns it into one line, exit 2).
    """
    _state.clear()
    _state.update(core=None, how="not chosen", survey=None, error=None)
    override = os.environ.get("REPRODUCE_BLAS_CORE", "").strip()
    if override.lower() == "keep":
        _state.update(core=os.environ.get("OPENBLAS_CORETYPE"), how="kept (REPRODUCE_BLAS_CORE=keep)")
        return
    if override:
        if _known(override):
            os.environ["OPENBLAS_CORETYPE"] = _known(override)
            _state.update(core=_known(override), how="set by REPRODUCE_BLAS_CORE")
        else:
            _state["error"] = override
        return
    if not sys.platform.startswith("linux") or _resolve(SYSTEM_LIBRARY) is None:
        _state["how"] = "no system OpenBLAS: nothing to choose"
        return
    try:
        # a child of a run that chose (a worker, a test's command) never measures again
        found = load_survey(progress=_say_measuring, retake=_CHOSEN not in os.environ)
    except Exception as exc:  # measuring must never stop a run
        _state["how"] = "not measured (%s): the library's own choice" % exc
        return
    _state["survey"] = found
    given = os.environ.get("OPENBLAS_CORETYPE")
    if given and given == os.environ.get(_CHOSEN):  # our parent's choice
        _state.update(core=given, how="measured: fastest correct core")
        return
    if given:
        result = found["results"].get(_known(given) or given)
        if result is None or correct(result):
            _state.update(core=_known(given) or given, how="OPENBLAS_CORETYPE in the environment")
            return
        _state["replaced"] = given  # computes wrong on this CPU
    chosen = found["chosen"]
    if chosen is None:
        _state["how"] = "no core computed correctly: the library's own choice"
        os.environ.pop("OPENBLAS_CORETYPE", None)
        return
    if chosen == DEFAULT:
        os.environ.pop("OPENBLAS_CORETYPE", None)
        os.environ[_CHOSEN] = DEFAULT
    else:
        os.environ["OPENBLAS_CORETYPE"] = os.environ[_CHOSEN] = chosen
    _state.update(core=chosen, how="measured: correct, and as fast as any other"
                  if chosen == DEFAULT else "measured: fastest correct core")


def current_survey():
    """The survey this process's choice came from (None if none was used)."""
    return _state["survey"]


def check_override():
    """A REPRODUCE_BLAS_CORE that names no core, as a message (None if fine)."""
    if _state["error"]:
        return ("REPRODUCE_BLAS_CORE=%s is not an OpenBLAS core; use one of %s, or "
                "`keep`, or unset it to choose by measurement"
                % (_state["error"], ", ".join(n for n, _ in CORES + OLD_CORES)))
    return None


def describe():
    """One line: the CPU, the core this process runs and why."""
    model, _ = cpu()
    core = _state["core"] or "the library's own"
    if core == DEFAULT:
        core = "%s, the library's own" % (running_core() or "?")
    line = "BLAS: OpenBLAS core %s (%s) on %s" % (core, _state["how"], model or "an unknown CPU")
    running = running_core()
    if running and not core.lower().startswith(running.lower()):
        line += "; the loaded library runs %s" % running
    found = _state["survey"]
    if found and _state["core"] in found["results"] and _state["core"] != DEFAULT:
        r = found["results"][_state["core"]]
        own = found["results"].get(DEFAULT, {})
        line += "; sgemm %d^3 %.0f GFLOP/s" % (found.get("timing_size", TIMING_SIZE),
                                                r["system"]["gflops"])
        if own.get("system") and own.get("reported"):
            line += " (library's own, %s: %.0f)" % (own["reported"], own["system"]["gflops"])
    if found and found.get("date"):
        line += "; chosen %s at load %.1f a core" % (found["date"], found["load_per_core"])
    if _state.get("replaced"):
        line += "; the environment's OPENBLAS_CORETYPE=%s computes wrongly here" % _state["replaced"]
    return line


def running_core():
    """The core the system OpenBLAS runs in this process (loading it if need be)."""
    import ctypes
    try:
        lib = ctypes.CDLL(SYSTEM_LIBRARY)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return None


def table(found):
    """The survey as text rows, for ``python -m reproduce blas`` and the bench:
    the worst error over the three OpenBLAS copies in each precision, and the
    sgemm speed of the system's (Theano's) and numpy's."""
    rows = ["%-16s %-14s %10s %10s %14s %14s  %s" % (
        "core", "runs as", "f32 err", "f64 err", "system GFLOP/s", "numpy GFLOP/s", "")]
    for name, r in found["results"].items():
        if r.get("failure"):
            rows.append("%-16s %-14s %s" % (name, "-", r["failure"]))
            continue
        parts = [r[p] for p in PARTS if r.get(p)]
        cells = []
        for key in ("error", "error64"):
            values = [p.get(key) for p in parts]
            cells.append("crashed" if None in values else "%.1e" % max(values, default=0.0))
        for part in ("system", "numpy"):
            p = r.get(part)
            cells.append(("%.1f" % p["gflops"]) if p and p.get("gflops") else "-")
        note = ("chosen" if name == found["chosen"] else
                "WRONG RESULTS" if not correct(r) else
                "not in this build" if not r.get("available", True) else "")
        rows.append("%-16s %-14s %10s %10s %14s %14s  %s" % ((name, r.get("reported") or "-")
                                                            + tuple(cells) + (note,)))
    return rows


# --- the child process -----------------------------------------------------

def _probe_main(library, timing_size):
    """Measure whichever core OPENBLAS_CORETYPE names, in the three OpenBLAS
    copies a run loads: the system's (Theano), numpy's and scipy's bundled ones."""
    import ctypes
    import time

    import numpy as np

    lib = ctypes.CDLL(library)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    c_int, ptr = ctypes.c_int, ctypes.c_void_p
    row_major, no_trans, trans = 101, 111, 112
    cblas = {}
    for dtype, name, scalar in ((np.float32, "cblas_sgemm", ctypes.c_float),
                                (np.float64, "cblas_dgemm", ctypes.c_double)):
        gemm = getattr(lib, name, None)
        if gemm is not None:
            gemm.argtypes = [c_int, c_int, c_int, c_int, c_int, c_int, scalar, ptr, c_int,
                             ptr, c_int, scalar, ptr, c_int]
            cblas[np.dtype(dtype)] = gemm

    def system_matmul(a, b, transpose_a=False):
        # A may come transposed: CorrMM's gradients call sgemm with TransA
        gemm = cblas.get(a.dtype)
        if gemm is None:
            return None
        if transpose_a:
            a = np.ascontiguousarray(a.T)
        m, k = (a.shape[1], a.shape[0]) if transpose_a else a.shape
        n = b.shape[1]
        c = np.empty((m, n), a.dtype)
        gemm(row_major, trans if transpose_a else no_trans, no_trans, m, n, k, 1.0,
             a.ctypes.data, a.shape[1], b.ctypes.data, n, 0.0, c.ctypes.data, n)
        return c

    def numpy_matmul(a, b, transpose_a=False):
        return np.ascontiguousarray(a.T).T @ b if transpose_a else a @ b

    def scipy_matmul(a, b, transpose_a=False):
        from scipy.linalg import blas as scipy_blas
        gemm = scipy_blas.sgemm if a.dtype == np.float32 else scipy_blas.dgemm
        return gemm(1.0, np.ascontiguousarray(a.T), b, trans_a=True) if transpose_a \
            else gemm(1.0, a, b)

    def worst_error(matmul, dtype):
        rng = np.random.default_rng(0)
        worst = 0.0
        for i, (m, n, k) in enumerate(CHECK_SHAPES):
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((k, n)).astype(dtype)
            wide_a, wide_b = a.astype(np.longdouble), b.astype(np.longdouble)
            exact = np.einsum("ik,kj->ij", wide_a, wide_b, optimize=False)
            scale = np.einsum("ik,kj->ij", abs(wide_a), abs(wide_b), optimize=False)
            got = matmul(a, b, transpose_a=True) if i % 2 else matmul(a, b)
            if got is None:
                return 0.0
            if not np.all(np.isfinite(got)):
                return float("inf")
            worst = max(worst, float(np.max(abs(got - exact) / scale)))
        if matmul is numpy_matmul:  # numpy turns A.T @ A into syrk
            a = rng.standard_normal((300, 75)).astype(dtype)
            wide = a.astype(np.longdouble)
            exact = np.einsum("ki,kj->ij", wide, wide, optimize=False)
            scale = np.einsum("ki,kj->ij", abs(wide), abs(wide), optimize=False)
            got = a.T @ a
            if not np.all(np.isfinite(got)):
                return float("inf")
            worst = max(worst, float(np.max(abs(got - exact) / scale)))
        return worst

    def gflops(matmul):
        n = timing_size
        a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
        matmul(a, a)
        best = float("inf")
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            matmul(a, a)
            best = min(best, time.perf_counter() - start)
        return 2.0 * n ** 3 / best / 1e9

    out = {"reported": lib.openblas_get_corename().decode()}
    for part, matmul in (("system", system_matmul), ("numpy", numpy_matmul),
                         ("scipy", scipy_matmul)):
        error = worst_error(matmul, np.float32)
        error64 = worst_error(matmul, np.float64)
        ok = np.isfinite(error) and np.isfinite(error64)
        out[part] = {"error": error if np.isfinite(error) else None,
                     "error64": error64 if np.isfinite(error64) else None,
                     "gflops": gflops(matmul) if ok else None}
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        _probe_main(sys.argv[sys.argv.index("--library") + 1],
                    int(sys.argv[sys.argv.index("--timing-size") + 1]))
