"""What to make, as values: the jobs the library runs.

The CLI builds one of these from its options once; figure scripts, tests,
the stream, the reference writer and the benchmarks build them directly.
A job names things (weights, classes, recipe, profile, prior); the recipe
(:mod:`reproduce.recipes`) turns it into settings, a start image and a
compiled dreamer.  Sizes are (width, height), as everywhere in the
project (see :mod:`reproduce`).
"""
import dataclasses
from typing import Any, Optional, Tuple, Union

from . import paths


@dataclasses.dataclass(frozen=True)
class PictureJob:
    """One class picture.

    weights: path of our HDF5 weights, or a loaded :class:`~reproduce.nets.weights.Model`
    classes: one or two class names or indices (lower half, then upper half)
    recipe: "lsd2015" (pixels, patch prior, the 2015 update rule) or "fourier"
    profile: the 2015 settings of the lsd2015 recipe ("image2015", "stream2015");
        the fourier recipe has its own
    overrides: typed changes to the settings, ((name, value), ...) or a mapping,
        e.g. (("steps", 50), ("image_size", (448, 448)))
    prior: None (our fitted Student-t file, as 2015's train.py used a
        Student-t prior: l_with_meanpool_student), "lsd2015" (the 2015
        files in ``prior_dir``), "none", a path, or a loaded
        :class:`~reproduce.prior.fit.Prior`
    prior_dir: folder of the 2015 prior files and start images
    start: start image path (None: the profile's 2015 start image in
        ``prior_dir`` when there, else seeded grey noise); it sets the size
        unless ``overrides`` set ``image_size``
    seed: of the noise, the random parameters and the transforms
    backend: "theano" (the reference) or "torch" (the PyTorch port)
    device: where the torch backend runs: "cpu", "cuda", "cuda:1", ... (None:
        CUDA when torch sees a GPU, else the CPU); Theano runs on the CPU
    overlay: write the class names on the picture, as the stream did
    """
    weights: Any = paths.VGG16
    classes: Tuple[Union[str, int], ...] = ()
    recipe: str = "lsd2015"
    profile: str = "image2015"
    overrides: Any = ()
    prior: Optional[str] = None
    prior_dir: Optional[str] = None
    start: Optional[str] = None
    seed: int = 0
    backend: str = "theano"
    device: Optional[str] = None
    overlay: bool = False

    def __post_init__(self):
        # Values in, whatever their container: classes and overrides as tuples,
        # so that a job compares and hashes by value.
        classes = (self.classes,) if isinstance(self.classes, (str, int)) else self.classes
        object.__setattr__(self, "classes", tuple(classes))
        overrides = self.overrides.items() if hasattr(self.overrides, "items") \
            else self.overrides
        object.__setattr__(self, "overrides", tuple(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in overrides))

    def sets(self, name):
        """Whether the overrides set setting ``name``."""
        return name in dict(self.overrides)


@dataclasses.dataclass(frozen=True)
class StreamJob(PictureJob):
    """The zooming stream (live page or recording): a picture job plus sizes.

    size: (width, height) of the optimised image (None: the profile's)
    stream_size: (width, height) of the stream frames (None: ``size``)
    hold: seconds each request holds before the next (None: the caller's default)
    """
    weights: Any = paths.EMBEDDED_CLASSIFIER
    profile: str = "stream2015"
    size: Optional[Tuple[int, int]] = (336, 192)
    stream_size: Optional[Tuple[int, int]] = None
    hold: Optional[float] = None
