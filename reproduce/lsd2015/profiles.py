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

from ..errors import UserError


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
    sources: Tuple[Tuple[str, str], ...] = ()

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
        return dataclasses.replace(self, layer=model.layers[-1].name)

    def settings(self):
        """Plain dict of the values, for gallery pages and logs."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "sources"}


_ADAM2015 = ("models/default.py build_updates: m = beta1*g + (1-beta1)*m, "
             "bias correction 1-(1-beta1)^t; resets m, v, t at every zoom")

STREAM2015 = Profile(
    name="stream2015", learning_rate=5.0, update="adam2015",
    beta1=0.9, beta2=0.999, epsilon=1e-8,
    steps=200, steps_per_zoom=10,
    prior_strength=10.0, prior_scales=(1, 4, 8, 16, 32),
    net_scales=(1,), mean="scalar", clip=(0.0, 255.0),
    zoom_speed=1.05, fps=25, frames_per_key=17, rotation_per_frame=0.01,
    image_size=(840, 472), stream_size=(1024, 576), start_image="image7.jpg",
    sources=(
        ("learning_rate", "models/default.py: learning_rate = 5.0"),
        ("update", _ADAM2015),
        ("beta1", "models/default.py build_updates(beta1=0.9)"),
        ("beta2", "models/default.py build_updates(beta2=0.999)"),
        ("epsilon", "models/default.py build_updates(epsilon=1e-8)"),
        ("steps", "ours: 20 key frames; the stream ran without end"),
        ("steps_per_zoom", "models/default.py: steps_per_zoom = 10"),
        ("prior_strength", "models/default.py: prior_strength = 10"),
        ("prior_scales", "train.py: pool_sizes = [1,4,8,16,32]"),
        ("net_scales", "train.py: pool_sizes = [1] for l_from_network"),
        ("mean", "models/default.py: mean_img = mean.npy.mean()"),
        ("clip", "train.py: x.set_value(np.clip(x_val, 0.0, 255.0)) every step"),
        ("zoom_speed", "models/default.py: zoomspeed = 1.05 per second"),
        ("fps", "train.py: ZoomingStream(fps=25)"),
        ("frames_per_key", "ours, for recordings and dream (deterministic): the "
                           "config's estimated_input_fps = 1.5 gives ceil(25/1.5) = "
                           "17, but ZoomingStream.__init__ overwrote it with 1/10 "
                           "(zoomingstream.py:143), so the 2015 stream never used "
                           "17; live, serve follows 2015's rule (stream.keyframes.Pace)"),
        ("rotation_per_frame", "zoomingstream.py: rotation 0.01 degree per frame"),
        ("image_size", "models/default.py: the size of image7.jpg"),
        ("stream_size", "models/default.py: width = 1024, height = 576"),
        ("start_image", "models/default.py: image7.jpg"),
        ("layer", "models/default.py: l_to_strengthen = the last conv (fc8)"),
    ))

IMAGE2015 = dataclasses.replace(
    STREAM2015, name="image2015", steps=100, steps_per_zoom=None,
    prior_strength=1000.0, prior_scales=(1, 2, 5, 11, 23, 47, 95),
    net_scales=(3, 4), image_size=(1920, 1080), start_image="hd1.jpg",
    sources=tuple(dict(STREAM2015.sources, **{
        "learning_rate": "models/default_image.py: learning_rate = 5.0 (the "
                         "commented-out alternative block says 2.0)",
        "update": _ADAM2015 + "; train_image.py never resets them",
        "steps": "models/default_image.py: total_steps = 100",
        "steps_per_zoom": "train_image.py: no zoom; steps_per_zoom only sets "
                          "how often it saved a picture",
        "prior_strength": "models/default_image.py: prior_strength = 1000 "
                          "(the alternative block says 10)",
        "prior_scales": "train_image.py: pool_sizes = [1,2,5,11,23,47,95]",
        "net_scales": "train_image.py: pool_sizes = [3,4] for l_from_network",
        "image_size": "models/default_image.py: the size of hd1.jpg",
        "start_image": "models/default_image.py: hd1.jpg",
    }).items()))

PROFILES = {p.name: p for p in (STREAM2015, IMAGE2015)}


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
    return dataclasses.replace(profile, **changes)
