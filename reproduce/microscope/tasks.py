"""The worker side: one task renders a few channels of one layer, or the
layer's own DeepDream, and writes each unit's pictures and record atomically.

A unit's pictures: the channel maximised (positive), minimised (negative),
``diverse`` more maximised together with a diversity term over their batch,
and DeepDream of that channel on the fixed photo.  A worker process keeps
what it built for the last job it saw (:class:`~reproduce.atlas.tasks.JobState`,
keyed by the frozen job): the model, the net, the photo, and per layer the compiled functions,
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
from ..atlas.tasks import JobState
from .plan import PHOTO, image_file, read_record, record_file

TOP_CLASSES = 5
KEEP_LAYERS = 2   # layers whose compiled functions a worker keeps


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
        """The compiled pieces of ``layer`` (built on first use).  Tasks come
        layer by layer, so only the last KEEP_LAYERS layers' are kept: a
        VGG-16 compile holds its own copy of the weights."""
        if layer not in self.layers:
            from .render import LayerRenderer
            while len(self.layers) >= KEEP_LAYERS:
                self.layers.pop(next(iter(self.layers)))
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


built = JobState(_Built)


def render(job, items, out_dir, digest):
    """Render ``items`` ((layer, channel) of one layer; channel None: the
    layer's own DeepDream) into ``out_dir``; return their records.

    An item already on disk with this digest is not rendered again (Dask
    runs a task a second time when the worker holding its result died
    before the driver fetched it).  The channels' maximised and minimised
    pictures are made as one batch first; then each unit's diverse pictures
    and DeepDream, and its files -- pictures, then record, each written
    atomically -- before the next unit starts, so a worker killed mid-task
    loses only the units not yet written."""
    done = {item: read_record(out_dir, *item) for item in items}
    done = {item: r for item, r in done.items() if is_done(out_dir, r, digest)}
    todo = [item for item in items if item not in done]
    records = dict(done)
    if todo:
        layer = todo[0][0]
        state, build_seconds = built(job)
        compiled = state.layer(job, layer)
        channels = [c for _, c in todo if c is not None]
        compile_seconds = ((compiled.prepare(units=True) if channels else 0.0)
                           + (compiled.prepare(units=False)
                              if any(c is None for _, c in todo) else 0.0))
        worker = {"host": socket.gethostname(), "pid": os.getpid(),
                  "build_seconds": round((build_seconds or 0.0) + compile_seconds, 1)}
        extremes = compiled.extremes(channels) if channels else {}
        for item in todo:
            started = time.time()
            if item[1] is None:
                pictures = compiled.layer_dream(state.photo)
            else:
                pictures = compiled.unit(item[1], extremes[item[1]], state.photo)
            records[item] = _write(state, job, compiled, item, pictures, worker,
                                   time.time() - started, out_dir, digest)
            worker = dict(worker, build_seconds=0.0)  # the compile is the first unit's
    return [records[item] for item in items]


def _write(state, job, compiled, item, pictures, worker, seconds, out_dir, digest):
    """Write one item's pictures, then its record; return the record."""
    layer, channel = item
    files = {}
    for kind, (_, image, _, _) in pictures.items():
        path = image_file(layer, channel, kind)
        save_image(image, os.path.join(out_dir, path))
        files[path] = _sha256(os.path.join(out_dir, path))
    if not os.path.exists(os.path.join(out_dir, PHOTO)):
        save_image(state.photo, os.path.join(out_dir, PHOTO))
    p = job.picture
    record = {
        "layer": layer, "channel": channel, "status": "done", "digest": digest,
        "image": image_file(layer, channel), "files": files,
        "pictures": [{"kind": kind or "positive", "image": image_file(layer, channel, kind),
                      "objective": objective, "seconds": round(took, 2), "steps": steps}
                     for kind, (objective, _, took, steps) in pictures.items()],
        "seconds": round(seconds + sum(took for kind, (_, _, took, _) in pictures.items()
                                       if kind in ("", "neg")), 2),
        "weights": os.path.basename(p.weights), "recipe": p.recipe, "seed": p.seed,
        "backend": p.backend, "settings": compiled.settings(channel), "worker": worker,
        "finished": time.time()}
    if channel is not None:
        record["classes"] = state.top_classes(pictures[""][1])
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
