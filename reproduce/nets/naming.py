"""What a layer's name means: a conv layer's name is its output after the
ReLU (Caffe's blob after a full forward pass), ``LAYER/pre_relu`` or
``--pre-relu`` the raw convolution.  Used by DeepDream, the sweep, the
objectives' grammar and the microscope alike."""


def rectified(net, name):
    """The layer holding ``name``'s output after its ReLU, if one follows it.

    A conv layer's name means its output after the ReLU everywhere (the
    ``deepdream``, ``sweep`` and ``class-model`` commands, the reference
    vectors): what Caffe's blob of that name holds after a full forward
    pass, where the ReLU runs in place, and how Caffe-converted models name
    it (:mod:`reproduce.convert.caffe`).  Our VGG nets keep ``conv4_3``
    (before) and ``relu4_3`` (after) apart, so ``conv4_3`` resolves here to
    ``relu4_3``.  google/deepdream itself, given ``end='conv4_3'``, enhanced
    the raw output: pycaffe's ``net.forward(end=...)`` stops at the *layer*
    of that name, before the in-place ReLU layer.  ``--pre-relu``
    (:func:`before_relu`) gives that.  Before the ReLU, 0.5*mean(a^2) also
    rewards strongly negative responses, and the dream comes out as colour
    blotches instead of the familiar patterns.  Any other layer is returned
    unchanged.
    """
    net.layer(name)  # unknown name -> UserError listing the valid ones
    specs = net.model.layers
    names = [s.name for s in specs]
    i = names.index(name)
    if specs[i].type == "conv" and i + 1 < len(specs):
        after = specs[i + 1]
        if after.type in ("relu", "relu6") and after.input in (None, name):
            return after.name
    return name


def before_relu(net, name):
    """The conv layer whose output ``name`` rectifies, if ``name`` is a ReLU
    right after one (Caffe names: ``inception_4c/1x1`` ->
    ``inception_4c/1x1/pre_relu``); any other layer is returned unchanged."""
    net.layer(name)
    specs = net.model.layers
    i = [s.name for s in specs].index(name)
    if specs[i].type in ("relu", "relu6") and i > 0:
        source = specs[i].input or specs[i - 1].name
        if net.model.layer(source).type == "conv" and rectified(net, source) == name:
            return source
    return name


def conv_layers(net):
    """The conv layers in network order, each as :func:`rectified` names it."""
    return [rectified(net, name) for name in net.conv_names()]
