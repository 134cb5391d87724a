"""The worker side: one task renders a few channels of one layer, or the
layer's own DeepDream, and writes each unit's pictures and record atomically.

A unit's pictures: the channel maximised (positive), minimised (negative),
``diverse`` more maximised together with a diversity term over their batch,
and DeepDream of that channel on the fixed photo.  A worker process keeps
what it built for the last job it saw (:data:`_STATE`, keyed by the frozen
job): the model, the net, the photo, and per layer the compiled functions,
whose channel is an input, so one compile serves every channel of a layer.
Records go back to the driver as the task's result and also lie on disk,
so a driver that dies loses nothing a worker finished, and a worker killed
mid-task loses only the unit it was rendering.
"""
import os
import socket
import time

import numpy as np

from ..fileio import save_image
from ..report.gallery import write_record
from ..atlas.plan import is_done
from .plan import image_file, read_record, record_file

_STATE = {}   # job -> _Built: one entry, the job this process works on
TOP_CLASSES = 5


class _Built:
    """What one worker process builds once per job (and per layer, lazily)."""

    def __init__(self, job):
        from ..deepdream.inputs import astronaut, fit_size
        from ..fileio import image_header, load_image
        from ..nets.build import build_net
        from ..nets.weights import load_model
        self.model = load_model(job.picture.weights)
        self.net = build_net(self.model)
        if job.photo:
            self.photo = load_image(job.photo, fit_size(job.photo_side,
                                                        image_header(job.photo)))
        else:
            self.photo = astronaut(fit_size(job.photo_side, (512, 512)))
        self.layers = {}
        self._logits = None

    def layer(self, job, layer):
        """The compiled pieces of ``layer`` (built on first use)."""
        if layer not in self.layers:
            from .render import LayerRenderer
            self.layers[layer] = LayerRenderer(self.net, layer, job)
        return self.layers[layer]

    def top_classes(self, image):
        """The classes whose mean logit ``image`` raises most over a grey
        picture of its size: [(index, name, raise)], or None for a net
        without classes."""
        if not self.model.has_classes:
            return None
        if self._logits is None:
            from ..backend import T, theano
            from ..deepdream.dream import activations
            pixels = T.tensor4("pixels")
            logits = activations(self.net, pixels)(self.net.output_name)
            self._logits = theano.function([pixels], logits.mean(axis=(2, 3))[0])
        from ..nets.build import to_batch
        grey = np.full_like(image, 128.0)
        raised = self._logits(to_batch(image)) - self._logits(to_batch(grey))
        top = np.argsort(-raised)[:TOP_CLASSES]
        return [[int(i), self.model.descriptions[i].split(",")[0], round(float(raised[i]), 3)]
                for i in top]


def built(job):
    """(this process's state for ``job``, the seconds it took to build it now,
    or None when it was built for an earlier unit)."""
    if job in _STATE:
        return _STATE[job], None
    _STATE.clear()  # one job at a time: free the last one's memory first
    started = time.time()
    _STATE[job] = _Built(job)
    return _STATE[job], time.time() - started


def render(job, items, out_dir, digest):
    """Render ``items`` ((layer, channel) of one layer; channel None: the
    layer's own DeepDream) into ``out_dir``; return their records.

    An item already on disk with this digest is not rendered again (Dask
    runs a task a second time when the worker holding its result died
    before the driver fetched it).  Each unit is finished -- pictures, then
    record, each written atomically -- before the next starts, so a worker
    killed mid-task loses at most the unit it was on."""
    records = []
    for layer, channel in items:
        record = read_record(out_dir, layer, channel)
        if not is_done(out_dir, record, digest):
            record = _render(job, layer, channel, out_dir, digest)
        records.append(record)
    return records


def _render(job, layer, channel, out_dir, digest):
    state, build_seconds = built(job)
    started = time.time()
    compiled = state.layer(job, layer)
    compile_seconds = time.time() - started
    started = time.time()
    if channel is None:
        pictures = {"": compiled.layer_dream(state.photo)}
    else:
        pictures = compiled.unit(channel, state.photo)
    seconds = time.time() - started
    files = {}
    for kind, (_, result) in pictures.items():
        path = image_file(layer, channel, kind)
        save_image(result.image, os.path.join(out_dir, path))
        files[path] = _sha256(os.path.join(out_dir, path))
    if not os.path.exists(os.path.join(out_dir, "photo.png")):
        save_image(state.photo, os.path.join(out_dir, "photo.png"))
    p = job.picture
    record = {
        "layer": layer, "channel": channel, "status": "done", "digest": digest,
        "image": image_file(layer, channel), "files": files,
        "pictures": [{"kind": kind or "positive", "image": image_file(layer, channel, kind),
                      "objective": objective, "seconds": round(result.seconds, 2),
                      "steps": result.steps}
                     for kind, (objective, result) in pictures.items()],
        "seconds": round(seconds, 2), "weights": os.path.basename(p.weights),
        "recipe": p.recipe, "seed": p.seed, "backend": p.backend,
        "settings": compiled.settings(channel),
        "worker": {"host": socket.gethostname(), "pid": os.getpid(),
                   "compiled": build_seconds is not None or compile_seconds > 0.5,
                   "build_seconds": round((build_seconds or 0.0) + compile_seconds, 1)},
        "finished": time.time()}
    if channel is not None:
        record["classes"] = state.top_classes(pictures[""][1].image)
    write_record(record, os.path.join(out_dir, record_file(layer, channel)))
    return record


def _sha256(path):
    from ..nets.weights import sha256_of
    return sha256_of(path)


def failed_record(layer, channel, error, digest):
    """The record of an item that failed twice (written by the driver, which
    alone sees the last error)."""
    return {"layer": layer, "channel": channel, "status": "failed", "digest": digest,
            "image": "", "error": error, "settings": {}}
