"""The settings of DeepDream, Simonyan et al.'s class models and the
least-squares enhancement, as data (the counterpart of ``profiles.py``).

Kept apart from the Theano code so that the CLI can show the defaults
without importing Theano.  Sources: DeepDream's defaults are those of
google/deepdream's ``dream.ipynb`` (``deepdream(..., iter_n=10,
octave_n=4, octave_scale=1.4)``, ``make_step(step_size=1.5, jitter=32,
clip=True)``); the class-model and least-squares defaults were chosen
here on the embedded weights (see the docstrings).
"""
import dataclasses

from .. import checks
from ..checks import Rule
from ..errors import UserError
from ..lsd2015.profiles import PRECISIONS


def _plain(settings):
    """A settings dataclass as a plain dict (tuples as lists), for JSON records."""
    return {k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(settings).items()}


@dataclasses.dataclass(frozen=True)
class DreamSettings:
    """DeepDream's settings; the defaults are the notebook's."""
    octaves: int = 4            # pyramid levels, the full size included
    octave_scale: float = 1.4   # size ratio between neighbouring octaves
    steps: int = 10             # gradient steps per octave
    step_size: float = 1.5      # pixels (0..255) per step, relative to mean|g|
    jitter: int = 32            # largest roll, pixels, each axis
    seed: int = 0               # of the jitter
    clip: tuple = (0.0, 255.0)  # pixel range after every step
    # Where an octave's bilinear resize samples past the image (dream.resize):
    # "nearest" repeats the edge pixels (ours); "notebook" is nd.zoom's
    # default mode "constant", as dream.ipynb, whose whole last row or column
    # then turns the mean colour at some sizes (111 rows -> 79)
    octave_edge: str = "nearest"
    # the net's number format on the torch backend (reproduce_torch/precision.py):
    # float32 (the notebook's Caffe ran float32), bf16 or auto
    precision: str = "float32"

    def __post_init__(self):
        self.check()

    def check(self):
        """UserError naming the first setting out of range."""
        checks.check(self, DREAM_RULES)

    def settings(self):
        """Plain dict of the values, for JSON records and gallery pages."""
        return _plain(self)


@dataclasses.dataclass(frozen=True)
class SimonyanSettings:
    """Gradient ascent on S_c(x) - l2 * ||x||^2, x in the preprocessed space.

    The defaults suit nets fed inputs scaled to about [-1, 1] (the embedded
    EfficientNet-Lite0).  For the same pixels, a net whose inputs are s
    times larger wants the learning rate times s^2 and l2 divided by s^2
    (VGG on 0..255: s = 127.5).
    """
    # On the embedded EfficientNet-Lite0, "volcano", 224x224: the logit
    # climbs from 0.03 to 48.7 in 200 steps and the net's top class for
    # the picture is volcano (python -m reproduce class-model --classes volcano).
    steps: int = 200
    learning_rate: float = 1.0
    l2: float = 1e-2
    size: tuple = None          # (width, height); None: the net's training size

    def __post_init__(self):
        checks.check(self, SIMONYAN_RULES)

    def settings(self):
        return _plain(self)


@dataclasses.dataclass(frozen=True)
class LeastSquaresSettings:
    """min ||a(x) - k a(x0)||^2 / ||k a(x0)||^2 + weight * R(x) by L-BFGS-B."""
    layer: str
    k: float = 2.0              # target = k * the start image's activations
    regulariser: str = "tv"     # one of REGULARISERS
    # mu, on R as classmodels.regulariser_energy defines it.  On relu4_3 of
    # the HED VGG-16, astronaut at 160x160, k = 3, 30 iterations: 0.05 left
    # high-frequency noise (TV 0.080 -> 0.189, match 0.444 -> 0.031), 0.3
    # is cleaner at nearly the same match (TV -> 0.140, match -> 0.036).
    weight: float = 0.3
    iterations: int = 50        # L-BFGS-B iterations (maxiter)
    prior_scales: tuple = (1, 2, 4)  # mean-pool sizes, for regulariser="prior"

    def __post_init__(self):
        checks.check(self, LEAST_SQUARES_RULES)

    def settings(self):
        return _plain(self)


REGULARISERS = ("tv", "prior")
OCTAVE_EDGES = ("nearest", "notebook")   # DreamSettings.octave_edge

# What each setting may be (reproduce.checks), checked when settings are made.
DREAM_RULES = {
    "octaves": Rule(int, low=1, high=16), "octave_scale": Rule(float, above=1, high=10),
    "steps": checks.STEPS, "step_size": checks.POSITIVE,
    "jitter": Rule(int, low=0, high=4096), "seed": checks.SEED, "clip": checks.CLIP,
    "octave_edge": Rule(str, choices=OCTAVE_EDGES),
    "precision": Rule(str, choices=PRECISIONS)}
SIMONYAN_RULES = {"steps": checks.STEPS, "learning_rate": checks.POSITIVE,
                  "l2": checks.NON_NEGATIVE, "size": Rule(int, n=2, low=1, high=8192,
                                                          optional=True)}
LEAST_SQUARES_RULES = {
    "layer": Rule(str, forbid=("input",)), "k": Rule(float, above=0, high=1e6),
    "regulariser": Rule(str, choices=REGULARISERS), "weight": checks.NON_NEGATIVE,
    "iterations": Rule(int, low=1, high=10 ** 6), "prior_scales": checks.SCALES}
