"""The driver's side of a microscope run, on the atlas's Dask machinery
(:func:`reproduce.atlas.cluster.drive`: one task per group of items,
retries, a killed worker's task given to another, a given-up item recorded
as failed, Ctrl-C keeping what was made).

Tasks hold the channels of one layer only (``batch`` of them), so a
worker compiles a layer once and renders its channels in turn; the layer's
own DeepDream is a task of its own, first, so the index shows every
layer's picture early.
"""
import os

from ..atlas.cluster import Progress, connect, drive, groups
from ..atlas.plan import remove_stale_temporaries, write_manifest
from ..fileio import safe_name
from . import page, plan, tasks


class MicroscopeRun(Progress):
    """The state of one microscope run: what is done, and the pages over it."""
    name, unit, plural = "microscope", "unit", "units"

    def __init__(self, job, units, out_dir, model_name, title):
        self.job, self.units, self.out_dir = job, units, out_dir
        self.model_name, self.title = model_name, title
        self.digest = job.digest()
        remove_stale_temporaries(out_dir)
        wanted = plan.items(units)
        self.todo, self.records = plan.pending(out_dir, wanted, self.digest)
        self.start(len(wanted) - len(self.todo))

    def groups(self):
        """The layer items first (each alone), then each layer's channels in
        groups of ``batch``."""
        layers = [[item] for item in self.todo if item[1] is None]
        channels = []
        for layer in self.units:
            mine = [item for item in self.todo if item[0] == layer and item[1] is not None]
            channels += groups(mine, self.job.batch)
        return layers + channels

    def key(self, item):
        layer, channel = item
        return "microscope-%s-%s-%s" % (self.digest[:12], safe_name(layer),
                                        plan.stem(channel))

    def failed_record(self, item, error):
        record = tasks.failed_record(*item, error, self.digest)
        from ..report.gallery import write_record
        write_record(record, os.path.join(self.out_dir, plan.record_file(*item)))
        return record

    def add(self, record):
        self.records[(record["layer"], record["channel"])] = record
        self.count(record)
        if record["channel"] is not None:
            page.write_unit_page(self.out_dir, self.units, record)
        self.write_summary(final=False)

    def manifest(self):
        entries = {}
        for layer, channel in plan.items(self.units):
            record = self.records.get((layer, channel))
            entry = {"status": record["status"] if record else "pending"}
            if record and record["status"] == "done":
                entry.update(files=record["files"], seconds=record["seconds"],
                             stale=record["digest"] != self.digest)
            elif record:
                entry["error"] = record.get("error", "")
            entries.setdefault(layer, {})[plan.stem(channel)] = entry
        # units only: a layer's own DeepDream ("layer") is no unit
        flat = [e for layer in entries.values() for stem, e in layer.items() if stem != "layer"]
        counts = {s: sum(e["status"] == s for e in flat) for s in ("done", "failed", "pending")}
        return {"settings": self.job.settings(), "digest": self.digest,
                "model": self.model_name, "counts": counts, "run": self.timing(),
                "layers": {layer: len(c) for layer, c in self.units.items()},
                "units": entries}

    def write_summary(self, final=True):
        """manifest.json always; the index and layer pages at most every
        PAGE_EVERY seconds while running; every unit page at the end."""
        data = self.manifest()
        write_manifest(self.out_dir, data)
        if final or self.page_due():
            page.write_site(self.out_dir, self.units, self.records, self.title, data,
                            unit_pages=final)


def make_microscope(job, layers=None, channels="all", out_dir="results/microscope",
                    scheduler=None, workers=None, title=None, progress=True,
                    task=tasks.render, client=None, on_record=None):
    """Render the units of ``job`` (from :func:`plan.make_job`) -- ``layers``
    (None: the default ones) x ``channels`` ("all", a limit, a list) -- on a
    local cluster, on ``scheduler``, or on ``client``; returns the finished
    :class:`MicroscopeRun`."""
    from ..nets.build import build_net
    from ..nets.weights import load_model
    model = load_model(job.picture.weights)
    net = build_net(model)
    units = plan.plan_units(net, plan.resolve_layers(net, layers), channels)
    out_dir = os.path.abspath(out_dir)
    title = title or "Microscope: %s" % model.model_name
    run = MicroscopeRun(job, units, out_dir, model.model_name, title)
    if client is not None:
        return drive(run, client, task, progress, on_record)
    with connect(scheduler, workers) as client:
        return drive(run, client, task, progress, on_record)
