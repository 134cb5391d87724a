"""The worker side: one task renders one class (or, on the torch backend, a
batch of classes at once) and writes each picture and its record atomically.

A worker process keeps what it built for the last job it saw (:class:`JobState`,
keyed by the frozen job): the model, the compiled dreamer, the start image
and the judge.  A compile takes seconds to minutes; every later class the
worker gets reuses it.  Records go back to the driver as the task's result
and also lie on disk (``records/NNNN.json``), so a driver that dies loses
nothing a worker finished.
"""
import os
import socket
import time

from ..fileio import save_image
from ..report.gallery import write_record
from .plan import class_name, image_file, is_done, read_record, record_file



class _Built:
    """What one worker process compiles once per job."""

    def __init__(self, job):
        from ..nets.weights import load_model
        from ..recipes import build_dreamer, get_recipe, job_settings
        picture = job.picture
        self.model = load_model(picture.weights)
        self.recipe = get_recipe(picture.recipe)
        self.start, self.profile = self.recipe.start(
            picture, job_settings(picture, self.model))
        if job.batch > 1:
            self.dreamer = self.recipe.build_batch(picture, self.model, self.profile)
        else:
            self.dreamer = build_dreamer(picture, self.profile, self.model)
        self.judge = None
        if job.judge:
            from ..report.judge import Judge
            self.judge = Judge(load_model(job.judge))


class JobState:
    """What a worker process built for the last job it saw: ``built(job)``
    gives (the state, the seconds it took to build it now, or None when it
    was built for an earlier task).  One job at a time: a new job frees the
    last one's memory before building its own."""

    def __init__(self, build):
        self.build, self.state = build, {}

    def __call__(self, job):
        if job in self.state:
            return self.state[job], None
        self.state.clear()
        started = time.time()
        self.state[job] = self.build(job)
        return self.state[job], time.time() - started


built = JobState(_Built)


def render(job, indices, out_dir, digest):
    """Render classes ``indices`` (one, or a batch) into ``out_dir``; return
    their records.  Each picture and record is written atomically, the
    picture first, so a record on disk always has its picture.

    A class whose picture is already on disk with this digest is not
    rendered again: Dask runs a task a second time when the worker holding
    its result dies before the driver fetched it, and the disk, not the
    worker's memory, is what counts."""
    done = {i: r for i, r in ((i, read_record(out_dir, i)) for i in indices)
            if is_done(out_dir, r, digest)}
    todo = [i for i in indices if i not in done]
    return [done[i] for i in indices if i in done] + (
        _render(job, todo, out_dir, digest) if todo else [])


def _render(job, indices, out_dir, digest):
    state, build_seconds = built(job)
    started = time.time()
    if job.batch > 1:
        images = _run_batch(state, job, indices)
    else:
        images = [_run_one(state, job, indices[0])]
    seconds = time.time() - started
    worker = {"host": socket.gethostname(), "pid": os.getpid(),
              "compiled": build_seconds is not None,
              "build_seconds": round(build_seconds or 0.0, 1)}
    return [_finish(state, job, index, image, seconds, len(indices), worker, out_dir,
                    digest) for index, image in zip(indices, images)]


def _run_one(state, job, index):
    state.recipe.begin(state.dreamer, state.start, job.picture.seed)
    state.dreamer.set_classes(index)
    for _ in state.dreamer.run():
        pass
    return state.dreamer.get_image()


def _run_batch(state, job, indices):
    state.dreamer.set_images([state.start] * len(indices))
    state.dreamer.set_classes(indices)
    for _ in state.dreamer.run():
        pass
    return list(state.dreamer.get_images())


def _finish(state, job, index, image, seconds, batch, worker, out_dir, digest):
    from ..nets.weights import sha256_of
    description = state.model.descriptions[index]
    path = os.path.join(out_dir, image_file(index))
    save_image(image, path)
    picture = job.picture
    record = {"index": index, "name": "%04d" % index, "image": image_file(index),
              "classes": [class_name(description)], "description": description,
              "caption": description, "status": "done", "digest": digest,
              "sha256": sha256_of(path), "seconds": round(seconds, 2), "batch": batch,
              "steps": state.profile.steps, "quick": False,
              "weights": os.path.basename(picture.weights), "recipe": picture.recipe,
              "prior": state.recipe.prior_label(picture), "seed": picture.seed,
              "backend": picture.backend, "worker": worker, "finished": time.time(),
              "settings": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in state.profile.settings().items()}}
    if state.judge is not None:
        top = state.judge.top(image)
        hit, rank, names = state.judge.read(top, _judge_index(state.judge, index,
                                                              description))
        record["judge"] = {"model": state.judge.model.model_name, "hit": hit,
                           "rank": rank, "top5": names, "top5_index": top}
    write_record(record, os.path.join(out_dir, record_file(index)))
    return record


def _judge_index(judge, index, description):
    """The class in the judge's own list (the same index for two ImageNet-1k nets)."""
    from ..nets.classes import find_class
    names = judge.model.descriptions
    if index < len(names) and names[index] == description:
        return index
    return find_class(class_name(description), names)


def failed_record(index, description, error, digest):
    """The record of a class that failed twice (written by the driver, which
    alone sees the last error)."""
    return {"index": index, "name": "%04d" % index, "image": "", "status": "failed",
            "classes": [class_name(description)], "description": description,
            "digest": digest, "error": error, "settings": {}}
