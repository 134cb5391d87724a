"""dream.ipynb's zoom loop: each frame dreamed from the previous one zoomed in.

google/deepdream ``dream.ipynb``, the cell after "What if we feed the
``deepdream`` function its own output, after applying a little zoom":

    h, w = frame.shape[:2]
    s = 0.05 # scale coefficient
    for i in xrange(100):
        frame = deepdream(net, frame)
        PIL.Image.fromarray(np.uint8(frame)).save("frames/%04d.jpg"%frame_i)
        frame = nd.affine_transform(frame, [1-s,1-s,1], [h*s/2,w*s/2,0], order=1)

so output pixel p samples the dream at (1 - s) p + s (h, w) / 2, bilinear: a
zoom in by 1 / (1 - s) whose fixed point is (h/2, w/2) in pixel indices,
half a pixel off the true centre ((h-1)/2, (w-1)/2), so the picture drifts
by s/2 pixels a frame towards the top left.  ``centre="notebook"``
reproduces that; ``centre="true"`` zooms about the true centre.  The loop
frames are carried as saved (0..255 integers, rounded; the notebook kept
the float frame and saved it truncated), so that ``--resume`` is exact.
"""
import dataclasses

import numpy as np
import scipy.ndimage

from .. import checks
from ..checks import Rule
from ..errors import UserError
from .frames import dream_frames
from .io import VIDEO_FPS


@dataclasses.dataclass(frozen=True)
class ZoomSettings:
    frames: int = 100           # dream.ipynb: for i in xrange(100)
    scale: float = 0.05         # dream.ipynb: s = 0.05 # scale coefficient
    centre: str = "notebook"    # "notebook": about (h/2, w/2); "true": (h-1)/2
    fps: float = 25.0           # ours: the notebook saved frames, no video

    def __post_init__(self):
        self.check()

    def check(self):
        checks.check(self, ZOOM_RULES, prefix="zoom loop:")


ZOOM_RULES = {
    "frames": checks.STEPS, "scale": Rule(float, low=0, below=1),
    "centre": Rule(str, choices=("notebook", "true")), "fps": VIDEO_FPS}


def zoom_in(frame, scale=0.05, centre="notebook"):
    """``frame`` (H, W, 3) zoomed in by 1 / (1 - scale), bilinear -> float32."""
    rows, cols = frame.shape[:2]
    if centre == "notebook":
        offset = [rows * scale / 2, cols * scale / 2, 0]
    else:
        offset = [(rows - 1) * scale / 2, (cols - 1) * scale / 2, 0]
    matrix = np.diag([1 - scale, 1 - scale, 1.0])  # the notebook's [1-s, 1-s, 1]
    return scipy.ndimage.affine_transform(np.asarray(frame, np.float32), matrix, offset,
                                          order=1)


def zoom_loop(image, dream_one, out, settings=ZoomSettings(), run=None, resume=False,
              progress=True, desc="zoom"):
    """dream.ipynb's loop into the video ``out``: frame 0 is ``image`` dreamed,
    frame i the dream of frame i-1 zoomed in.  ``dream_one(start, index)``
    -> dream (``video.dream.deepdream_frame`` or :func:`dreamer_frame`).
    Returns ``frames.VideoResult``."""
    settings.check()
    image = np.asarray(image, np.float32)

    def make_frame(index, previous):
        start = image if previous is None else zoom_in(previous, settings.scale,
                                                       settings.centre)
        return dream_one(start, index)

    run = dict(run or {}, zoom=dataclasses.asdict(settings))
    return dream_frames(make_frame, settings.frames, out, run, settings.fps,
                        image.shape[1::-1], resume, progress=progress, desc=desc)


def class_frames(job, size, steps, model=None):
    """``dream_one`` for a class-picture job (a ``reproduce.job.PictureJob``,
    e.g. recipe "lsd2015", profile "stream2015"): its recipe's compiled
    dreamer at ``size`` = (W, H), aimed at the job's classes, ``steps`` steps
    from each start.  ``model``: the loaded weights, to skip loading them."""
    from ..nets.classes import find_class
    from ..recipes import build_dreamer, job_settings, load_weights
    model = model or load_weights(job.weights)
    model.require_classes("zoom loops of --recipe %s" % job.recipe,
                          job.weights if isinstance(job.weights, str) else None)
    if not job.classes:
        raise UserError("--recipe %s: give --classes NAME (e.g. --classes volcano)"
                        % job.recipe)
    classes = [find_class(str(name), model.descriptions) for name in job.classes[:2]]
    profile = dataclasses.replace(job_settings(job, model), image_size=tuple(size))
    dreamer = build_dreamer(job, profile, model)
    dreamer.set_classes(*classes)
    return dreamer_frame(dreamer, steps)


def dreamer_frame(dreamer, steps):
    """``dream_one`` for a recipe's dreamer (``lsd2015.dreamer.Dreamer`` or the
    Fourier renderer, its classes set): ``steps`` steps from the start image."""
    def dream_one(start, index):
        dreamer.set_image(start)
        for _ in range(steps):
            dreamer.step()
        return dreamer.get_image()
    return dream_one
