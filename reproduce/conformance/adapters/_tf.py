"""The TensorFlow adapters' shared pieces: our model as Keras models, our
preprocessing and objectives as TensorFlow operations.  Images are NHWC
here; what is written back is NCHW, as the other adapters write it."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # nothing but our lines on stderr
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

tf.random.set_seed(0)
tf.config.threading.set_intra_op_parallelism_threads(2)


def nchw(t):
    return np.asarray(t).transpose(0, 3, 1, 2)


def nhwc(image):
    """(H, W, 3) -> a (1, H, W, 3) float32 tensor."""
    return tf.constant(np.asarray(image, np.float32)[None])


def keras_vgg(inputs, fully_convolutional=False, head="softmax", size=None):
    """Our model laid out as keras.applications.VGG16 lays out VGG-16
    (keras/src/applications/vgg16.py): Conv2D with the ReLU fused
    (activation="relu", padding="same"), named blockB_convI, MaxPooling2D
    blockB_pool; then, on top, Flatten, Dense fc1, fc2 and "predictions"
    with ``head`` (VGG16's classifier_activation default: softmax) at the
    training size ``size``.  ``fully_convolutional``: fc6-fc8 as Conv2D
    (fc8 linear) instead, for a logit map at any size.  Our weights are
    loaded into it."""
    spec = inputs["spec"]
    rows, cols = size or (None, None)
    x = image = keras.Input((rows, cols, 3))
    block, conv, loads = 1, 0, []
    layers = spec["layers"]
    for i, layer in enumerate(layers):
        name = layer["name"]
        W, b = inputs.get("W:" + name), inputs.get("b:" + name)
        if layer["type"] == "pool":
            x = keras.layers.MaxPooling2D((2, 2), strides=(2, 2), name="block%d_pool" % block)(x)
            block, conv = block + 1, 0
        elif layer["type"] == "conv" and not name.startswith("fc"):
            conv += 1
            kernel = keras.layers.Conv2D(W.shape[0], W.shape[2:], padding="same",
                                         activation="relu",
                                         name="block%d_conv%d" % (block, conv))
            x = kernel(x)
            loads.append((kernel, W.transpose(2, 3, 1, 0), b))
        elif layer["type"] == "conv":
            last = name == layers[-1]["name"]
            if fully_convolutional:
                kernel = keras.layers.Conv2D(W.shape[0], W.shape[2:], padding="valid",
                                             activation=None if last else "relu", name=name)
                x = kernel(x)
                loads.append((kernel, W.transpose(2, 3, 1, 0), b))
            else:
                if name == "fc6":
                    x = keras.layers.Flatten(name="flatten")(x)
                dense = keras.layers.Dense(W.shape[0], activation=head if last else "relu",
                                           name="predictions" if last else
                                           {"fc6": "fc1", "fc7": "fc2"}[name])
                x = dense(x)
                # Keras flattens (h, w, c); our fc6 is (out, c, h, w)
                loads.append((dense, W.transpose(2, 3, 1, 0).reshape(-1, W.shape[0]), b))
    model = keras.Model(image, x, name="vgg-like")
    for layer, kernel, bias in loads:
        layer.set_weights([kernel, bias])
    return model


def keras_name(inputs, name):
    """Our conv or ReLU layer's name in the VGG16 layout (its conv, ReLU fused)."""
    convs = [l["name"] for l in inputs["spec"]["layers"]
             if l["type"] == "conv" and not l["name"].startswith("fc")]
    names = [l["name"] for l in inputs["spec"]["layers"]]
    if name not in convs:
        name = names[names.index(name) - 1]   # a ReLU: its conv
    block, conv = 1, 0
    for layer in inputs["spec"]["layers"]:
        if layer["type"] == "pool":
            block, conv = block + 1, 0
        elif layer["type"] == "conv" and not layer["name"].startswith("fc"):
            conv += 1
            if layer["name"] == name:
                return "block%d_conv%d" % (block, conv)
    raise KeyError(name)


def ours(inputs, pixels):
    """Our preprocessing of NHWC RGB 0..255 pixels."""
    spec = inputs["spec"]
    x = pixels - float(np.mean(spec["mean_rgb"]))
    if spec["channel_order"] == "BGR":
        x = x[..., ::-1]
    return x * float(spec["scale"])


def lsd2015(inputs, logits):
    """The 2015 objective on an NHWC logit map (1, R, C, K)."""
    c0, c1 = (int(c) for c in inputs["classes"])
    h = int(inputs["half_row"])
    lower = tf.reduce_mean(logits[0, h:, :, c0]) if logits.shape[1] > h else 0.0
    upper = tf.reduce_mean(logits[0, :h, :, c1]) if h > 0 else 0.0
    return lower + upper - tf.reduce_mean(logits)


def optimiser_steps(optimizer_factory, inputs, kind="lsd2015", scale=1.0):
    """A Keras optimiser fed our loss gradients on a pixel variable (``scale``
    levels per unit): (one step from start, teacher-forced steps 1-4)."""
    first_key, key = (("dd_grad", "forced_dd_grad") if kind == "deepdream"
                      else ("lsd_grad", "forced_lsd_grad"))
    sign = -1.0 if kind == "deepdream" else 1.0

    def take(var, opt, image, grad):
        var.assign(np.asarray(image, np.float32)[None] / scale)
        g = np.asarray(grad, np.float32).transpose(0, 2, 3, 1) * (sign * scale)
        opt.apply_gradients([(tf.constant(g), var)])
        return var.numpy()[0] * scale

    var = tf.Variable(np.zeros((1,) + inputs["start"].shape, np.float32))
    first = take(var, optimizer_factory(), inputs["start"], inputs[first_key])
    var = tf.Variable(np.zeros((1,) + inputs["start"].shape, np.float32))
    opt = optimizer_factory()
    forced = [take(var, opt, image, g) for image, g in zip(inputs["forced_before"],
                                                          inputs[key])]
    return first, np.stack(forced)
