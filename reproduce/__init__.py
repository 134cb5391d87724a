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

# The one-call API (reproduce.api), loaded on first use so that `import
# reproduce` and the CLI's --help stay fast (Theano loads with the engine).
# ``reproduce.deepdream`` is the package reproduce/deepdream/, which calls
# reproduce.api.deepdream when called.
_API = ("render", "load_model")


def __getattr__(name):
    if name == "deepdream":
        import importlib
        return importlib.import_module(".deepdream", __name__)
    if name in _API:
        from . import api
        return getattr(api, name)
    if name == "objectives":
        import importlib
        return importlib.import_module(".objectives", __name__)
    raise AttributeError("module 'reproduce' has no attribute %r" % name)
