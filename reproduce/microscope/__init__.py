"""The microscope: every channel of chosen layers of a net, visualised, rendered
on the class atlas's Dask machinery, and browsable from a folder.

* :mod:`.plan`  -- the job (a frozen value), which layers and channels, the
  files of one unit, what a re-run may skip;
* :mod:`.tasks` -- the worker side: one task renders a few channels of one
  layer (positive, negative, diverse pictures, DeepDream of the channel on
  a fixed photo) or the layer's own DeepDream, and writes each unit's
  pictures and record atomically;
* :mod:`.run`   -- the driver's state over :func:`reproduce.atlas.cluster.drive`
  (the atlas's submit/retry/give-up loop, reused);
* :mod:`.page`  -- the pages: the net's layers, a lazy grid per layer, a
  page per unit.

``python -m reproduce microscope`` is the command
(reproduce/commands/microscope.py); docs/microscope.md tells the scale.
"""
