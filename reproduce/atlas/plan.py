"""What an atlas run renders: the job, the classes, the manifest, and what a
re-run may skip.

The job is a frozen value (:class:`AtlasJob`): it travels to every worker,
keys each worker's compiled-dreamer cache, and its :meth:`AtlasJob.digest`
(the settings plus the sha256 of every input file) says whether a picture on
disk was made the way this run would make it.

Output folder layout (``--out-dir``)::

    index.html              the grid of every class, with search by name
    classes/0945.html       one page per class, linked by index ...
    names/bell_pepper.html  ... and by name (a redirect, or a choice for the
                            few names two classes share, e.g. "crane")
    images/0945.png         the pictures
    records/0945.json       one record per class, written by its worker
    manifest.json           the settings, their digest, and each class's state
"""
import dataclasses
import glob
import hashlib
import json
import os
import re
from typing import Optional

from ..errors import UserError
from ..job import PictureJob
from ..nets.classes import find_class
from ..report.gallery import write_record

MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class AtlasJob:
    """Everything a worker needs to render any class of the run (values only).

    ``picture``: what every picture is made with -- a
    :class:`~reproduce.job.PictureJob` without classes (weights, recipe,
    profile, typed overrides, prior, start image, seed, backend), paths
    absolute.  ``batch``: classes per task (torch backend only).  ``judge``:
    weights of the classifier that scores the pictures, or None.
    """
    picture: PictureJob
    batch: int = 1
    judge: Optional[str] = None

    def profile(self):
        """The recipe's settings with the job's overrides (not yet aimed at the
        model's logit layer: the weights' digest covers that)."""
        from ..lsd2015.profiles import apply_overrides
        from ..recipes import base_settings
        p = self.picture
        return apply_overrides(base_settings(p.recipe, p.profile), p.overrides)

    def settings(self):
        """Plain JSON values of what shapes a picture (``batch`` does not)."""
        p = self.picture
        return {"weights": os.path.basename(p.weights), "recipe": p.recipe,
                "profile": p.profile, "settings": _plain(self.profile().settings()),
                "prior": p.prior, "prior_dir": p.prior_dir, "start": p.start,
                "seed": p.seed, "backend": p.backend}

    def digest(self):
        """sha256 of :meth:`settings` and of the input files' contents: equal
        digests mean a picture on disk is the one this job would make."""
        from ..paths import PRIOR
        p = self.picture
        files = [p.weights, p.start, p.prior]
        if p.recipe == "lsd2015" and p.prior is None:
            files.append(PRIOR)
        return digest_of(self.settings(), files)


def digest_of(settings, files):
    """sha256 of JSON ``settings`` and of the contents of those ``files``
    that exist (their paths do not count: a moved file is the same input)."""
    from ..nets.weights import sha256_of
    contents = {f: sha256_of(f) for f in files if f and os.path.isfile(f)}
    text = json.dumps([settings, sorted(contents.values())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(settings):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


# -- which classes ------------------------------------------------------------

def select_classes(spec, descriptions):
    """Class indices from ``--classes``: "all", a file (one name or index a
    line, # comments), or a comma-separated list of names, indices and
    index ranges ("0-49,volcano,945").  Sorted, each once."""
    spec = (spec or "all").strip()
    if spec == "all":
        return list(range(len(descriptions)))
    if os.path.exists(spec):  # a file of names (a device or binary file: refused)
        from ..fileio import read_text
        items = [line.split("#", 1)[0].strip()
                 for line in read_text(spec, "class list").splitlines()]
        where = " (in %s)" % spec
    else:
        items, where = spec.split(","), ""
    chosen = set()
    for item in (i.strip() for i in items):
        if not item:
            continue
        span = re.fullmatch(r"(\d+)-(\d+)", item)
        if span:
            lo, hi = int(span.group(1)), int(span.group(2))
            if not lo <= hi < len(descriptions):
                raise UserError("--classes %s%s: a range must run from low to high "
                                "within 0-%d" % (item, where, len(descriptions) - 1))
            chosen.update(range(lo, hi + 1))
            continue
        try:
            chosen.add(find_class(item, descriptions))
        except UserError as exc:
            raise UserError("--classes%s: %s" % (where, exc))
    if not chosen:
        raise UserError("--classes %r names no class; give all, names, indices or "
                        "a file of them" % spec)
    return sorted(chosen)


def class_name(description):
    """"tench, Tinca tinca" -> "tench": the name shown and searched first."""
    return description.split(",")[0].strip()


def slug(name):
    """A file-name form of a class name: "bell pepper" -> "bell_pepper"."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "class"


# -- files of one class ---------------------------------------------------------

def image_file(index):
    return "images/%04d.png" % index


def record_file(index):
    return "records/%04d.json" % index


def read_record(out_dir, index):
    """The record of class ``index`` in ``out_dir``, or None."""
    return _read_object(os.path.join(out_dir, record_file(index)))


def _read_object(path):
    """The JSON object in ``path``, or None (missing, damaged, not an object)."""
    try:
        with open(path) as f:
            record = json.load(f)
    except (FileNotFoundError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def read_records(out_dir):
    """{index: record} of every record in ``out_dir``."""
    records = {}
    for path in glob.glob(os.path.join(out_dir, "records", "*.json")):
        stem = os.path.basename(path)[:-5]
        if stem.isdigit():
            record = read_record(out_dir, int(stem))
            if record is not None:
                records[int(stem)] = record
    return records


def is_done(out_dir, record, digest):
    """Was this item made with these settings, and is every file of it still
    intact?  A record's files are ``{path: sha256}`` in ``files`` (the
    microscope's several pictures), else its one ``image`` and ``sha256``."""
    from ..nets.weights import sha256_of
    if not record or record.get("status") != "done" or record.get("digest") != digest:
        return False
    files = record.get("files") or {record.get("image"): record.get("sha256")}
    return all(path and os.path.isfile(os.path.join(out_dir, path))
               and sha256_of(os.path.join(out_dir, path)) == sha256
               for path, sha256 in files.items())


def pending(out_dir, classes, digest):
    """(classes still to render, {index: record} of those already done)."""
    done = {}
    for index in classes:
        record = read_record(out_dir, index)
        if is_done(out_dir, record, digest):
            done[index] = record
    return [c for c in classes if c not in done], done


def remove_stale_temporaries(out_dir):
    """Delete the temporary files of writes a killed process never finished
    (fileio.atomic_path's ``.tmp-*``), in ``out_dir`` and the folders below
    it: they are never a result."""
    for path in glob.glob(os.path.join(out_dir, "**", ".tmp-*"), recursive=True):
        os.remove(path)


# -- the manifest ------------------------------------------------------------------

def manifest(job, digest, classes, records):
    """The run's summary: settings, their digest, and each class's state,
    picture digest, run time and (for failures) the error."""
    entries = {}
    for index in classes:
        record = records.get(index)
        if record is None:
            entries[str(index)] = {"status": "pending"}
            continue
        entry = {"status": record["status"], "name": record["classes"][0]}
        if record["status"] == "done":
            entry.update(image=record["image"], sha256=record["sha256"],
                         seconds=record["seconds"], stale=record["digest"] != digest)
        else:
            entry["error"] = record.get("error", "")
        entries[str(index)] = entry
    counts = {s: sum(e["status"] == s for e in entries.values())
              for s in ("done", "failed", "pending")}
    return {"settings": job.settings(), "digest": digest, "counts": counts,
            "classes": entries}


def measured_rate(out_dir, digest):
    """The timing of the last run in ``out_dir`` that rendered classes with
    these settings (``digest``), from its manifest: a re-run that only
    skips measures nothing and keeps it.  None if there is none."""
    data = _read_object(os.path.join(out_dir, MANIFEST)) or {}
    measured = data.get("measured")
    if data.get("digest") != digest or not isinstance(measured, dict) or \
            not measured.get("rendered"):
        return None
    return measured


def write_manifest(out_dir, data):
    """``out_dir``/manifest.json, written atomically (a JSON record)."""
    write_record(data, os.path.join(out_dir, MANIFEST))


def make_job(picture, batch=1, judge=None):
    """An :class:`AtlasJob` for ``picture`` (a PictureJob; its classes are
    ignored) after the checks a driver can make before any worker starts:
    (job, the loaded model).  Paths become absolute, for workers whose
    working folder differs."""
    from ..prior.fit import load_prior_spec
    from ..recipes import backend_classes, check_job, load_weights
    recipe = check_job(picture)  # recipe, backend and precision go together
    model = load_weights(picture.weights)
    model.require_classes("atlas pictures", picture.weights)
    if batch < 1:
        raise UserError("--batch must be at least 1")
    if batch > 1 and (picture.backend != "torch" or recipe.name != "lsd2015"):
        raise UserError("--batch %d: batches run on the torch backend with the "
                        "lsd2015 recipe; add --backend torch --recipe lsd2015, or "
                        "leave out --batch" % batch)
    backend_classes(picture.backend)  # PyTorch installed?
    if recipe.name == "lsd2015":
        load_prior_spec(picture.prior, picture.prior_dir)  # a missing prior fails once, here
    if picture.start:  # a damaged start or a bomb: one line here, not on each worker
        from ..fileio import image_header
        image_header(picture.start)
    if judge:
        if not os.path.isfile(judge):
            raise UserError("%s: no such judge weights file (give --judge none to go "
                            "without)" % judge)
        load_weights(judge)  # damaged weights: one line here, not a failure per class
    absolute = lambda p: os.path.abspath(p) if p and os.path.exists(p) else p  # noqa: E731
    picture = dataclasses.replace(
        picture, classes=(), weights=os.path.abspath(picture.weights),
        prior=absolute(picture.prior), prior_dir=absolute(picture.prior_dir),
        start=absolute(picture.start))
    job = AtlasJob(picture, batch, absolute(judge))
    job.profile()  # a wrong --set fails here, before any worker
    return job, model
