"""The class atlas on a local Dask cluster of two workers and the tiny model:
every class rendered exactly once, resume after an interrupted run, a killed
worker's class retried elsewhere, failures recorded, the page lists every
class; and the batched torch dreamer gives the pictures of single runs.

The worker functions below wrap ``tasks.render`` to log each render (and to
kill their worker or fail on purpose); cloudpickle sends them by value, so
the workers need not import this file.
"""
import dataclasses
import json
import os
import re
import sys

import numpy as np
import pytest

pytest.importorskip("distributed")
import cloudpickle  # noqa: E402  (a dependency of distributed)

from reproduce.atlas import cluster, page, plan, tasks  # noqa: E402
from reproduce.errors import UserError  # noqa: E402
from reproduce.job import PictureJob  # noqa: E402
from reproduce.nets.weights import sha256_of  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

CLASSES = [0, 1, 2, 3, 4, 5]
SMALL = (("image_size", (48, 48)), ("steps", 2))


def fourier(weights, **fields):
    return PictureJob(**dict(dict(weights=weights, recipe="fourier", overrides=SMALL),
                             **fields))


@pytest.fixture(scope="module")
def client():
    from distributed import Client
    with cluster.local_cluster(2) as local, Client(local) as c:
        yield c


@pytest.fixture(scope="module")
def model(tiny_weights):
    from reproduce.nets.weights import load_model
    return load_model(tiny_weights)


@pytest.fixture(scope="module")
def judge_weights(tmp_path_factory):
    from helpers.models import tiny_vgg
    from reproduce.nets.weights import save_model
    path = str(tmp_path_factory.mktemp("judge") / "judge.h5")
    save_model(tiny_vgg(seed=1), path)  # a different net: it made no picture
    return path


@pytest.fixture(scope="module")
def job(tiny_weights, judge_weights):
    job, _ = plan.make_job(fourier(tiny_weights, seed=3), judge=judge_weights)
    return job


# -- worker functions (sent by value) ----------------------------------------

def logged(job, indices, out_dir, digest):
    """tasks.render, and a line per record it returns in ``out_dir``/../log:
    class, worker and when the picture was made (a record that render found
    on disk rather than made again logs the same line again)."""
    records = tasks.render(job, indices, out_dir, digest)
    with open(os.path.join(out_dir, "..", "log"), "a") as f:
        f.write("".join("%d %d %r\n" % (r["index"], r["worker"]["pid"], r["finished"])
                        for r in records))
    return records


def holds_after_1(job, indices, out_dir, digest):
    """Classes 0 and 1 render at once; the others wait for a file ``go``
    (render) or ``stop`` (give up) beside ``out_dir``, so that an interrupt
    after two records finds them not done."""
    import time
    if indices[0] > 1:
        folder = os.path.join(out_dir, "..")
        deadline = time.time() + 300
        while not os.path.exists(os.path.join(folder, "go")):
            if os.path.exists(os.path.join(folder, "stop")) or time.time() > deadline:
                raise RuntimeError("stopped")
            time.sleep(0.05)
    return logged(job, indices, out_dir, digest)


def dies_once_on_2(job, indices, out_dir, digest):
    """Class 2 kills its worker process the first time, mid-task."""
    marker = os.path.join(out_dir, "..", "died")
    if indices == [2] and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)
    return logged(job, indices, out_dir, digest)


def fails_on_1_kills_on_4(job, indices, out_dir, digest):
    """Class 1 always raises; class 4 always kills its worker."""
    if indices == [1]:
        raise RuntimeError("bad class on purpose")
    if indices == [4]:
        os._exit(1)
    return logged(job, indices, out_dir, digest)


# -- helpers --------------------------------------------------------------------

def rendered(tmp_path):
    """Class indices in the render log, one entry per picture made."""
    log = tmp_path / "log"
    lines = set(log.read_text().split("\n")) - {""} if log.exists() else set()
    return [int(line.split()[0]) for line in lines]


def page_indices(out_dir):
    text = open(os.path.join(out_dir, "index.html")).read()
    return sorted(int(i) for i in re.findall(r'data-index="(\d+)"', text))


def atlas(job, out_dir, client, model, task=logged, on_record=None, classes=CLASSES):
    return cluster.run_atlas(job, classes, str(out_dir), client, model.descriptions,
                             progress=False, task=task, on_record=on_record)


# -- the tests ------------------------------------------------------------------

@pytest.mark.slow
def test_every_class_once_then_a_rerun_renders_nothing(tmp_path, client, model, job):
    out = tmp_path / "atlas"
    run = atlas(job, out, client, model)
    assert sorted(rendered(tmp_path)) == CLASSES
    assert (run.rendered, run.failed, run.skipped) == (6, 0, 0)
    records = plan.read_records(str(out))
    assert sorted(records) == CLASSES
    for index, record in records.items():
        assert record["status"] == "done" and record["digest"] == job.digest()
        assert sha256_of(str(out / record["image"])) == record["sha256"]
        assert record["judge"]["model"] == "tiny-vgg" and len(record["judge"]["top5"]) == 5
    # each worker process compiled its dreamer at most once
    compiled = [r["worker"]["pid"] for r in records.values() if r["worker"]["compiled"]]
    assert len(compiled) == len(set(compiled)) <= 2
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"done": 6, "failed": 0, "pending": 0}
    assert manifest["classes"]["3"]["sha256"] == records[3]["sha256"]

    again = atlas(job, out, client, model)
    assert (again.rendered, again.skipped) == (0, 6)
    # the re-run measured no rate: the header keeps the first run's
    kept = json.loads((out / "manifest.json").read_text())
    assert kept["run"]["rendered"] == 0 and kept["measured"] == manifest["measured"]
    assert manifest["measured"]["rendered"] == 6
    header = (out / "index.html").read_text()
    assert "%.0f classes per hour (6 in" % manifest["measured"]["classes_per_hour"] in header
    assert "an earlier run" in header and " 0 classes per hour" not in header
    assert sorted(rendered(tmp_path)) == CLASSES
    # other settings are another picture: nothing is skipped
    other = dataclasses.replace(job, picture=dataclasses.replace(job.picture, seed=4))
    assert plan.pending(str(out), CLASSES, other.digest())[0] == CLASSES


@pytest.mark.slow
def test_the_page_lists_every_class_and_links_names(tmp_path, client, model, job):
    out = tmp_path / "atlas"
    atlas(job, out, client, model, classes=[0, 1, 134, 517])  # two "crane"s
    assert page_indices(str(out)) == [0, 1, 134, 517]
    text = (out / "classes" / "0001.html").read_text()
    assert "images/0001.png" in text and "goldfish" in text and "judge" in text
    assert 'url=../classes/0000.html' in (out / "names" / "tench.html").read_text()
    crane = (out / "names" / "crane.html").read_text()
    assert "classes/0134.html" in crane and "classes/0517.html" in crane
    for index in (0, 1, 134, 517):
        assert (out / page.class_page_path(index)).exists()


@pytest.mark.slow
def test_resume_after_an_interrupted_run(tmp_path, client, model, job):
    out = tmp_path / "atlas"
    seen = []

    def interrupt(record):
        seen.append(record["index"])
        if len(seen) == 2:
            raise KeyboardInterrupt

    first = atlas(job, out, client, model, task=holds_after_1, on_record=interrupt)
    assert first.interrupted and sorted(seen) == [0, 1]
    (tmp_path / "stop").write_text("")  # the cancelled tasks still held give up
    _wait_idle(client)
    assert sorted(plan.pending(str(out), CLASSES, job.digest())[1]) == [0, 1]
    # a valid page of every class, the pending ones too
    assert page_indices(str(out)) == CLASSES
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"done": 2, "failed": 0, "pending": 4}
    assert "Not rendered yet" in (out / "classes" / "0004.html").read_text()

    second = atlas(job, out, client, model)
    assert (second.skipped, second.rendered) == (2, 4)
    assert sorted(rendered(tmp_path)) == CLASSES  # each class exactly once
    assert json.loads((out / "manifest.json").read_text())["counts"]["done"] == 6


def _wait_idle(client, timeout=120):
    import time
    deadline = time.time() + timeout
    while any(client.processing().values()):
        assert time.time() < deadline, "workers still busy after %d s" % timeout
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_workers_class_is_retried_elsewhere(tmp_path, client, model, job):
    out = tmp_path / "atlas"
    run = atlas(job, out, client, model, task=dies_once_on_2)
    dead = int((tmp_path / "died").read_text())
    assert (run.rendered, run.failed) == (6, 0)
    assert sorted(rendered(tmp_path)) == CLASSES
    assert plan.read_record(str(out), 2)["worker"]["pid"] != dead


@pytest.mark.slow
def test_a_class_that_fails_twice_is_recorded_and_the_rest_finish(tmp_path, client,
                                                                  model, job):
    out = tmp_path / "atlas"
    run = atlas(job, out, client, model, task=fails_on_1_kills_on_4)
    assert (run.rendered, run.failed) == (4, 2)
    assert sorted(rendered(tmp_path)) == [0, 2, 3, 5]
    raised, killed = plan.read_record(str(out), 1), plan.read_record(str(out), 4)
    assert raised["status"] == "failed" and "bad class on purpose" in raised["error"]
    assert killed["status"] == "failed" and "KilledWorker" in killed["error"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"done": 4, "failed": 2, "pending": 0}
    assert "bad class on purpose" in (out / "classes" / "0001.html").read_text()
    # a re-run tries the failed classes again, and only them
    again = atlas(job, out, client, model)
    assert (again.rendered, again.skipped) == (2, 4)
    assert sorted(rendered(tmp_path)) == CLASSES


@pytest.mark.slow
def test_torch_batches_on_the_cluster(tmp_path, client, model, tiny_weights):
    pytest.importorskip("torch")
    picture = PictureJob(weights=tiny_weights, recipe="lsd2015", profile="stream2015",
                         overrides=(("image_size", (32, 32)), ("steps", 3),
                                    ("steps_per_zoom", 2)),
                         prior="none", backend="torch")
    job, _ = plan.make_job(picture, batch=2)
    run = atlas(job, tmp_path / "atlas", client, model, classes=[7, 8, 9])
    assert (run.rendered, run.failed) == (3, 0)
    assert [r["batch"] for _, r in sorted(run.records.items())] == [2, 2, 1]


# -- without a cluster ------------------------------------------------------------

def test_batched_torch_dreamer_gives_the_single_pictures(tiny_model):
    pytest.importorskip("torch")
    from reproduce.lsd2015.profiles import STREAM2015
    from reproduce.prior.fit import fit_prior
    from reproduce_torch import Dreamer, build_net
    from reproduce_torch.batch import BatchDreamer
    # three steps, a zoom among them: past that the rule's coin-toss pixels
    # (a gradient within float noise of 0, summed in another order in the
    # batch) flip more at each step, and whether they do depends on the zoom's
    # centre and the CPU, not on the batch being right
    profile = dataclasses.replace(STREAM2015, image_size=(40, 40), steps=3,
                                  steps_per_zoom=2, prior_scales=(1, 2),
                                  prior_strength=10.0).for_model(tiny_model)
    prior = fit_prior("student", n_patches=3000, seed=0)
    net = build_net(tiny_model, "cpu")
    start = (128 + 8 * np.random.RandomState(0).randn(40, 40, 3)).astype(np.float32)
    classes = [3, 250, 999]
    singles = []
    for c in classes:
        d = Dreamer(net, profile, prior)
        d.set_image(start)
        d.set_classes(c)
        history = [v for v in d.run()]
        singles.append((d.get_image(), history))
    batch = BatchDreamer(net, profile, prior)
    batch.set_images([start] * 3)
    batch.set_classes(classes)
    batched_history = list(batch.run())
    images = batch.get_images()
    for (image, history), got in zip(singles, images):
        assert not np.allclose(image, start)
        # per-pixel agreement: the rule's sign-like first steps may flip a
        # pixel whose gradient is ~0 on one side of float rounding
        assert np.mean(np.abs(got - image) < 1e-2) > 0.99
    # the batch's loss is the sum of the single losses
    for i, step in enumerate(batched_history):
        assert step[1] == pytest.approx(sum(h[i][1] for _, h in singles), rel=1e-4)
    assert not np.allclose(images[0], images[1])


def test_class_selection(model, tmp_path):
    d = model.descriptions
    assert plan.select_classes("all", d) == list(range(1000))
    assert plan.select_classes("3-5,volcano,1", d) == [1, 3, 4, 5, 980]
    listing = tmp_path / "classes.txt"
    listing.write_text("# my classes\nbell pepper\n7\n\n")
    assert plan.select_classes(str(listing), d) == [7, 945]
    for bad in ("no such thing", "5-3", "0-1000", ","):
        with pytest.raises(UserError):
            plan.select_classes(bad, d)


def test_bad_options_fail_before_any_worker(tiny_weights, tmp_path):
    with pytest.raises(UserError, match="batch"):
        plan.make_job(fourier(tiny_weights), batch=4)
    with pytest.raises(UserError, match="Theano engine only"):
        plan.make_job(fourier(tiny_weights, backend="torch"))
    with pytest.raises(UserError, match="no such weights"):
        plan.make_job(fourier(str(tmp_path / "none.h5")))
    with pytest.raises(UserError, match="judge"):
        plan.make_job(fourier(tiny_weights), judge=str(tmp_path / "j.h5"))
    with pytest.raises(UserError, match="no such setting"):
        plan.make_job(fourier(tiny_weights, overrides=(("no_such", 1),)))


def test_the_default_weights_from_any_folder(tmp_path, monkeypatch):
    """Run outside the checkout, atlas's default weights are still the
    checkout's, and a missing one names the command that makes it."""
    from reproduce import paths
    from reproduce.cli import build_parser
    from reproduce.nets.weights import load_model
    monkeypatch.chdir(tmp_path)
    assert build_parser().parse_args(["atlas"]).weights == paths.EMBEDDED_CLASSIFIER
    with pytest.raises(UserError) as caught:
        load_model(str(tmp_path / "efficientnet_lite0.h5"))
    assert paths.how_to_make("embedded") in str(caught.value)
