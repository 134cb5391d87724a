"""Google's DeepDream (2015), Simonyan et al.'s class models and the layer sweep.

Called, this package is the one-call API's DeepDream
(:func:`reproduce.api.deepdream`): ``reproduce.deepdream(model, image,
layer="conv4_3", octaves=4)``, as dream.ipynb's ``deepdream(net, img, ...)``.
A package and a function cannot share the name ``reproduce.deepdream``
otherwise: importing the package puts the module there.
"""
import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from ..api import deepdream
        return deepdream(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
