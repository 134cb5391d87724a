"""What our C Ops share: C in ``c_code/*.c`` loaded by Theano's ``COp``.

Each Op family has one ``.c`` file read by :class:`theano.gof.COp`: a
``#section support_code`` with the helpers and a ``#section
support_code_apply`` with the one entry point,
``int APPLY_SPECIFIC(name)(inputs..., PyArrayObject **output, PARAMS_TYPE *params)``,
returning nonzero with a Python error set.  Run-time settings (stride,
padding, direction, threads) come in the Op's ``ParamsType``, so one
compiled module serves every layer.

Theano's own ``COp.c_code_cache_version`` hashes the files with Python's
``hash``, which is salted per process: every run would compile afresh.
Ours is the SHA-1 of the files' bytes, so the cache is reused until the C
changes.
"""
import functools
import hashlib
import os

import theano.tensor as T
from theano.gof import COp

C_CODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c_code")


@functools.lru_cache(maxsize=None)
def content_version(*paths):
    """A cache version from the files' content: ('sha1', first 16 hex digits)."""
    digest = hashlib.sha1()
    for path in paths:
        with open(path, "rb") as f:
            digest.update(f.read())
    return ("sha1", digest.hexdigest()[:16])


def float4(v, op, what):
    """v as a tensor; TypeError unless it is 4-D float32 (``op`` and ``what`` name it)."""
    v = T.as_tensor_variable(v)
    if v.ndim != 4 or v.dtype != "float32":
        raise TypeError("%s: %s must be a 4-D float32 tensor, got %s" % (op, what, v.type))
    return v


class FileCOp(COp):
    """A COp whose C is ``c_code/<c_file>`` (after ``c_code/output4.c``, the
    helpers they share) and whose entry point is ``APPLY_SPECIFIC(<c_function>)``;
    subclasses set both, and ``params_type``.  ``threaded`` Ops also get
    ``c_code/threads.c`` (``reproduce_parallel``) and link pthreads."""
    c_file = c_function = None
    threaded = False
    c_helpers = ()   # more shared files, listed before c_file

    def __init__(self):
        names = (("output4.c",) + (("threads.c",) if self.threaded else ()) + self.c_helpers
                 + (self.c_file,))
        COp.__init__(self, [os.path.join(C_CODE, name) for name in names],
                     "APPLY_SPECIFIC(%s)" % self.c_function)

    def c_headers(self):
        return ["<pthread.h>", "<stdlib.h>", "<string.h>"] if self.threaded else []

    def c_libraries(self):
        return ["pthread"] if self.threaded else []

    def c_code_cache_version(self):
        return content_version(*self.func_files) + (self.params_type.c_code_cache_version(),)
