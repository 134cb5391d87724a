"""The one run loop: a progress bar, timing, and Ctrl-C that keeps what was made.

Every optimisation (a class picture, DeepDream's octaves, a class model,
L-BFGS, a stream recording) drives its steps inside :class:`Loop` and
returns a :class:`Result`.  Images are (H, W, 3) float32 RGB on 0..255.
"""
import dataclasses
import time

import numpy as np

from .fileio import checkpoint, stopping


@dataclasses.dataclass
class Result:
    """What every optimisation returns."""
    image: np.ndarray            # (H, W, 3) float32 on 0..255
    steps: int                   # steps taken (L-BFGS: function evaluations)
    seconds: float
    interrupted: bool            # Ctrl-C: ``image`` holds what was made so far
    history: list                # one record per step, as each method states
    profile: object = None       # the settings it ran with, where it has some
    classes: tuple = ()          # the class indices it aimed at, where it has some
    info: dict = dataclasses.field(default_factory=dict)  # what made it (call,
    # model, objective, recipe, seed), kept in saved pictures with the settings
    images: np.ndarray = None    # a batch: (N, H, W, 3), ``image`` its first

    def metadata(self):
        """The settings and ``info``, as :meth:`save` keeps them in the file."""
        settings = self.profile.settings() if hasattr(self.profile, "settings") else {}
        return dict(self.info, settings=settings, steps_taken=self.steps,
                    interrupted=self.interrupted, classes=list(self.classes))

    def save(self, path, index=0):
        """Write ``image`` (a batch: ``images[index]``) to ``path`` atomically,
        PNG or JPEG by the suffix, with :meth:`metadata` inside (PNG text
        chunk, JPEG comment; read it back with ``reproduce.fileio.image_metadata``)."""
        import os
        from .errors import UserError
        from .fileio import save_image
        if os.path.splitext(os.fspath(path))[1].lower() not in (".png", ".jpg", ".jpeg"):
            raise UserError("%s: save a picture as .png or .jpg (the suffix picks the "
                            "format)" % os.fspath(path))
        images = [self.image] if self.images is None else self.images
        if not (isinstance(index, (int, np.integer)) and 0 <= index < len(images)):
            raise UserError("index %r: this result holds %d picture%s"
                            % (index, len(images), "s" if len(images) > 1 else ""))
        save_image(images[index], path, dict(self.metadata(), index=int(index)))



def progress_bar(**kwargs):
    """A tqdm bar (tqdm's keyword arguments) whose write lock is a thread lock.

    Why: tqdm's default lock also makes a multiprocessing RLock, a named
    semaphore, even for a disabled bar; a Dask worker killed while it
    renders (Ctrl-C on an atlas or a microscope) leaves it behind, and
    multiprocessing's resource tracker then warns on the user's terminal
    about "leaked semaphore objects".  Our bars never cross processes."""
    import threading
    from tqdm import tqdm
    if not _THREAD_LOCK:
        _THREAD_LOCK.append(threading.RLock())
        tqdm.set_lock(_THREAD_LOCK[0])
    return tqdm(**kwargs)


_THREAD_LOCK = []  # progress_bar's lock, set once a process

class Loop:
    """``with Loop(total, desc) as loop: ... loop.tick(loss=...)``.

    A tqdm bar of ``total`` ticks (``progress=False``: none); on leaving,
    ``loop.seconds`` is the time inside and ``loop.interrupted`` says
    whether Ctrl-C (or SIGTERM) ended it.  The KeyboardInterrupt goes no
    further: the caller keeps what was made and reports it, and under the
    CLI further interrupts wait until the command has saved it.
    """

    def __init__(self, total=None, desc=None, progress=True, unit="step", initial=0):
        self.total, self.desc, self.progress, self.unit = total, desc, progress, unit
        self.initial = initial  # done before this loop (a resumed run): on the bar,
        # not in ``count``, and tqdm's rate and time left count this loop's only
        self.interrupted, self.seconds, self.count = False, 0.0, 0

    def __enter__(self):
        self.bar = progress_bar(total=self.total, disable=not self.progress, unit=self.unit,
                        desc=self.desc, initial=self.initial)
        self._started = time.time()
        return self

    def tick(self, n=1, **postfix):
        """``n`` more done; ``postfix`` values are shown beside the bar."""
        checkpoint("step")
        if postfix:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(n)
        self.count += n

    def __exit__(self, kind, value, traceback):
        self.bar.close()
        self.seconds = time.time() - self._started
        self.interrupted = kind is not None and issubclass(kind, KeyboardInterrupt)
        if self.interrupted:
            checkpoint("stop")  # tests: a second signal while the first unwinds
            stopping()  # only the save is left: a second Ctrl-C must not lose it
        return self.interrupted
