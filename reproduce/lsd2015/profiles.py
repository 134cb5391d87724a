"""The 2015 settings as data: every constant once, with where it comes from.

Sources are files of 317070/Twitch-plays-LSD-neural-net (MIT), read at
commit 9ff4086: ``train.py`` + ``models/default.py`` ran the Twitch stream,
``train_image.py`` + ``models/default_image.py`` made still images.
Override any value with a job's ``overrides`` (the CLI's ``--set name=value``).
The prior is not a setting: it is the job's (``--prior``); 2015's train.py
used the Student-t one (``l_with_meanpool_student``), our default.
"""
import dataclasses
from typing import Optional, Tuple

from .. import checks
from ..checks import Rule
from ..errors import UserError
from ..nets.weights import TIE_CHOICES

# Layers a profile names by default, meaning "the logits": replaced by the
# model's last layer where the model has no layer of that name.
DEFAULT_LAYERS = ("fc8", "")
UPDATES = ("adam2015", "adam")
MEANS = ("scalar", "channel")
ZOOM_CENTRES = ("2015", "true")   # Profile.zoom_centre
ZOOM_DITHERS = ("none", "subpixel")  # Profile.zoom_dither (frames.dither)
# The network's number format (reproduce_torch/precision.py; docs/precision.md).
PRECISIONS = ("float32", "bf16", "auto")
# The live stream's precision where the job names none: bf16 where the
# hardware has a bfloat16 unit, float32 elsewhere and on Theano.  Chosen by
# measurement (docs/precision.md): the stream's aim is its pace, and a VGG-16
# step in bf16 took about 0.6x float32's time here (a loaded 2-core AMD
# EPYC).  The atlas, the 2015 profiles, the figures and the reference
# vectors stay float32.
LIVE_PRECISION = "auto"
LIVE_PRECISION_SOURCE = "ours: auto for the live stream (docs/precision.md)"

# What each setting may be (reproduce.checks), checked whenever a profile is
# made or changed, so before anything is compiled.  fps and frames_per_key
# are bounded: a run's frame count grows with them.
PROFILE_RULES = {
    "learning_rate": checks.POSITIVE, "update": Rule(str, choices=UPDATES),
    "beta1": checks.MOMENT, "beta2": checks.MOMENT, "epsilon": checks.EPSILON,
    "steps": checks.STEPS, "steps_per_zoom": Rule(int, low=1, high=10 ** 6, optional=True),
    "prior_strength": checks.NON_NEGATIVE, "prior_scales": checks.SCALES,
    "net_scales": checks.SCALES, "mean": Rule(str, choices=MEANS), "clip": checks.CLIP,
    "zoom_speed": Rule(float, above=0, high=100), "fps": Rule(int, low=1, high=240),
    "frames_per_key": Rule(int, low=1, high=10000),
    "rotation_per_frame": Rule(float, low=-360, high=360),
    "image_size": checks.SIZE, "stream_size": checks.SIZE, "start_image": Rule(str),
    "layer": Rule(str, forbid=("input",)),
    "zoom_centre": Rule(str, choices=ZOOM_CENTRES),
    "zoom_dither": Rule(str, choices=ZOOM_DITHERS),
    "pool_ties": Rule(str, choices=TIE_CHOICES),
    "precision": Rule(str, choices=PRECISIONS),
}


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    learning_rate: float        # on 0..255 pixels
    update: str                 # "adam2015" (the rule as the 2015 code wrote it) | "adam"
    beta1: float
    beta2: float
    epsilon: float
    steps: int                  # optimisation steps for one picture
    steps_per_zoom: Optional[int]  # None: never zoom
    prior_strength: float
    prior_scales: Tuple[int, ...]  # mean-pool sizes the prior sees
    net_scales: Tuple[int, ...]    # mean-pool sizes the net sees
    mean: str                   # "scalar": one number, the 2015 way; "channel"
    clip: Tuple[float, float]   # pixel range enforced after every step
    zoom_speed: float           # zoom factor per second of stream
    fps: int                    # stream frames per second
    frames_per_key: int         # stream frames between two key frames
    rotation_per_frame: float   # degrees
    image_size: Tuple[int, int]  # (width, height) of the optimised image
    stream_size: Tuple[int, int]  # (width, height) of the stream frames
    start_image: str            # the 2015 start image; its size is image_size
    layer: str = "fc8"          # the layer whose logits are pushed up
    # Where the logit map's lower half starts.  "static2015": half the rows
    # of the map of the full-size image, applied to every net scale's map
    # (empty slices count 0); "per_map": half of each map's own rows, a
    # one-row map giving row 0 to both classes (ours).
    half_row: str = "static2015"
    # The key-frame zoom's interpolation.  "cubic2015": scikit-image's cubic
    # convolution (Keys, a = -1/2), as 2015; "bspline": scipy's prefiltered
    # cubic B-spline, which blurs less (ours).
    zoom_kernel: str = "cubic2015"
    # The point the zoom turns about.  "2015": (cols / 2, rows / 2) in pixel
    # indices, half a pixel right of and below the true centre, so the
    # picture drifts towards the top left at every zoom, as 2015; "true":
    # ((cols - 1) / 2, (rows - 1) / 2).
    zoom_centre: str = "2015"
    # A sub-pixel shift per zoom (frames.dither): "none", every zoom about the
    # same point, as 2015, which leaves a cross of sharper lines through it
    # (docs/stream.md); "subpixel", a fresh shift each zoom (ours).
    zoom_dither: str = "none"
    # Where a max-pool's gradient goes when a window holds its max more than
    # once (nets.build.TIE_CHOICES): "model" as the model says, i.e. to
    # every tied pixel on VGG-16 (Theano's rule, whose 2015 GPU counterpart
    # cannot be known: docs/fidelity.md) and to Caffe's one argmax on nets
    # converted from Caffe; "argmax" or "every" for all max-pools.
    pool_ties: str = "model"
    conv: str = "auto"          # 3x3 convolutions: "auto" | "winograd" | "corrmm" (nets.build.CONV_CHOICES)
    # The net's number format on the torch backend: "float32" (the reference),
    # "bf16" (bfloat16 products, float32 sums; float32 with a note where the
    # hardware has no bfloat16 unit) or "auto" (bf16 where it has one).
    precision: str = "float32"
    sources: Tuple[Tuple[str, str], ...] = ()

    def __post_init__(self):
        checks.check(self, PROFILE_RULES)

    def source(self, field):
        return dict(self.sources).get(field, "")

    def zoom_per_key(self):
        """Scale factor from one key frame to the next: zoomspeed^(frames/fps)."""
        return self.zoom_speed ** (self.frames_per_key / float(self.fps))

    def for_model(self, model):
        """This profile aimed at ``model``'s logits: ``layer`` stays where the
        model has it (``fc8``, VGG-16's logits), else becomes the model's last
        layer, which is the logits of every classifier in our format
        (EfficientNet-Lite0's ``logits``)."""
        if self.layer in model.layer_names():
            return self
        if self.layer not in DEFAULT_LAYERS:  # named by the user: never replaced
            model.layer(self.layer)           # UserError listing the valid names
        return dataclasses.replace(self, layer=model.layers[-1].name)

    def half_row_index(self, net):
        """The row where the 2015 objective's lower half starts, or None.

        "static2015": half the rows of the logit map that ``net`` (Theano or
        the PyTorch port: anything with ``output_shape(rows, cols, name)``)
        gives for the full ``image_size``, used for the maps of every net
        scale, as 2015's ``get_output_shape()[2]/2`` was (train_image.py:86-88).
        "per_map": None, each map halves its own rows.
        """
        if self.half_row not in HALF_ROWS:
            raise UserError("half_row must be one of %s, not %r"
                            % (", ".join(HALF_ROWS), self.half_row))
        if self.half_row == "per_map":
            return None
        width, height = self.image_size
        return int(net.output_shape(height, width, self.layer)[2]) // 2

    def settings(self):
        """Plain dict of the values, for gallery pages and logs."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "sources"}


HALF_ROWS = ("static2015", "per_map")
ZOOM_KERNELS = ("cubic2015", "bspline")
CHOICES = {"half_row": HALF_ROWS, "zoom_kernel": ZOOM_KERNELS, "zoom_centre": ZOOM_CENTRES,
           "zoom_dither": ZOOM_DITHERS}

_ADAM2015 = ("models/default.py:137-161 build_updates: m = beta1*g + (1-beta1)*m "
             "(:147), bias correction 1-(1-beta1)^t (:150); train.py:214-215 resets "
             "m, v and t at every zoom")

STREAM2015 = Profile(
    name="stream2015", learning_rate=5.0, update="adam2015",
    beta1=0.9, beta2=0.999, epsilon=1e-8,
    steps=200, steps_per_zoom=10,
    prior_strength=10.0, prior_scales=(1, 4, 8, 16, 32),
    net_scales=(1,), mean="scalar", clip=(0.0, 255.0),
    zoom_speed=1.05, fps=25, frames_per_key=17, rotation_per_frame=0.01,
    image_size=(840, 472), stream_size=(1024, 576), start_image="image7.jpg",
    sources=(
        ("learning_rate", "models/default.py:29 learning_rate = 5.0"),
        ("update", _ADAM2015),
        ("beta1", "models/default.py:137 build_updates(beta1=0.9)"),
        ("beta2", "models/default.py:137 build_updates(beta2=0.999)"),
        ("epsilon", "models/default.py:138 build_updates(epsilon=1e-8)"),
        ("steps", "ours: 20 key frames; the stream ran without end (train.py:197)"),
        ("steps_per_zoom", "models/default.py:33 steps_per_zoom = 10; train.py:198"),
        ("prior_strength", "models/default.py:37 prior_strength = 10"),
        ("prior_scales", "train.py:147 pool_sizes = [1,4,8,16,32]"),
        ("net_scales", "train.py:150 pool_sizes = [1] for l_from_network"),
        ("mean", "models/default.py:58 mean_img = mean.npy .mean(), one number"),
        ("clip", "train.py:221-222 x.set_value(np.clip(x_val, 0.0, 255.0)) after "
                 "every step"),
        ("zoom_speed", "models/default.py:39 zoomspeed = 1.05 per second"),
        ("fps", "train.py:196 ZoomingStream(fps=25)"),
        ("frames_per_key", "ours, fixed so that a seed gives one picture: "
                           "ceil(25 / 1.5) from models/default.py:44 "
                           "estimated_input_fps = 15/steps_per_zoom, a value that "
                           "never took effect: zoomingstream.py:143 set it to 1/10 "
                           "and zoomingstream.py:268,274 followed the measured rate; "
                           "live, serve follows 2015's rule (stream.keyframes.Pace)"),
        ("rotation_per_frame", "zoomingstream.py:118 rotation -0.01 degree per frame"),
        ("image_size", "models/default.py:49 the size of image7.jpg"),
        ("stream_size", "models/default.py:41-42 width = 1024, height = 576"),
        ("start_image", "models/default.py:49 image7.jpg"),
        ("layer", "models/default.py:126 l_to_strengthen = the last conv (fc8)"),
        ("half_row", "train.py:86-88 output_shape[2]/2 of get_output_shape(): "
                     "the static shape, from the InputLayer's full image size "
                     "(models/default.py:77)"),
        ("zoom_kernel", "zoomingstream.py:123-128 np.clip(frame, 0, 1), then "
                        "_warp_fast(order=3, mode='nearest') (scikit-image 0.11: "
                        "Catmull-Rom cubic convolution, edge pixels repeated)"),
        ("zoom_centre", "zoomingstream.py:114 and :120 shift = shape / 2.0 (and :64, "
                        ":70 for the in-between frames): n / 2, not (n - 1) / 2"),
        ("zoom_dither", "zoomingstream.py:108-129 every zoom the same map about "
                        "shape / 2.0, no shift; subpixel ours (docs/stream.md)"),
        ("pool_ties", "models/default.py:71-73 dnn.MaxPool2DDNNLayer: cuDNN's pooling "
                      "backward (Theano's GpuDnnPoolGrad, mid-2015), whose rule on "
                      "ties is not published; we keep Theano's CPU rule, every tied "
                      "pixel, as the 2015 code ran in Theano (docs/fidelity.md)"),
        ("conv", "ours: the 2015 code ran cuDNN/CorrMM; auto = Winograd where it is "
                 "faster and within tolerance (docs/winograd.md), corrmm = the plain way"),
        ("precision", "float32 as 2015 (train.py:65 x.set_value(cfg.image.astype("
                      "'float32')), on a GPU's float32 units); bf16 and auto ours, "
                      "the torch backend only (docs/precision.md)"),
    ))

IMAGE2015 = dataclasses.replace(
    STREAM2015, name="image2015", steps=99, steps_per_zoom=None,
    prior_strength=1000.0, prior_scales=(1, 2, 5, 11, 23, 47, 95),
    net_scales=(3, 4), image_size=(1920, 1080), start_image="hd1.jpg",
    sources=tuple(dict(STREAM2015.sources, **{
        "learning_rate": "models/default_image.py:13 learning_rate = 5.0 (the "
                         "commented-out block at :31 says 2.0)",
        "update": _ADAM2015.split("; train.py")[0] + "; train_image.py:209-223 "
                  "never resets them",
        "steps": "models/default_image.py:24 total_steps = 100, but train_image.py:"
                 "209-218 saved result<e>.png (steps_per_zoom = 1, "
                 "models/default_image.py:15) before step e, so its last picture, "
                 "result0099.png, shows the image after 99 steps; the 100th "
                 "step's result was never saved",
        "steps_per_zoom": "train_image.py:210-215: no zoom; steps_per_zoom "
                          "(models/default_image.py:15) only set how often it "
                          "saved a picture",
        "prior_strength": "models/default_image.py:17 prior_strength = 1000 "
                          "(the commented-out block at :35 says 10)",
        "prior_scales": "train_image.py:150 pool_sizes = [1,2,5,11,23,47,95]",
        "net_scales": "train_image.py:154 pool_sizes = [3,4] for l_from_network",
        "mean": "models/default_image.py:46 mean_img = mean.npy .mean(), one number",
        "clip": "train_image.py:219-220 np.clip(x_val, 0.0, 255.0) after every step",
        "image_size": "models/default_image.py:27 the size of hd1.jpg",
        "start_image": "models/default_image.py:27 hd1.jpg",
        "layer": "models/default_image.py:127 l_to_strengthen = the last conv (fc8)",
        "half_row": "train_image.py:86-88 output_shape[2]/2 of get_output_shape(): "
                    "the static shape of the full-size image "
                    "(models/default_image.py:78), 27 rows for hd1.jpg, so row 13, "
                    "while the maps of the pooled images have 5 and 2 rows",
    }).items()))

PROFILES = {p.name: p for p in (STREAM2015, IMAGE2015)}


# Seconds one step of each 2015 profile takes on VGG-16 at the profile's 2015
# size, on this project's 2-core machine with nothing else running
# (docs/measurements.md, "How long a dream takes"), for the line `dream`
# prints before it starts: stream2015 measured (910.5 s for 200 steps),
# image2015 from it by the ratio of the two measured side by side.
VGG16_STEP_SECONDS = {"stream2015": (4.55, (840, 472)), "image2015": (11.2, (1920, 1080))}
VGG16_LAYERS = tuple("conv%d_%d" % (b, i) for b, n in enumerate((2, 2, 3, 3, 3), 1)
                     for i in range(1, n + 1)) + ("fc6", "fc7", "fc8")


def expected_seconds(profile, model):
    """About how long ``profile``'s steps take with ``model`` on two cores:
    the measured VGG-16 step scaled by the pixels; None for other nets."""
    seconds, size = VGG16_STEP_SECONDS.get(profile.name, (None, None))
    if seconds is None or tuple(model.layer_names("conv")) != VGG16_LAYERS:
        return None
    pixels = profile.image_size[0] * profile.image_size[1] / float(size[0] * size[1])
    return seconds * pixels * profile.steps


def get_profile(name, overrides=()):
    """The named profile with ``overrides`` applied (see :func:`apply_overrides`)."""
    if name not in PROFILES:
        raise UserError("unknown profile %r; choose one of: %s"
                        % (name, ", ".join(PROFILES)))
    return apply_overrides(PROFILES[name], overrides)


def apply_overrides(profile, overrides=()):
    """``profile`` (any settings dataclass with ``settings()``) with
    ``overrides`` applied: typed values, a mapping or (name, value) pairs."""
    items = overrides.items() if hasattr(overrides, "items") else overrides
    changes = {}
    for key, value in items:
        if key not in profile.settings() or key == "name":
            raise UserError("--set %s: no such setting; settings: %s"
                            % (key, ", ".join(sorted(profile.settings()))))
        changes[key] = tuple(value) if isinstance(value, list) else value
        if key in CHOICES and changes[key] not in CHOICES[key]:
            raise UserError("--set %s=%s: choose one of %s"
                            % (key, changes[key], ", ".join(CHOICES[key])))
    return dataclasses.replace(profile, **changes)
