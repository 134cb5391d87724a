"""Winograd convolution as Theano C Ops: stride-1 3x3 correlations with pad 1.

VGG-16 is 13 such layers.  CorrMM (im2col + one GEMM) does 9 multiplies
per output and input channel; Winograd's minimal filtering (Lavin & Gray
2016, "Fast Algorithms for Convolutional Neural Networks") does 4
(F(2x2, 3x3), tile 2) or 2.25 (F(4x4, 3x3), tile 4): the filters and
each input tile are transformed, multiplied element-wise -- batched into
alpha^2 GEMMs over the channels, so the BLAS still does the heavy work --
and transformed back.  The C is c_code/winograd.c.

Shapes: x (batch, C, rows, cols); w (K, C, 3, 3), *correlation* filters
as stored (no flip); an optional bias b (K,), added in the output
transform while the tiles are in cache (the same float32 sum as Theano's
``+ b`` after the Op); output (batch, K, rows, cols).  float32.  The
gradient to the input is the same kind of correlation with the filters
rotated 180 degrees and their channel axes swapped
(:class:`WinogradCorrGradInputs`, done in the same C); the gradient to
the filters is CorrMM's.

Numerics: the tile-4 transforms have entries up to 8 and 1/24, so float32
rounding grows with the tile (measured per VGG-16 layer in docs/winograd.md,
where the choice of tile per layer comes from).
"""
import numpy as np
from theano.gof import ParamsType
from theano.scalar import int64
from theano.tensor import blas_headers
from theano.tensor.blas import ldflags
from theano.tensor.nnet import corr

from ..backend import T, thread_budget, theano
from .cop import FileCOp, float4

TILES = (2, 4)  # F(2x2, 3x3) and F(4x4, 3x3)


def _float4(v, what):
    return float4(v, "winograd correlation", what)


def _blas_mode():
    """2: OpenBLAS (our threads each run one-thread GEMMs); 1: another BLAS
    (one thread, the BLAS's own threads); 0: Theano's numpy fallback (no
    -lblas at all; it needs the GIL)."""
    flags = theano.config.blas.ldflags
    return 2 if "openblas" in flags else int(bool(flags))


class _Winograd(FileCOp):
    """What the two Ops share: the tile, and the C entry point ``winograd``
    in c_code/winograd.c, told the direction.  (data, w) -> output."""
    __props__ = ("tile",)
    params_type = ParamsType(direction=int64, tile=int64, threads=int64, blas=int64)
    c_file, c_function = "winograd.c", "winograd"
    threaded = True
    _cop_num_inputs = 3   # (data, w, bias); the bias NULL when there is none
    direction = None
    data = None   # what the first input is, for errors

    def __init__(self, tile=4):
        super().__init__()
        if tile not in TILES:
            raise ValueError("winograd correlation: tile must be 2 or 4 (F(2x2, 3x3) or "
                             "F(4x4, 3x3)); got %r" % (tile,))
        self.tile = int(tile)
        self.threads = thread_budget()
        self.blas = _blas_mode()

    def make_node(self, data, w, b=None):
        data, w = _float4(data, self.data), _float4(w, "the filters")
        inputs = [data, w]
        if b is not None:
            b = T.as_tensor_variable(b)
            if b.type != T.fvector:
                raise TypeError("winograd correlation: the bias must be a float32 vector, "
                                "got %s" % (b.type,))
            inputs.append(b)
        out = T.TensorType("float32", (data.broadcastable[0], False, False, False))()
        return theano.Apply(self, inputs, [out])

    def c_support_code(self):
        # sgemm_ as CorrMM declares it (theano.tensor.blas_headers)
        code = blas_headers.blas_header_text()
        if self.blas == 2:
            code += "\n#define WG_OPENBLAS 1\n" + blas_headers.openblas_threads_text()
        return code + super().c_support_code()

    def c_libraries(self):
        return ldflags() + super().c_libraries()

    def c_compile_args(self):
        return ldflags(libs=False, flags=True)

    def c_lib_dirs(self):
        return ldflags(libs=False, libs_dir=True)

    def c_header_dirs(self):
        return ldflags(libs=False, include_dir=True)

    def c_code_cache_version(self):
        return super().c_code_cache_version() + (blas_headers.blas_header_version(),)


class WinogradCorr(_Winograd):
    """(x (batch, C, rows, cols), w (K, C, 3, 3)[, b (K,)]) -> (batch, K, rows, cols), pad 1."""
    direction = 0
    data = "the input"

    def infer_shape(self, node, shapes):
        (b, _, rows, cols), (k, _, _, _) = shapes[:2]
        return [(b, k, rows, cols)]

    def grad(self, inputs, output_grads):
        x, w = inputs[:2]
        (gz,) = output_grads
        gw = corr.CorrMM_gradWeights(border_mode=(1, 1))(x, gz, w.shape[2:])
        grads = [WinogradCorrGradInputs(self.tile)(gz, w), gw]
        if len(inputs) == 3:   # the bias's
            grads.append(gz.sum(axis=(0, 2, 3)))
        return grads


class WinogradCorrGradInputs(_Winograd):
    """(gz (batch, K, rows, cols), w (K, C, 3, 3)) -> d/dx (batch, C, rows, cols)."""
    direction = 1
    data = "the output gradient"

    def make_node(self, data, w):
        return super().make_node(data, w)

    def infer_shape(self, node, shapes):
        (b, _, rows, cols), (_, c, _, _) = shapes
        return [(b, c, rows, cols)]

    def grad(self, inputs, output_grads):
        # d/dx is linear in gz: its transpose is the forward correlation
        gz, w = inputs
        (g,) = output_grads
        gw = corr.CorrMM_gradWeights(border_mode=(1, 1))(g, gz, w.shape[2:])
        return [WinogradCorr(self.tile)(g, w), gw]


def winograd_corr(x, w, tile=4, b=None):
    """Symbolic pad-1 correlation of x (batch, C, rows, cols) with w (K, C, 3, 3), plus b (K,) if given."""
    return WinogradCorr(tile)(x, w, b)


def direct_flops(batch, c_in, c_out, rows, cols):
    """2 * outputs * 9 * C: what a direct 3x3 correlation does, the 'effective' count."""
    return 2 * batch * c_out * rows * cols * 9 * c_in


def reference(x, w):
    """numpy float64 pad-1 correlation, for the tests: arrays in and out."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    rows, cols = x.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)])
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for dy in range(3):
        for dx in range(3):
            out += np.einsum("kc,nchw->nkhw", w[:, :, dy, dx],
                             xp[:, :, dy:dy + rows, dx:dx + cols])
    return out
