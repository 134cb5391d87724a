"""Reference reproduction of the 2015 hallucinating neural networks.

The pipeline, in the order of the method: weights (``weights``, ``convert``)
-> net (``nets``) -> objective (``objectives``) + prior (``prior``) ->
update (``updates``) -> frame (``zoom``, ``frames``).  ``backend`` sets up
Theano and Lasagne and is imported before either.
"""
