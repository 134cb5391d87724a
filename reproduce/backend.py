"""Theano 1.0 + Lasagne 0.1 set-up on Python 3.11: the one place that knows.

Every entry point imports this module before anything touches Theano.  It

* links a real BLAS.  Setting ``blas.ldflags`` also sidesteps Theano 1.0.5's
  probe of ``numpy.distutils.__config__.blas_opt_info``, which numpy >= 1.22
  no longer has (the import would fail otherwise);
* keeps the compile cache in one stable directory, so a second run reuses
  the compiled step functions and starts in seconds;
* keeps freed memory for reuse (glibc ``mallopt``), so that each step's
  large temporaries do not cost fresh page faults;
* lets every CorrMM share one im2col buffer instead of allocating its own
  on each call (:mod:`reproduce.ops.corrmm_workspace`);
* registers ``theano.tensor.signal.downsample`` (removed in Theano 1.0) over
  ``pool_2d``, because ``lasagne.layers.pool`` in Lasagne 0.1 imports it.

Nothing in site-packages is edited.  Users' own ``THEANO_FLAGS`` win over
ours: we only add flags they did not set (and their MALLOC_*_ variables win
over our mallopt).
"""
import ctypes.util
import hashlib
import logging
import os
import platform
import sys
import types
import warnings

from .paths import CACHE_ROOT


def _cpu_tag():
    """Name the compile cache after the CPU, since we compile -march=native."""
    model = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags")):
                    model += line
    except OSError:
        pass
    return hashlib.sha1(model.encode()).hexdigest()[:10]


def blas_ldflags():
    """``-lopenblas`` when the system has it, else '' (NumPy C-API fallback).

    Measured on this project's 2-core machine for a VGG-16 step at 224²:
    OpenBLAS 1.0 s, the fallback 1.3-1.9 s (docs/DESIGN notes).
    """
    return "-lopenblas" if ctypes.util.find_library("openblas") else ""


def _default_flags():
    return {
        "floatX": "float32",
        "blas.ldflags": blas_ldflags(),
        "base_compiledir": os.path.join(
            CACHE_ROOT, "theano-py%d%d-%s" % (sys.version_info[:2] + (_cpu_tag(),))),
        "gcc.cxxflags": "-O3 -march=native",
        "openmp": "False",  # batch size is 1: BLAS threads do the parallel work
        "cxx": os.environ.get("CXX", "g++"),
    }


def thread_budget():
    """Threads our own Ops may use: OPENBLAS_NUM_THREADS or OMP_NUM_THREADS
    (as the stream's worker sets them), else every core this process may use."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(name, "").isdigit() and int(os.environ[name]) > 0:
            return int(os.environ[name])
    return max(1, len(os.sched_getaffinity(0)))


def _merge_flags(existing, defaults):
    """Add our defaults to a THEANO_FLAGS string without overriding the user's."""
    given = {item.split("=", 1)[0].strip()
             for item in existing.split(",") if "=" in item}
    extra = ["%s=%s" % (k, v) for k, v in defaults.items() if k not in given]
    return ",".join([s for s in [existing] + extra if s])


def _install_downsample_shim():
    """Provide Theano 0.8's ``downsample.max_pool_2d`` over Theano 1.0's ``pool_2d``."""
    from theano.tensor.signal import pool

    module = types.ModuleType("theano.tensor.signal.downsample")

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0),
                    mode="max"):
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border,
                            stride=st, pad=padding, mode=mode)

    module.max_pool_2d = max_pool_2d
    sys.modules[module.__name__] = module
    import theano.tensor.signal
    theano.tensor.signal.downsample = module


# glibc malloc: serve allocations up to 64 MiB from the heap and keep up to
# 256 MiB of freed memory at its top.  Theano allocates every intermediate
# afresh on each call; by default glibc maps many of them anew and unmaps
# them when freed, so each step paid the kernel's page faults and zeroing
# again.  Measured on the 2-core machine: the Fourier step on
# EfficientNet-Lite0 ~96 -> ~85 ms, a VGG-16 step at 448x448 3.1 -> 2.8 s;
# the peak memory of a relu4_3 gradient at 1024x1024 2.98 -> 3.16 GiB.  A
# 1 GiB threshold (CorrMM's 462 MB im2col buffers kept too) made that VGG
# step 2.2 s but the peak 4.37 GiB, too close to reproduce.nets.memory's estimate.
_MALLOC_SETTINGS = {"MALLOC_MMAP_THRESHOLD_": (-3, 64 << 20),    # M_MMAP_THRESHOLD
                    "MALLOC_TRIM_THRESHOLD_": (-1, 256 << 20)}   # M_TRIM_THRESHOLD


def _keep_freed_memory():
    """Apply _MALLOC_SETTINGS with mallopt, except those the user set in the environment."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    for name, (param, value) in _MALLOC_SETTINGS.items():
        # the mmap threshold first: if this glibc refuses it (older ones cap
        # it at 32 MiB), setting the trim threshold alone would pin the mmap
        # threshold at its 128 KiB start, the opposite of what we want
        if name not in os.environ and not mallopt(param, value):
            return


class _CompileLockLines(logging.Filter):
    """Theano's compile-lock lines ("Waiting for existing lock by process ...",
    "To manually release the lock, delete ...", "Overriding existing lock by
    dead process ...") are about its cache, not the user's run: drop them.  A
    person at a terminal gets one line of ours instead, since the wait can be
    minutes long while another run compiles."""

    def filter(self, record):
        if record.getMessage().startswith("Waiting for existing lock") and sys.stderr.isatty():
            print("waiting for another run's compile to finish (it shares this "
                  "machine's compile cache)...", file=sys.stderr, flush=True)
        return False


def _quiet_compile_lock():
    logging.getLogger("theano.gof.compilelock").addFilter(_CompileLockLines())


# What a cold compile cache costs, measured on the 2-core machine
# (docs/measurements.md, "The first compile").
COMPILE_NOTE = ("compiling C code, once: the first run of each command on this "
                "machine takes %s longer; later runs reuse %s")
COMPILE_ESTIMATE = "1-8 minutes"


def _announce_first_compile():
    """Say so when this process first compiles a C module.  A cold cache
    (a new machine, a new Theano flag, changed C) costs minutes with no
    output; a warm one never gets here.  Every C module Theano builds goes
    through ``GCC_compiler.compile_str``.  Only to a terminal: a pipe's or a
    test's stderr keeps exactly our error lines."""
    import theano
    from theano.gof import cmodule
    compile_str = cmodule.GCC_compiler.compile_str
    said = []

    def announced(*args, **kwargs):
        if not said and sys.stderr.isatty():
            said.append(True)
            print(COMPILE_NOTE % (COMPILE_ESTIMATE, theano.config.compiledir),
                  file=sys.stderr, flush=True)
        return compile_str(*args, **kwargs)
    cmodule.GCC_compiler.compile_str = staticmethod(announced)


def _configure():
    _keep_freed_memory()
    os.environ["THEANO_FLAGS"] = _merge_flags(
        os.environ.get("THEANO_FLAGS", ""), _default_flags())
    # Theano 1.0.5 still uses numpy aliases that numpy 1.23 deprecates.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="theano.*")
    warnings.filterwarnings("ignore", message=".*np\\.(bool|int|float|complex|object)")
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    import theano  # noqa: F401  (configures itself from THEANO_FLAGS)
    _quiet_compile_lock()
    _install_downsample_shim()
    _announce_first_compile()
    from .ops import corrmm_workspace
    corrmm_workspace.install()


_configure()

import theano  # noqa: E402
import theano.tensor as T  # noqa: E402
import lasagne  # noqa: E402

floatX = theano.config.floatX


__all__ = ["theano", "T", "lasagne", "floatX", "blas_ldflags", "thread_budget", "CACHE_ROOT"]
