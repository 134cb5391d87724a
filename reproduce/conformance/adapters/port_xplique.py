"""Xplique 2.0.2: xplique.features_visualizations (Objective, optimize).

defaults: optimize's (features_visualizations/optim.py:14-100): the image
in values_range (0, 1) fed to the model as it is, Objective.layer with
reducer "magnitude" = mean(a^2) (objectives.py:145-187), Adam(0.05) on an
FFT parameter, the "standard" transformations (random jitter by cropping,
transformations.py:85-106).  aligned: our preprocessing as the model's
first layer, Keras's Adam at the 2015 rate.  Citations are to files of the
2.0.2 wheel, under xplique/.
"""
import numpy as np

from _common import Results, read_inputs, version_of
from _tf import keras, keras_name, keras_vgg, nchw, nhwc, optimiser_steps, ours, tf
from xplique.features_visualizations import Objective  # noqa: E402
from xplique.features_visualizations.transformations import random_jitter  # noqa: E402

inputs, out = read_inputs()
res = Results({"Xplique": version_of("Xplique"), "keras": version_of("keras")})
start = inputs["start"]
H, W = start.shape[:2]
twin = keras_vgg(inputs, fully_convolutional=True, size=(H, W))

res.put("defaults", "preprocessing", nchw(nhwc(start) / 255.0),
        "none: optimize's image, in values_range (0, 1) (optim.py:23), goes to the model as "
        "it is")
res.put("aligned", "preprocessing", nchw(ours(inputs, nhwc(start))),
        "our preprocessing as the model's first layer")
layer = keras_name(inputs, inputs["relu"])
x = tf.constant(inputs["input"].transpose(0, 2, 3, 1))
res.both("layer", nchw(keras.Model(twin.input, twin.get_layer(
    keras_name(inputs, inputs["conv"])).output)(x)),
    "Objective.layer(model, name) (objectives.py:145-187) on a Keras layer, whose ReLU is "
    "fused into the Conv2D")
res.both("logits", None, "the user's Keras model as it is (see the keras VGG16 row)")
res.both("logit_map", None, "the user's Keras model as it is (see the keras VGG16 row)")

for mode, pre in (("defaults", lambda p: p / 255.0), ("aligned", lambda p: ours(inputs, p))):
    model, objective, _, _ = Objective.layer(twin, layer).compile()
    image = tf.Variable(nhwc(start))
    with tf.GradientTape() as tape:
        value = objective(model(pre(image)))
    grad = tape.gradient(value, image)
    note = ("Objective.layer, reducer 'magnitude': mean(a^2) (objectives.py:179-184), twice "
            "0.5 mean(a^2)" + (", on 0..1 pixels" if mode == "defaults" else ""))
    res.put(mode, "objective", np.asarray(value).reshape(()), note, kind="deepdream")
    res.put(mode, "gradient", nchw(grad), note, kind="deepdream")

first, forced = optimiser_steps(lambda: keras.optimizers.Adam(0.05), inputs, scale=255.0)
note = ("keras.optimizers.Adam(0.05) (optim.py:81) on 0..1 pixels: 12.75 levels a step, "
        "epsilon 1e-7 added to the uncorrected sqrt(v) (keras/src/optimizers/adam.py:117, "
        "135); its parameter is an FFT spectrum through a sigmoid")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda: keras.optimizers.Adam(5.0, epsilon=1e-8), inputs)
note = ("keras.optimizers.Adam(5.0, epsilon 1e-8) on 0..255 pixels: epsilon on the "
        "uncorrected sqrt(v) (keras/src/optimizers/adam.py:117,135), and Adam's moments "
        "weight the new gradient by 1 - beta where the 2015 rule's weight it by beta")
res.steps("aligned", first, forced, note)

tf.random.set_seed(0)
res.both("jitter", nchw(random_jitter(6)(nhwc(start)))[0].transpose(1, 2, 0),
         "random_jitter(6): tf.image.random_crop to 6 pixels less each axis "
         "(transformations.py:85-106), a crop, not a roll; no fixed offset in its API")
res.both("octaves", None, "one size only (custom_shape 512x512)")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: regularizers None by default (l1, l2, total "
         "variation available)")
res.write(out)
