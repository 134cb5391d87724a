"""The frame folder of a long video run, and the loop that fills it.

A run making ``OUT.mp4`` writes each finished frame to ``OUT.frames/`` as
``000000.png``, ``000001.png``, ... (each written atomically) beside
``run.json``, the values that made them.  The video is encoded from the
folder: at the end (then the folder goes, unless kept), or after Ctrl-C
with the frames done so far (then the folder stays, and ``--resume``
continues from its last frame: a run that asks for other values is
refused, so a resumed video is the one an uninterrupted run would make).
Every frame is carried to the next one as the PNG holds it (0..255
integers), so a resumed run starts from exactly what the first run had.
"""
import dataclasses
import json
import os
import shutil

import numpy as np

from ..errors import UserError
from ..fileio import atomic_path, check_output, load_image, read_json, save_image
from . import io

RUN_FILE = "run.json"


def folder_for(out):
    """The frame folder of output ``out``: 'x/loop.mp4' -> 'x/loop.frames'."""
    return os.path.splitext(out)[0] + ".frames"


def check_video_output(out, inputs=(), resume=False):
    """Before the first frame is dreamed: ``out`` is a video type
    (:func:`io.check_video_path`), a place that takes a new file and none of
    the ``inputs`` (``fileio.check_output``: a device, FIFO or folder there,
    or the film itself, would be found only at the end, after every frame),
    and its frame folder is a folder or nothing, holding none of the inputs
    (the run writes frame 0 there first and removes the folder last).
    With ``resume``, its run state must be readable (:func:`read_run`)."""
    io.check_video_path(out)
    check_output(out, inputs)
    folder = folder_for(out)
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise UserError("%s: exists and is not a folder; a run making %s keeps its "
                        "frames there: move it away, or choose another --out"
                        % (folder, out))
    inside = os.path.realpath(folder) + os.sep
    for source in inputs:
        if source and os.path.realpath(source).startswith(inside):
            raise UserError("%s: the input is inside %s, the frame folder of %s, which "
                            "the run fills and then removes; move it, or choose "
                            "another --out" % (source, folder, out))
    run_file = os.path.join(folder, RUN_FILE)
    if resume and os.path.lexists(run_file):
        read_run(run_file)


def read_run(run_file):
    """The values an interrupted run recorded (a JSON object); a damaged
    or foreign file is one UserError saying how to start afresh."""
    try:
        return read_json(run_file, "run state")
    except UserError as exc:
        raise UserError("--resume: %s; delete %s to start afresh"
                        % (exc, os.path.dirname(run_file)))


def _plain(value):
    """``value`` as JSON would give it back (tuples as lists), to compare runs."""
    return json.loads(json.dumps(value))


class FrameFolder:
    """``OUT.frames/``: frames 0..n-1 as PNG and ``run.json``.

    ``run``: a JSON-able dict of everything that decides the frames (the
    input, its size, the layer, every setting).
    """

    def __init__(self, out, run):
        self.path = folder_for(out)
        self.run = _plain(run)

    def frame_path(self, index):
        return os.path.join(self.path, "%06d.png" % index)

    def count(self):
        """Frames 0..n-1 present (a gap ends the count)."""
        n = 0
        while os.path.exists(self.frame_path(n)):
            n += 1
        return n

    def open(self, resume):
        """Prepare the folder; returns the first frame still to make.

        Without ``resume`` an existing folder is refused (it holds an
        interrupted run); with it, its run.json must match this run's.
        """
        run_file = os.path.join(self.path, RUN_FILE)
        exists = os.path.exists(run_file)
        if not resume:
            if exists:
                raise UserError("%s holds %d frames of an interrupted run; add --resume "
                                "to continue it, or delete the folder to start afresh"
                                % (self.path, self.count()))
            os.makedirs(self.path, exist_ok=True)
            with atomic_path(run_file) as tmp:
                with open(tmp, "w") as f:
                    json.dump(self.run, f, indent=1)
            return 0
        if not exists:
            raise UserError("--resume: %s has no interrupted run (no %s); leave out "
                            "--resume to start one" % (self.path, RUN_FILE))
        before = read_run(run_file)
        differ = sorted(k for k in set(before) | set(self.run)
                        if before.get(k) != self.run.get(k))
        if differ:
            raise UserError("--resume: %s was made with other values (%s: %s); give "
                            "the same options, or delete the folder to start afresh"
                            % (self.path, ", ".join(differ), "; ".join(
                                "%s was %r" % (k, before.get(k)) for k in differ)))
        return self.count()

    def save(self, index, frame):
        save_image(frame, self.frame_path(index))

    def load(self, index):
        """Frame ``index`` as (H, W, 3) float32 on 0..255 (integers)."""
        return load_image(self.frame_path(index))

    def frames(self, n=None):
        """Yield frames 0..n-1 as uint8 (default: all present)."""
        for i in range(self.count() if n is None else n):
            yield self.load(i).astype(np.uint8)

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


@dataclasses.dataclass
class VideoResult:
    path: str                # the video written (None: no frame was finished)
    frames: int              # frames in it
    total: int               # frames the run was to make
    made: int                # frames made by this call (a resumed run made fewer)
    seconds: float           # dreaming time of this call
    interrupted: bool

    @property
    def seconds_per_frame(self):
        return self.seconds / self.made if self.made else 0.0

    def summary(self):
        """The line a command prints at the end."""
        if self.interrupted:
            return ("stopped early, kept %s: %d of %d frames (%.1f s a frame); --resume "
                    "continues from %s" % (self.path, self.frames, self.total,
                                           self.seconds_per_frame, folder_for(self.path)))
        return "wrote %s: %d frames, %.1f s a frame" % (self.path, self.frames,
                                                        self.seconds_per_frame)


def dream_frames(make_frame, total, out, run, fps, size, resume=False,
                 audio_from=None, audio_codec=None, progress=True, desc="video",
                 keep_frames=False):
    """Make frames 0..total-1 into ``out``'s frame folder, then encode ``out``.

    ``make_frame(index, previous)`` -> (H, W, 3) image on 0..255, where
    ``previous`` is frame index-1 as saved (None for frame 0); it may raise
    KeyboardInterrupt.  ``run`` (a dict) records what decides the frames,
    for ``--resume``.  ``size`` = (W, H) of the frames; ``audio_from``: the
    file whose audio track goes with the video.  Ctrl-C stops, encodes the
    frames done so far and keeps the folder.  Returns :class:`VideoResult`.
    """
    from ..loop import Loop
    check_video_output(out)
    io.check_even(size)
    folder = FrameFolder(out, dict(run, frames=total, fps=fps, size=list(size)))
    start = folder.open(resume)
    previous = folder.load(start - 1) if start else None
    # the bar reads frames done, seconds a frame and the time left
    with Loop(total, desc, progress, unit="frame", initial=start) as loop:
        for index in range(start, total):
            frame = np.clip(np.round(make_frame(index, previous)), 0, 255)
            folder.save(index, frame)
            previous = frame.astype(np.float32)
            loop.tick()
    done, seconds, interrupted = start + loop.count, loop.seconds, loop.interrupted
    if done == 0:
        folder.remove()
        raise KeyboardInterrupt  # nothing made: no video, no folder
    io.write_video(folder.frames(done), out, fps, size, audio_from, audio_codec,
                   count=done)
    if not interrupted and not keep_frames:
        folder.remove()
    return VideoResult(out, done, total, done - start, seconds, interrupted)
