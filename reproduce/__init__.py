"""Reference reproduction of the 2015 hallucinating neural networks.

The pipeline, in the order of the method: weights (``nets.weights``,
``convert``) -> net (``nets``) -> objective (``objectives``) + prior
(``prior``) -> update (``updates``) -> frame (``lsd2015.frames``).  A job
(``job``) says what to make; its recipe (``recipes``) builds the dreamer
that makes it.  ``backend`` sets up Theano and Lasagne and is imported
before either.

Axis convention, everywhere: ``size = (width, height)``, ``shape = (rows,
cols)``; images are (H, W, 3) RGB on 0..255 unless a function says otherwise.
"""
from . import blas as _blas

# Before anything of ours imports numpy: both OpenBLAS copies read the core
# to run when they load (reproduce/blas.py).
_blas.apply()
