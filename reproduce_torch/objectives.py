"""The port's objectives are :mod:`reproduce.objectives` itself: written with
plain indexing and arithmetic, they work on torch tensors as they do on
Theano's.  Targets that change between steps are given as callables."""
from reproduce.objectives import (  # noqa: F401
    Objective, channel, class_logit, layer_l2, lsd2015, mean_logits, neuron, rows)
