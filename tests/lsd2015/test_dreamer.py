"""The 2015 pipeline end to end on a small synthetic model."""
import dataclasses
import os

import numpy as np
import pytest
from PIL import Image

from helpers.shared import LSD2015, lsd2015_file
from reproduce import cli
from reproduce.nets.build import build_net
from reproduce.lsd2015.profiles import get_profile
from reproduce.lsd2015.dreamer import Dreamer

SMALL = {"image_size": (64, 48), "steps_per_zoom": 4}


@pytest.fixture(scope="module")
def prior2015():
    lsd2015_file("student_prior_filters.npy")
    from reproduce.prior.fit import load_lsd2015
    return load_lsd2015(LSD2015)


@pytest.fixture(scope="module")
def dreamer(tiny_model, prior2015):
    profile = get_profile("stream2015", SMALL)
    return Dreamer(build_net(tiny_model), profile, prior2015)


def target_logit(dreamer, index):
    from reproduce.backend import theano
    from reproduce.nets.build import preprocess
    x = preprocess(dreamer.image, dreamer.net.model, "scalar")
    f = theano.function([], dreamer.net.output(input=x)[0, index].mean())
    return float(f())


def test_target_logit_rises_and_prior_stays_bounded(dreamer):
    rng = np.random.RandomState(0)
    dreamer.set_image((128 + 10 * rng.randn(48, 64, 3)).astype(np.float32))
    bee = dreamer.net.model.descriptions.index("bee")
    dreamer.set_classes(bee)
    before = target_logit(dreamer, bee)
    stats = list(dreamer.run(steps=12))
    after = target_logit(dreamer, bee)
    assert after > before + 1.0
    energies = np.array([s[3] for s in stats])
    assert np.all(np.isfinite(energies)) and energies.max() < 5.0
    image = dreamer.get_image()
    assert image.min() >= 0 and image.max() <= 255


def test_two_classes_go_to_their_halves(dreamer):
    dreamer.set_image(np.full((48, 64, 3), 128, np.float32))
    a, b = 309, 409  # bee (lower half), analog clock (upper half)
    dreamer.set_classes(a, b)
    for _ in dreamer.run(steps=8):
        pass
    from reproduce.backend import theano
    from reproduce.nets.build import preprocess
    out = dreamer.net.output(input=preprocess(dreamer.image, dreamer.net.model, "scalar"))
    logits = theano.function([], out)()[0]
    half = logits.shape[1] // 2
    # each class is stronger on its own half than on the other one
    assert logits[a, half:].mean() > logits[a, :half].mean()
    assert logits[b, :half].mean() > logits[b, half:].mean()


def dream_args(weights, out, *extra):
    return ["dream", "--weights", weights, "--classes", "bee", "--profile", "stream2015",
            "--prior", "lsd2015", "--prior-dir", LSD2015, "--no-progress",
            "--set", "image_size=64x48", "--set", "steps_per_zoom=3", "--steps", "6",
            "--out", out] + list(extra)


@pytest.mark.slow
def test_dream_command_writes_and_is_deterministic(tiny_weights, tmp_path, prior2015):
    first, second = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    assert cli.main(dream_args(tiny_weights, first)) == 0
    assert cli.main(dream_args(tiny_weights, second)) == 0
    a, b = np.asarray(Image.open(first)), np.asarray(Image.open(second))
    assert a.shape == (48, 64, 3)
    np.testing.assert_array_equal(a, b)
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp")] == []


@pytest.mark.slow
def test_ctrl_c_keeps_the_current_image(tiny_weights, tmp_path, monkeypatch, prior2015):
    calls = {"n": 0}
    real_step = Dreamer.step

    def step_then_interrupt(self):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_step(self)

    monkeypatch.setattr(Dreamer, "step", step_then_interrupt)
    out = str(tmp_path / "stopped.png")
    assert cli.main(dream_args(tiny_weights, out)) == 130
    assert np.asarray(Image.open(out)).shape == (48, 64, 3)


def test_unknown_class_names_the_closest(tiny_weights, tmp_path, capsys):
    out = str(tmp_path / "x.png")
    code = cli.main(["dream", "--weights", tiny_weights, "--classes", "brocoli",
                     "--prior", "none", "--out", out])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "brocoli" in err[0] and '"broccoli"' in err[0]
    assert not os.path.exists(out)


class _Named:
    """A model as far as the time estimate looks at it: its conv layer names."""

    def __init__(self, names):
        self.names = names

    def layer_names(self, type=None):
        return list(self.names)


def test_dream_says_size_origin_steps_and_time_before_it_starts(tmp_path):
    from reproduce.commands.dream import plan
    from reproduce.job import PictureJob
    from reproduce.lsd2015.profiles import IMAGE2015, VGG16_LAYERS, expected_seconds
    (tmp_path / "hd1.jpg").write_bytes(b"")  # only looked for, never read here
    vgg16, other = _Named(VGG16_LAYERS), _Named(["conv1", "conv2"])
    job = PictureJob(weights="w.h5", classes=("bee",), profile="image2015",
                     prior_dir=str(tmp_path))
    line = plan(job, IMAGE2015, vgg16)
    assert line.startswith("dreaming 1920x1080 (the size of %s, the 2015 start image), "
                           "99 steps: about " % (tmp_path / "hd1.jpg"))
    assert "min on two idle cores" in line and "--set image_size" in line
    assert "min on two idle cores" not in plan(job, IMAGE2015, other)
    os.remove(tmp_path / "hd1.jpg")
    assert "(the image2015 size)" in plan(job, IMAGE2015, vgg16)
    # the estimate scales with the pixels and the steps
    half = dataclasses.replace(IMAGE2015, image_size=(960, 540), steps=50)
    assert expected_seconds(half, vgg16) == pytest.approx(
        expected_seconds(IMAGE2015, vgg16) / 4 * 50 / IMAGE2015.steps)
    assert expected_seconds(IMAGE2015, other) is None
