"""Converters: other frameworks' weight files -> our Model (``weights.py``).

Each converter reads a source file into a checked :class:`~reproduce.nets.weights.Model`
and writes nothing; the caller saves it with ``save_model`` (atomic), so a
failed conversion leaves no output behind.

* ``matconvnet``: MatConvNet SimpleNN ``.mat`` (the 2015 VGG-16), both layouts
* ``keras_h5``, ``torch_legacy``: the offline defaults (see their modules)
"""


def summary(model, dst):
    """One line about a converted model: where it went, layers, classes, source."""
    n_conv = len(model.layer_names("conv"))
    classes = len(model.descriptions) if model.has_classes else 0
    return ("%s: %s, %d layers (%d conv), %d classes, mean RGB %s, from %s sha256 %s"
            % (dst, model.model_name, len(model.layers), n_conv, classes,
               "/".join("%.3f" % v for v in model.mean_rgb()), model.source_file,
               model.source_sha256))
