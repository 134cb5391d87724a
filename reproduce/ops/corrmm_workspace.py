"""Every CorrMM in the process shares one im2col buffer.

Theano's CorrMM unfolds its input into an im2col buffer that it allocates
afresh on every call (462 MB for VGG-16's conv1_2 at 448x448), which the
kernel must fault in and zero again.  :func:`install` makes the C source
that CorrMM generates take that buffer from c_code/corrmm_workspace.c
instead, which keeps it in :data:`buffer`: a VGG-16 step at 448x448 2.9 ->
2.2 s, peak RSS 2.18 -> 2.13 GB.

The patch edits the text of Theano's corr_gemm.c at run time (nothing in
site-packages changes), so it checks that text: if the allocation line is
not there exactly once, CorrMM stays as it is and :func:`applied` says
False (a test asserts True).  reproduce.backend installs it at import.
"""
import os
import warnings

from .cop import C_CODE, content_version

# CorrMM's own allocation, in theano/tensor/nnet/c_code/corr_gemm.c
ALLOCATION = "PyArrayObject* col = (PyArrayObject*)PyArray_ZEROS(3,"
REPLACEMENT = "PyArrayObject* col = reproduce_workspace(3,"
SOURCE = os.path.join(C_CODE, "corrmm_workspace.c")

buffer = None      # the shared buffer, set from C
_applied = []      # [bool] once install() has run


def _patched(code):
    """CorrMM's support code with the shared buffer, or None if it is not the text we know."""
    if code.count(ALLOCATION) != 1:
        return None
    with open(SOURCE) as f:
        return f.read() + code.replace(ALLOCATION, REPLACEMENT)


def install():
    """Patch CorrMM (once); returns whether the patch applies to this Theano."""
    if _applied:
        return _applied[0]
    import theano.tensor as T
    from theano.tensor.nnet import corr
    original_code = corr.BaseCorrMM.c_support_code_apply
    original_version = corr.BaseCorrMM.c_code_cache_version
    probe = corr.CorrMM()(T.ftensor4(), T.ftensor4()).owner
    ok = _patched(original_code(probe.op, probe, "probe")) is not None
    _applied.append(ok)
    if not ok:
        warnings.warn("CorrMM's C source is not the one reproduce.ops.corrmm_workspace "
                      "knows: each CorrMM allocates its own im2col buffer (slower)")
        return False

    def c_support_code_apply(self, node, nodename):
        code = original_code(self, node, nodename)
        return _patched(code) or code

    def c_code_cache_version(self):
        return original_version(self) + ("reproduce-workspace",) + content_version(SOURCE)

    corr.BaseCorrMM.c_support_code_apply = c_support_code_apply
    corr.BaseCorrMM.c_code_cache_version = c_code_cache_version
    return True


def applied():
    """Whether :func:`install` patched CorrMM (False before it ran)."""
    return bool(_applied and _applied[0])
