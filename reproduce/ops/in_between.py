"""One in-between stream frame as a Theano C Op: two bilinear warps and
their blend fused, rows split over threads.

:func:`reproduce.lsd2015.frames.in_between` is the formula: frame i warps
the previous key frame and the following one (scikit-image's bilinear
``_warp_fast`` in float64, mode "edge"), blends them
``(wa a + wb b) / total`` in float32 (wa = n - i, wb = i, total = n), and
shows the previous one where the following one has no pixels (its sample
point outside it).  This Op computes exactly that per output pixel in one
pass: sample positions ``M @ [x, y, 1]`` in double, the 2x2 neighbours'
indices clamped, the interpolation in double, the blend in float32; with
``dtype="uint8"`` the result is rounded and clipped there as
``fileio.to_uint8`` (half to even, as ``cv2.convertScaleAbs``).  The C is
c_code/in_between.c.

Shapes: previous (rows0, cols0, 3) and following (rows1, cols1, 3) float32;
matrix_a, matrix_b (2, 3) float64, each the map from output (x, y) to that
key frame's (x, y) (``frames.warp_matrix``'s first two rows); weights
(wa, wb, total) float64; shape (rows, cols) int64.  Output (rows, cols, 3)
float32 or uint8.  No gradient: it makes pictures to show.
"""
import functools

# the backend first: it sets Theano's flags before Theano is imported
from ..backend import T, thread_budget, theano
from .cop import FileCOp

ParamsType, int64 = theano.gof.ParamsType, theano.scalar.int64

DTYPES = ("float32", "uint8")


class InBetween(FileCOp):
    """(previous, following, matrix_a, matrix_b, weights, shape) -> frame (rows, cols, 3)."""
    __props__ = ("dtype",)
    params_type = ParamsType(to_uint8=int64, threads=int64)
    c_file, c_function = "in_between.c", "in_between"
    threaded = True

    def __init__(self, dtype="uint8"):
        super().__init__()
        if dtype not in DTYPES:
            raise ValueError("in-between frame: dtype must be one of %s, not %r"
                             % (", ".join(DTYPES), dtype))
        self.dtype = dtype
        self.to_uint8 = int(dtype == "uint8")
        self.threads = thread_budget()

    def make_node(self, previous, following, matrix_a, matrix_b, weights, shape):
        wanted = [(previous, T.ftensor3, "previous"), (following, T.ftensor3, "following"),
                  (matrix_a, T.dmatrix, "matrix_a"), (matrix_b, T.dmatrix, "matrix_b"),
                  (weights, T.dvector, "weights"), (shape, T.lvector, "shape")]
        inputs = []
        for value, kind, what in wanted:
            value = T.as_tensor_variable(value)
            if value.type != kind:
                raise TypeError("in-between frame: %s must be %s, got %s"
                                % (what, kind, value.type))
            inputs.append(value)
        return theano.Apply(self, inputs, [T.TensorType(self.dtype, (False,) * 3)()])

    def infer_shape(self, node, shapes):
        shape = node.inputs[5]
        return [(shape[0], shape[1], 3)]

    def c_headers(self):
        return super().c_headers() + ["<math.h>"]

    def c_compile_args(self):
        # numpy and scikit-image round every product and sum on its own
        return ["-ffp-contract=off"]


@functools.lru_cache(maxsize=None)
def in_between_function(dtype="uint8"):
    """The compiled f(previous, following, matrix_a, matrix_b, weights, shape)
    -> frame, one per process and dtype (the C from Theano's cache after the
    first compile)."""
    previous, following = T.ftensor3("previous"), T.ftensor3("following")
    matrix_a, matrix_b = T.dmatrix("matrix_a"), T.dmatrix("matrix_b")
    weights, shape = T.dvector("weights"), T.lvector("shape")
    inputs = [previous, following, matrix_a, matrix_b, weights, shape]
    return theano.function(inputs, InBetween(dtype)(*inputs))
