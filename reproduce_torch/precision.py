"""Which number format the port's network runs in: float32, or bfloat16
where the hardware multiplies it natively.

The setting is a profile's ``precision`` (:mod:`reproduce.lsd2015.profiles`):

* ``float32``: the reference's format, the default of every 2015 profile
  (``make figures`` and the reference vectors use it);
* ``bf16``: the network's convolutions take bfloat16 inputs and weights
  (8-bit mantissa) and accumulate in float32 (oneDNN's kernels on the CPU,
  cuBLAS/cuDNN on a GPU); the image, the prior, the objective, the update
  rule and every sum over a map stay float32.  Where the hardware has no
  bfloat16 unit this falls back to float32, and says so in one line;
* ``auto``: bf16 where the hardware has a bfloat16 unit, float32 silently
  elsewhere.

What counts as a bfloat16 unit (:func:`bf16_units`): on x86 CPUs Intel
AMX (``amx_bf16`` and ``amx_tile`` in /proc/cpuinfo) or AVX-512 BF16
(``avx512_bf16``); on CUDA what ``torch.cuda.is_bf16_supported`` says.
PyTorch's CPU build reaches either through oneDNN, which requests AMX's
tile state from Linux itself (``arch_prctl(ARCH_REQ_XCOMP_PERM)``), so no
code here touches tiles.  Without such a unit oneDNN still runs bfloat16,
by converting to float32 in software: slower than float32, hence the fallback.
"""
import functools
import sys

PRECISIONS = ("float32", "bf16", "auto")
CPUINFO = "/proc/cpuinfo"


def cpu_flags(path=CPUINFO):
    """The CPU's feature flags from /proc/cpuinfo (an empty set off Linux)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def bf16_units(flags):
    """The CPU's bfloat16 matrix unit named by ``flags``: "amx", "avx512_bf16" or None."""
    if {"amx_bf16", "amx_tile"} <= set(flags):
        return "amx"
    if "avx512_bf16" in flags:
        return "avx512_bf16"
    return None


def device_unit(device, flags=None):
    """The bfloat16 unit of ``device`` (a torch.device), or None.  ``flags``:
    the CPU's flags (None: this machine's); tests pass their own to simulate
    a CPU with or without one."""
    if device.type == "cuda":
        import torch
        return "cuda" if torch.cuda.is_bf16_supported() else None
    return bf16_units(cpu_flags() if flags is None else flags)


@functools.lru_cache(maxsize=None)
def _say_once(line):
    print(line, file=sys.stderr, flush=True)


def resolve(precision, device, flags=None):
    """The format the net runs in on ``device``: "bf16" or "float32".

    ``precision`` is a profile's (:data:`PRECISIONS`).  "bf16" without a
    bfloat16 unit gives "float32" and one line on stderr, once a process.
    """
    if precision == "float32":
        return "float32"
    unit = device_unit(device, flags)
    if unit is not None:
        return "bf16"
    if precision == "bf16":
        _say_once("note: precision bf16: this %s has no bfloat16 unit (neither AMX "
                  "nor AVX-512 BF16); running in float32" % (
                      "GPU" if device.type == "cuda" else "CPU"))
    return "float32"
