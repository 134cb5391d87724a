"""DeepDream every frame of a film, each frame started along the optical flow.

Frame t starts from

    start_t = (1 - blend) * input_t + blend * warp(dream_{t-1}, flow(input_t -> input_{t-1}))

and is dreamed as one photo (``deepdream.dream.deepdream``: octaves, jitter,
guide, all as the ``deepdream`` command has them).  The flow is that of the
*input* frames, which it is meant for; warping the previous dream along it
makes what was dreamed move with the picture, and the blend keeps the new
frame's content in.  ``blend=0`` dreams each frame on its own (the flicker
this removes); frame 0 starts from the input alone.  The jitter of frame t
is seeded with seed + t, so a run resumed at frame t makes what an
uninterrupted run would have.
"""
import dataclasses
import os

import numpy as np

from ..errors import UserError
from . import flow as flows
from . import io
from .frames import dream_frames


@dataclasses.dataclass(frozen=True)
class FlowSettings:
    """How each frame starts from the last."""
    # weight of the warped previous dream; 0.5 is DeepDreamAnim's example
    # (samim23/DeepDreamAnim README: "--blend 0.5")
    blend: float = 0.5
    flow: str = "farneback"     # one of flow.FLOW_METHODS

    def check(self):
        if not 0 <= self.blend <= 1:
            raise UserError("--blend must be between 0 and 1 (the weight of the warped "
                            "previous dream), not %g" % self.blend)
        if self.flow not in flows.FLOW_METHODS:
            raise UserError("--flow %r: choose one of %s" % (
                self.flow, ", ".join(flows.FLOW_METHODS)))


def frame_size(size, like):
    """The dreamed frame size (W, H) of a film of ``like`` = (W, H): ``size``
    as (W, H), or N for the longer side (aspect kept, rounded down to even
    for H.264), or None for the film's own."""
    from ..deepdream.inputs import fit_size
    if size is None:
        return tuple(like)
    if isinstance(size, int):
        return io.even_size(fit_size(size, like))
    return tuple(size)


def flow_start(frame, previous_frame, previous_dream, settings):
    """The start of a frame's dream: ``frame`` (H, W, 3 on 0..255) blended with
    ``previous_dream`` warped along the flow from ``frame`` back to
    ``previous_frame``.  Frame 0 (``previous_dream`` None) starts as itself."""
    frame = np.asarray(frame, np.float32)
    if previous_dream is None or settings.blend == 0:
        return frame
    field = flows.backward_flow(frame, previous_frame, settings.flow)
    warped = flows.warp(previous_dream, field)
    return ((1 - settings.blend) * frame + settings.blend * warped).astype(np.float32)


class Film:
    """The frames of a film at ``size``, read once, in order; ``frame(i)``
    for rising i (a resumed run skips ahead)."""

    def __init__(self, path, size):
        self.path = path
        self._frames = io.read_frames(path, size)
        self._index, self._previous, self._current = -1, None, None

    def frame(self, index):
        while self._index < index:
            try:
                self._previous, self._current = self._current, next(self._frames)
            except StopIteration:
                raise UserError("%s ended after %d frames, fewer than ffmpeg counted; "
                                "the file may be truncated" % (self.path, self._index + 1))
            self._index += 1
        if index not in (self._index, self._index - 1):
            raise ValueError("frame %d was read already" % index)
        return self._current if index == self._index else self._previous

    def close(self):
        self._frames.close()


def dream_film(info, dream_one, out, size, flow_settings=FlowSettings(), run=None,
               resume=False, progress=True, desc="video", keep_frames=False):
    """DeepDream every frame of the film ``info`` (a ``io.VideoInfo``) at
    ``size`` = (W, H) into ``out``, keeping its frame rate and audio.

    ``dream_one(start, index)`` -> the dreamed (H, W, 3) image, or raises
    KeyboardInterrupt (``deepdream_frame`` makes one from a compiled
    gradient).  ``run``: the values that decide the frames, for ``--resume``.
    Returns ``frames.VideoResult``.
    """
    flow_settings.check()
    film = Film(info.path, size)

    def make_frame(index, previous_dream):
        frame = film.frame(index)
        previous = film.frame(index - 1) if index else None
        return dream_one(flow_start(frame, previous, previous_dream, flow_settings), index)

    run = dict(run or {}, input=os.path.abspath(info.path), blend=flow_settings.blend,
               flow=flow_settings.flow)
    try:
        return dream_frames(make_frame, info.frames, out, run, info.fps, size, resume,
                            info.path, info.audio_codec, progress, desc, keep_frames)
    finally:
        film.close()


def deepdream_frame(gradient, settings, mean=0.0):
    """``dream_one`` for :func:`dream_film` and the zoom loop: DeepDream with
    ``settings`` (a DreamSettings), the jitter seeded by seed + frame index.
    An interrupted dream is dropped (the frame is made again on --resume).
    ``mean``: the model's mean RGB (``deepdream``'s)."""
    from ..deepdream.dream import deepdream

    def dream_one(start, index):
        result = deepdream(gradient, start, dataclasses.replace(
            settings, seed=settings.seed + index), progress=False, mean=mean)
        if result.interrupted:
            raise KeyboardInterrupt
        return result.image
    return dream_one
