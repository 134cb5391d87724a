"""tf-keras-vis 0.8.7: ActivationMaximization on a Keras model.

defaults: ActivationMaximization.__call__'s (activation_maximization/
__init__.py:22-36, 275-277): the seed fed to the model as it is
(input_range 0..255), Jitter(4) and Rotate2D(1) input modifiers, the
TotalVariation2D and Norm regularisers, RMSprop(1.0, rho 0.999), the model's
own head (VGG16's softmax) unless a ReplaceToLinear modifier is given.
aligned: our preprocessing and 2015 objective as the score, on a fully
convolutional twin; Keras's Adam at the 2015 rate; the jitter at our offset.
Citations are to files of the 0.8.7 wheel, under tf_keras_vis/.
"""
import numpy as np

from _common import JITTER_NOTE, Results, read_inputs, version_of
from _tf import keras, keras_name, keras_vgg, lsd2015, nchw, nhwc, optimiser_steps, ours, tf
from tf_keras_vis.activation_maximization import input_modifiers  # noqa: E402

inputs, out = read_inputs()
res = Results({"tf-keras-vis": version_of("tf-keras-vis"), "keras": version_of("keras")})
start = inputs["start"]
th, tw = inputs["spec"]["image_shape"]
zoo = keras_vgg(inputs, size=(th, tw))
twin = keras_vgg(inputs, fully_convolutional=True)

res.put("defaults", "preprocessing", nchw(nhwc(start)),
        "none: the seed goes to the model as it is, in input_range (0, 255) (activation_"
        "maximization/__init__.py:25); preprocessing is the model's business")
res.put("aligned", "preprocessing", nchw(ours(inputs, nhwc(start))),
        "our preprocessing as the model's first layer")
x = tf.constant(inputs["input"].transpose(0, 2, 3, 1))
layer = keras_name(inputs, inputs["conv"])
res.both("layer", nchw(keras.Model(twin.input, twin.get_layer(layer).output)(x)),
         "a layer's output as the model's: Keras fuses the ReLU into the Conv2D")
res.put("defaults", "logits", nchw(zoo(x[:, :th, :tw])[:, None, None, :]),
        "model_modifier=None keeps the model's softmax; its examples pass ReplaceToLinear")
res.put("aligned", "logits", nchw(twin(x[:, :th, :tw])), "a linear fc8 (ReplaceToLinear)")
res.put("defaults", "logit_map", None, "the model's Flatten + Dense fix the input size")
res.put("aligned", "logit_map", nchw(twin(x)), "fc6-fc8 as Conv2D")

image = tf.Variable(nhwc(start))
with tf.GradientTape() as tape:
    value = lsd2015(inputs, twin(ours(inputs, image)))
grad = tape.gradient(value, image)
res.put("aligned", "objective", value.numpy(), "our 2015 objective as the score, "
        "regularizers=[]", kind="lsd2015")
res.put("aligned", "gradient", nchw(grad), "tf.GradientTape, as ActivationMaximization "
        "takes it", kind="lsd2015")
res.put("defaults", "objective", None, "CategoricalScore needs the model's fixed input "
        "size, and the default loss adds TotalVariation2D(1.0) and Norm(0.3)")
res.put("defaults", "gradient", None, "no objective at our image's size (see objective)")

first, forced = optimiser_steps(lambda: tf.optimizers.RMSprop(learning_rate=1.0, rho=0.999),
                                inputs)
note = ("tf.optimizers.RMSprop(1.0, rho 0.999) (activation_maximization/__init__.py:277), "
        "here Keras 3's, which divides by sqrt(v + epsilon), epsilon 1e-7 inside the root "
        "(keras/src/optimizers/rmsprop.py): gradients under about 1e-2 move far less than "
        "sign(g); on 0..255 pixels")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda: keras.optimizers.Adam(learning_rate=5.0,
                                                               epsilon=1e-8), inputs)
note = ("keras.optimizers.Adam(5.0, epsilon 1e-8): epsilon on the uncorrected sqrt(v) "
        "(keras/src/optimizers/adam.py:117,135), and Adam's moments weight the new gradient "
        "by 1 - beta where the 2015 rule's weight it by beta")
res.steps("aligned", first, forced, note)

dy, dx = (int(v) for v in inputs["jitter"])
offsets = iter([(dy, dx)])
input_modifiers.np.random.randint = lambda low, high, n: np.asarray(next(offsets))
rolled = input_modifiers.Jitter(jitter=4)(nhwc(start))
res.both("jitter", nchw(rolled)[0].transpose(1, 2, 0),
         "Jitter(4): tf.roll by np.random.randint(-4, 4) each axis (input_modifiers.py:40-47), "
         "so -4..3, a lopsided range; here at our offset: " + JITTER_NOTE % "nothing: the "
         "same roll")
res.both("octaves", None, "one size only")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: TotalVariation2D(weight 1.0) and Norm(weight 0.3, "
         "p 1) regularise by default")
res.write(out)
