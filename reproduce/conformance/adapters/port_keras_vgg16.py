"""keras.applications.VGG16 (TensorFlow 2.17.1, Keras 3): the model zoo.

Our weights in VGG16's layout (keras/src/applications/vgg16.py): the ReLU
fused into each Conv2D, Flatten and Dense on top with a softmax; the real
``keras.applications.VGG16`` where the model has VGG-16's widths, else its
layout at our widths.  A model zoo: no objective or optimiser; the aligned
mode feeds it our preprocessing and objective on a fully convolutional twin.
"""
import numpy as np

from _common import Results, read_inputs, version_of
from _tf import keras, keras_name, keras_vgg, lsd2015, nchw, nhwc, ours, tf

inputs, out = read_inputs()
res = Results({"tensorflow-cpu": version_of("tensorflow-cpu"), "keras": version_of("keras")})
start = inputs["start"]
th, tw = inputs["spec"]["image_shape"]
widths = [int(inputs["W:" + l["name"]].shape[0]) for l in inputs["spec"]["layers"]
          if l["type"] == "conv"]
if widths == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512, 4096, 4096, 1000]:
    zoo = keras.applications.VGG16(weights=None, include_top=True)
    zoo.set_weights(keras_vgg(inputs, size=(th, tw)).get_weights())
    how = "keras.applications.VGG16(weights=None) with our weights"
else:
    zoo = keras_vgg(inputs, size=(th, tw))
    how = "VGG16's layout (keras/src/applications/vgg16.py) at our widths"
twin = keras_vgg(inputs, fully_convolutional=True)
x_ours = nhwc(start)

pre = keras.applications.vgg16.preprocess_input(np.array(start[None]))
res.put("defaults", "preprocessing", nchw(pre),
        "vgg16.preprocess_input ('caffe' mode): RGB to BGR, minus the per-channel ImageNet "
        "mean %s, 0..255: the 2015 stream subtracted one number, their mean" % (
            [103.939, 116.779, 123.68]))
res.put("aligned", "preprocessing", nchw(ours(inputs, x_ours)), "our preprocessing fed in")

x = tf.constant(inputs["input"].transpose(0, 2, 3, 1))
layer = keras_name(inputs, inputs["conv"])
res.both("layer", nchw(keras.Model(twin.input, twin.get_layer(layer).output)(x)),
         "get_layer(%r).output: the ReLU is fused into the Conv2D (activation='relu'), so "
         "a conv's name means its rectified output" % layer)
res.put("defaults", "logits", nchw(zoo(x[:, :th, :tw])[:, None, None, :]),
        how + ": classifier_activation='softmax' by default, probabilities, not logits")
res.put("aligned", "logits", nchw(twin(x[:, :th, :tw])), "fc6-fc8 as Conv2D, fc8 linear")
res.put("defaults", "logit_map", None, "include_top=True: Flatten + Dense fix the input to "
        "%dx%d; include_top=False has no classifier" % (tw, th))
res.put("aligned", "logit_map", nchw(twin(x)), "fc6-fc8 as Conv2D: the map at any size")

image = tf.Variable(x_ours)
with tf.GradientTape() as tape:
    value = lsd2015(inputs, twin(ours(inputs, image)))
grad = tape.gradient(value, image)
res.put("aligned", "objective", value.numpy(), "our 2015 objective on the twin",
        kind="lsd2015")
res.put("aligned", "gradient", nchw(grad), "tf.GradientTape through our preprocessing",
        kind="lsd2015")
zoo_note = "a model zoo: no %s"
res.put("defaults", "objective", None, zoo_note % "objective")
res.put("defaults", "gradient", None, zoo_note % "objective to differentiate")
for stage, what in (("step", "optimiser"), ("forced", "optimiser"), ("jitter", "transforms"),
                    ("octaves", "octaves"), ("zoom", "zoom"), ("prior", "image prior")):
    res.both(stage, None, zoo_note % what)
res.write(out)
