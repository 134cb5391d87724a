"""Dask set-up, and the driver: submit one task per class, collect records.

Failure rules (nothing lost, nothing done twice):

* a task that raises is run once more (``retries=1``), on any worker;
* a task whose worker dies under it is given to another worker; when a
  second worker dies under it, Dask gives up (``allowed_failures=1`` on the
  scheduler: more than one death makes a ``KilledWorker`` error);
* either way a class that failed twice gets a ``failed`` record with its
  error, and the run goes on with the rest;
* Ctrl-C on the driver cancels what is left; every picture a worker
  finished is on disk with its record, and the page and the manifest are
  rewritten from them before the driver exits.

A task first looks at the disk: a class already there with the same
digest is returned, not rendered again, so a task that Dask runs a second
time (its result died with its worker before the driver fetched it)
renders once.  Task keys are new for every run: a key that erred in an
earlier run of the same process would otherwise come back erred.
"""
import contextlib
import logging
import os
import time
import uuid

from ..errors import UserError
from . import page, plan, tasks

ALLOWED_FAILURES = 1   # worker deaths a task may survive: the second is fatal
RETRIES = 1            # reruns of a task that raised
PAGE_EVERY = 2.0       # seconds between rewrites of index.html while running


def local_cluster(workers=None):
    """A Dask cluster on this machine: ``workers`` processes (default: one
    per core), one task at a time each, the cores shared among them for
    BLAS and our Ops.  Returns a ``distributed.LocalCluster``."""
    import dask
    from distributed import LocalCluster
    cores = len(os.sched_getaffinity(0))
    workers = workers or cores
    threads = str(max(1, cores // workers))
    # Saturation 1: a worker holds only the task it runs.  Dask's default
    # (1.1) queues a second one there, and a worker that dies takes that
    # queued class's allowed failure with it.
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            dashboard_address=":0", silence_logs=logging.ERROR,
            scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
            env={"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads})


@contextlib.contextmanager
def connect(scheduler=None, workers=None):
    """A ``distributed.Client``: to ``scheduler`` ("tcp://HOST:PORT") when
    given, else to a new local cluster that is closed afterwards."""
    from distributed import Client
    if scheduler:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise UserError("cannot reach the Dask scheduler at %s (%s); start one "
                            "with `dask scheduler` (see README, \"The class atlas\")"
                            % (scheduler, exc))
        with client:
            yield client
        return
    with local_cluster(workers) as cluster, Client(cluster) as client:
        yield client


def groups(classes, size):
    """``classes`` in tasks of ``size`` (a batch each; 1 on Theano)."""
    return [classes[i:i + size] for i in range(0, len(classes), size)]


class Run:
    """The state of one atlas run: what is done, and the page over it."""

    def __init__(self, job, classes, out_dir, descriptions, title):
        self.job, self.out_dir, self.descriptions, self.title = job, out_dir, descriptions, title
        self.digest = job.digest()
        plan.remove_stale_temporaries(out_dir)
        todo, self.records = plan.pending(out_dir, classes, self.digest)
        # classes done earlier with the same settings stay on the page too
        for index, record in plan.read_records(out_dir).items():
            if index not in self.records and plan.is_done(out_dir, record, self.digest):
                self.records[index] = record
        self.classes = sorted(set(classes) | set(self.records))
        self.todo, self.skipped = todo, len(classes) - len(todo)
        self.rendered, self.failed, self.started = 0, 0, time.time()
        self._paged = 0.0
        self._measured = plan.measured_rate(out_dir, self.digest)  # an earlier run's

    def add(self, record):
        """Take in one finished or failed record; refresh the files over it."""
        self.records[record["index"]] = record
        if record["status"] == "done":
            self.rendered += 1
        else:
            self.failed += 1
        page.write_class_page(self.out_dir, record, self.descriptions, self.title)
        self.write_summary(final=False)

    def write_summary(self, final=True):
        """manifest.json always; index.html at most every PAGE_EVERY seconds
        while running, and always at the end."""
        data = plan.manifest(self.job, self.digest, self.classes, self.records)
        data["run"] = self.timing()
        # the rate shown: this run's once it rendered, else the last run's that did
        data["measured"] = data["run"] if self.rendered else self._measured
        plan.write_manifest(self.out_dir, data)
        if final or time.time() - self._paged > PAGE_EVERY:
            page.write_site(self.out_dir, self.classes, self.records, self.descriptions,
                            self.title, data, pages=final)
            self._paged = time.time()

    def timing(self):
        seconds = time.time() - self.started
        return {"seconds": round(seconds, 1), "rendered": self.rendered,
                "failed": self.failed, "skipped": self.skipped,
                "classes_per_hour": round(3600.0 * self.rendered / seconds, 1)
                if seconds > 0 else 0.0}


def run_atlas(job, classes, out_dir, client, descriptions, title="Class atlas",
              progress=True, task=tasks.render, on_record=None):
    """Render ``classes`` of ``job`` on ``client``'s cluster into ``out_dir``.

    Classes already rendered there with the same settings are skipped.
    ``task`` is the worker function (``tasks.render``; tests wrap it),
    ``on_record(record)`` is called for each record the driver collects.
    Returns the :class:`Run`; ``run.interrupted`` says if Ctrl-C ended it.
    """
    from distributed import as_completed
    from tqdm import tqdm

    run = Run(job, classes, out_dir, descriptions, title)
    run.interrupted = False
    futures, token = {}, uuid.uuid4().hex[:8]
    for group in groups(run.todo, job.batch):
        key = "atlas-%s-%04d-%s" % (run.digest[:12], group[0], token)
        futures[client.submit(task, job, group, out_dir, run.digest, key=key,
                              retries=RETRIES, pure=False)] = group
    bar = tqdm(total=len(run.todo), disable=not progress, unit="class",
               desc="atlas (%d skipped)" % run.skipped)
    try:
        for future in as_completed(futures):
            for record in _records(future, futures[future], descriptions, run.digest,
                                   out_dir):
                run.add(record)
                if on_record is not None:
                    on_record(record)
                bar.update(1)
    except KeyboardInterrupt:
        run.interrupted = True
        client.cancel(list(futures))
    finally:
        bar.close()
        run.write_summary(final=True)
    return run


def _records(future, group, descriptions, digest, out_dir):
    """The records of a finished task, or ``failed`` records (written here)
    when it failed twice."""
    try:
        return future.result()
    except Exception as exc:  # the task's own error, or KilledWorker
        error = "%s: %s" % (type(exc).__name__, exc)
        records = [tasks.failed_record(i, descriptions[i], error, digest) for i in group]
        for record in records:
            plan.write_record(record, os.path.join(out_dir, plan.record_file(record["index"])))
        return records


def make_atlas(job, model, classes="all", out_dir="results/atlas", scheduler=None,
               workers=None, title=None, progress=True):
    """Render the atlas of ``job`` (from :func:`plan.make_job`) for the
    ``classes`` spec ("all", a list, a file) on a local cluster or on
    ``scheduler``; returns the finished :class:`Run`."""
    indices = plan.select_classes(classes, model.descriptions)
    out_dir = os.path.abspath(out_dir)
    title = title or "Class atlas: %s, %s recipe" % (model.model_name,
                                                      job.picture.recipe)
    with connect(scheduler, workers) as client:
        return run_atlas(job, indices, out_dir, client, model.descriptions, title,
                         progress)
