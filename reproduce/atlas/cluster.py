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
    BLAS and our Ops.  Returns a context manager that gives the
    ``distributed.LocalCluster`` and closes it; a bad ``workers`` is refused
    here, before anything starts."""
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise UserError("--workers %s: give 1 to %d worker processes" % (workers,
                                                                        MAX_WORKERS))
    return _started_cluster(workers or len(os.sched_getaffinity(0)))


@contextlib.contextmanager
def _started_cluster(workers):
    import dask
    from distributed import LocalCluster
    threads = str(max(1, len(os.sched_getaffinity(0)) // workers))
    release = _hold_ctrl_c()
    try:
        # Saturation 1: a worker holds only the task it runs.  Dask's default
        # (1.1) queues a second one there, and a worker that dies takes that
        # queued class's allowed failure with it.
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR,
                scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
                env={"OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads})
    except BaseException:
        release()
        raise
    release()
    with cluster:
        yield cluster


def _hold_ctrl_c():
    """Block SIGINT in this (the main) thread until the returned function is
    called, which restores the mask.

    Why: a terminal sends Ctrl-C to its whole process group, and each worker
    printed its KeyboardInterrupt traceback.  Threads and processes started
    meanwhile inherit the block (fork and exec keep the mask), so the
    workers, and the ones their nannies start again later, never see a
    Ctrl-C: the driver alone answers it, cancels the tasks and closes the
    cluster, which ends the workers.  The driver itself still answers at
    once: its other threads take the signal for it.  (An ignored SIGINT,
    inherited as well, lost a Ctrl-C pressed while the workers started.)

    multiprocessing's resource tracker unblocks SIGINT in the thread that
    first starts it (CPython's ``ResourceTracker.ensure_running``); it is
    started here, before the block, so that no worker starts it again."""
    import signal
    import threading
    from multiprocessing import resource_tracker
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return lambda: signal.pthread_sigmask(signal.SIG_SETMASK, mask)


SCHEDULER_SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")  # distributed's
MAX_WORKERS = 256  # worker processes of a local cluster: -1 made Dask wait forever


def scheduler_address(text):
    """``--scheduler`` -> a Dask address ("tcp://HOST:PORT"; "HOST:PORT" is
    tcp), or None for none/"local"; UserError for anything Dask would choke
    on later (an http:// URL, no port, garbage), before any work."""
    import urllib.parse
    text = (text or "").strip()
    if text in ("", "local"):
        return None
    address = text if "://" in text else "tcp://" + text
    parts = urllib.parse.urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in SCHEDULER_SCHEMES or (parts.scheme != "inproc" and (
            not parts.hostname or port is None or parts.path not in ("", "/"))):
        raise UserError("--scheduler %s: not a Dask scheduler address; give "
                        "tcp://HOST:PORT (`dask scheduler` prints it; the port is "
                        "usually 8786), or leave it out for a local cluster" % text)
    return address


@contextlib.contextmanager
def connect(scheduler=None, workers=None):
    """A ``distributed.Client``: to ``scheduler`` ("tcp://HOST:PORT") when
    given, else to a new local cluster that is closed afterwards."""
    from distributed import Client
    scheduler = scheduler_address(scheduler)
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


class Progress:
    """What every run the driver (:func:`drive`) takes has in common: counts,
    the rate, and when its index page is due again.

    A run also has ``job``, ``out_dir``, ``digest``, ``todo`` (the items
    left), ``skipped``, :meth:`groups` (the items of each task), :meth:`key`
    (a task key's stem), :meth:`add` (one record in), :meth:`failed_record`
    (the record of an item whose task failed twice) and
    :meth:`write_summary`; ``name`` and ``unit`` label the bar and the rate.
    """
    name, unit, plural = "run", "item", "items"  # plural: for the rate's key

    def start(self, skipped):
        self.skipped, self.rendered, self.failed = skipped, 0, 0
        self.started, self._paged = time.time(), 0.0

    def count(self, record):
        if record["status"] == "done":
            self.rendered += 1
        else:
            self.failed += 1

    def page_due(self):
        """Whether the index page is due again (every PAGE_EVERY seconds)."""
        if time.time() - self._paged > PAGE_EVERY:
            self._paged = time.time()
            return True
        return False

    def timing(self):
        seconds = time.time() - self.started
        return {"seconds": round(seconds, 1), "rendered": self.rendered,
                "failed": self.failed, "skipped": self.skipped,
                "%s_per_hour" % self.plural: round(3600.0 * self.rendered / seconds, 1)
                if seconds > 0 else 0.0}


class Run(Progress):
    """The state of one atlas run: what is done, and the page over it."""
    name, unit, plural = "atlas", "class", "classes"

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
        self.todo = todo
        self.start(len(classes) - len(todo))
        self._measured = plan.measured_rate(out_dir, self.digest)  # an earlier run's

    def groups(self):
        return groups(self.todo, self.job.batch)

    def key(self, item):
        return "atlas-%s-%04d" % (self.digest[:12], item)

    def failed_record(self, index, error):
        """The record of a class that failed twice, written to its place."""
        record = tasks.failed_record(index, self.descriptions[index], error, self.digest)
        plan.write_record(record, os.path.join(self.out_dir, plan.record_file(index)))
        return record

    def add(self, record):
        """Take in one finished or failed record; refresh the files over it."""
        self.records[record["index"]] = record
        self.count(record)
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
        if final or self.page_due():
            page.write_site(self.out_dir, self.classes, self.records, self.descriptions,
                            self.title, data, pages=final)


def drive(run, client, task, progress=True, on_record=None):
    """Submit one ``task(job, group, out_dir, digest)`` per group of
    ``run.groups()`` to ``client``'s cluster and hand every record the
    tasks return to ``run.add``; a group that failed twice gets
    ``run.failed_record`` for each of its items.  Ctrl-C cancels what is
    left; the summary is written either way.  Returns ``run``, with
    ``run.interrupted`` set."""
    from distributed import as_completed
    from ..loop import progress_bar

    run.interrupted = False
    futures, token = {}, uuid.uuid4().hex[:8]
    for group in run.groups():
        futures[client.submit(task, run.job, group, run.out_dir, run.digest,
                              key="%s-%s" % (run.key(group[0]), token),
                              retries=RETRIES, pure=False)] = group
    bar = progress_bar(total=len(run.todo), disable=not progress, unit=run.unit,
               desc="%s (%d skipped)" % (run.name, run.skipped))
    try:
        for future in as_completed(futures):
            for record in _records(future, futures[future], run):
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


def _records(future, group, run):
    """The records of a finished task, or ``failed`` records when it failed twice."""
    try:
        return future.result()
    except Exception as exc:  # the task's own error, or KilledWorker
        error = "%s: %s" % (type(exc).__name__, exc)
        return [run.failed_record(item, error) for item in group]


def run_atlas(job, classes, out_dir, client, descriptions, title="Class atlas",
              progress=True, task=tasks.render, on_record=None):
    """Render ``classes`` of ``job`` on ``client``'s cluster into ``out_dir``.

    Classes already rendered there with the same settings are skipped.
    ``task`` is the worker function (``tasks.render``; tests wrap it),
    ``on_record(record)`` is called for each record the driver collects.
    Returns the :class:`Run`; ``run.interrupted`` says if Ctrl-C ended it.
    """
    return drive(Run(job, classes, out_dir, descriptions, title), client, task,
                 progress, on_record)


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
