"""The one-call API: reproduce.render, reproduce.deepdream, Result.save, and
the visualise command, on the tests' tiny net."""
import os

import numpy as np
import pytest

import reproduce
from reproduce import objectives as obj
from reproduce.errors import UserError
from reproduce.fileio import image_metadata, load_image
from reproduce.loop import Result


def test_render_fourier_raises_its_objective(tiny_model):
    result = reproduce.render(tiny_model, "relu2_1:3", size=48, steps=12, seed=1,
                              progress=False)
    assert isinstance(result, Result) and result.image.shape == (48, 48, 3)
    assert result.steps == 12 and not result.interrupted
    scores = [score for _, score, _ in result.history]
    assert np.mean(scores[-3:]) > np.mean(scores[:3])
    assert result.info["objective"] == "relu2_1:3" and result.info["recipe"] == "fourier"
    assert result.profile.image_size == (48, 48) and result.profile.steps == 12


def test_render_is_seeded(tiny_model):
    one, two, other = (reproduce.render(tiny_model, obj.channel("relu1_2", 1), size=40,
                                        steps=3, seed=seed, progress=False)
                       for seed in (5, 5, 6))
    np.testing.assert_array_equal(one.image, two.image)
    assert np.abs(one.image - other.image).max() > 1


def test_render_lsd2015_with_the_prior(tiny_model, reference_files):
    result = reproduce.render(tiny_model, "-relu2_1:3", recipe="lsd2015", size=(120, 112),
                              steps=6, prior=reference_files[1], progress=False)
    assert result.image.shape == (112, 120, 3)
    scores = [score for _, score, _ in result.history]
    assert scores[-1] > scores[0]
    assert all(energy > 0 for _, _, energy in result.history)   # the prior took part
    assert result.profile.name == "image2015" and result.profile.prior_strength == 1000


@pytest.mark.parametrize("recipe, size", [("fourier", 40), ("lsd2015", 112)])
def test_a_batch_with_diversity_makes_different_pictures(tiny_model, recipe, size):
    objective = obj.channel("relu2_1", 3) + 10 * obj.diversity("relu1_2")
    result = reproduce.render(tiny_model, objective, recipe=recipe, size=size, steps=4,
                              batch=3, prior="none", progress=False)
    assert result.images.shape == (3, size, size, 3)
    np.testing.assert_array_equal(result.image, result.images[0])
    assert np.abs(result.images[0] - result.images[1]).max() > 1


@pytest.mark.parametrize("kwargs, words", [
    (dict(recipe="deepdream"), "unknown recipe 'deepdream'"),
    (dict(size=0), "whole numbers 8..4096"),
    (dict(size=(32, 32, 3)), "whole numbers 8..4096"),
    (dict(size=32.5), "whole numbers 8..4096"),
    (dict(steps=0), "steps"),
    (dict(batch=0), "batch 0"),
    (dict(settings={"learning_rate": float("nan")}), "learning_rate"),
    (dict(settings={"no_such": 1}), "no such setting"),
])
def test_render_refuses_absurd_settings(tiny_model, kwargs, words):
    with pytest.raises(UserError, match=words):
        reproduce.render(tiny_model, "relu2_1:3", progress=False, **kwargs)


def test_deepdream_takes_a_loaded_model_and_matches_the_command(tiny_model, tiny_weights,
                                                                tmp_path):
    from reproduce.cli import main
    from reproduce.fileio import save_image
    photo = 128 + 60 * np.random.RandomState(0).rand(48, 56, 3).astype(np.float32)
    save_image(photo, str(tmp_path / "photo.png"))
    photo = load_image(str(tmp_path / "photo.png"))
    result = reproduce.deepdream(tiny_model, photo, layer="conv2_1", octaves=2, steps=3,
                                 jitter=4, progress=False)
    assert result.image.shape == photo.shape and result.steps == 6
    assert result.info["objective"] == "l2(relu2_1)"     # after the ReLU, as the command
    assert main(["deepdream", str(tmp_path / "photo.png"), "--weights", tiny_weights,
                 "--layer", "conv2_1", "--octaves", "2", "--steps", "3", "--jitter", "4",
                 "--out", str(tmp_path / "cli.png"), "--no-progress"]) == 0
    from reproduce.fileio import to_uint8
    np.testing.assert_array_equal(to_uint8(result.image),
                                  load_image(str(tmp_path / "cli.png")))


@pytest.mark.parametrize("kwargs, words", [
    (dict(octaves=0), "octaves"),
    (dict(steps=-1), "steps"),
    (dict(step_size=float("inf")), "step_size"),
    (dict(layer="nope"), "unknown layer"),
    (dict(channel=99), "channels"),
])
def test_deepdream_refuses_bad_settings(tiny_model, kwargs, words):
    photo = np.full((40, 40, 3), 128, np.float32)
    with pytest.raises(UserError, match=words):
        reproduce.deepdream(tiny_model, photo, progress=False, **dict(
            dict(layer="conv2_1"), **kwargs))


def test_deepdream_refuses_an_image_that_is_not_rgb(tiny_model):
    with pytest.raises(UserError, match=r"expected \(H, W, 3\)"):
        reproduce.deepdream(tiny_model, np.zeros((40, 40)), layer="conv2_1")


def test_load_model_reads_our_weights(tiny_weights, tiny_model):
    model = reproduce.load_model(tiny_weights)
    assert model.layer_names() == tiny_model.layer_names()
    with pytest.raises(UserError):
        reproduce.load_model(tiny_weights + ".missing")


# -- Result.save ----------------------------------------------------------------------

def small_result():
    from reproduce.fourier.renderer import FOURIER
    image = np.random.RandomState(0).rand(10, 12, 3).astype(np.float32) * 255
    return Result(image, 5, 0.1, False, [], FOURIER,
                  info=dict(call="render", objective="relu2_1:3", seed=4))


@pytest.mark.parametrize("name", ["x.png", "x.jpg", "x.JPEG"])
def test_save_keeps_the_settings_in_the_file(tmp_path, name):
    path = str(tmp_path / name)
    small_result().save(path)
    meta = image_metadata(path)
    assert meta["objective"] == "relu2_1:3" and meta["seed"] == 4
    assert meta["settings"]["learning_rate"] == 0.05 and meta["steps_taken"] == 5
    assert load_image(path).shape == (10, 12, 3)
    assert os.listdir(str(tmp_path)) == [name]          # nothing left beside it
    if name.endswith(".png"):
        np.testing.assert_array_equal(load_image(path), np.round(small_result().image))


def test_save_refuses_other_formats_and_folders(tmp_path):
    with pytest.raises(UserError, match=r"\.png or \.jpg"):
        small_result().save(str(tmp_path / "x.bmp"))
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(UserError):
        small_result().save(str(tmp_path / "folder.png"))
    with pytest.raises(UserError, match="holds 1 picture"):
        small_result().save(str(tmp_path / "y.png"), index=1)
    assert sorted(os.listdir(str(tmp_path))) == ["folder.png"]


# -- the command ------------------------------------------------------------------------

def test_visualise_writes_the_picture(tiny_weights, tmp_path, capsys):
    from reproduce.cli import main
    out = str(tmp_path / "unit.png")
    assert main(["visualise", "--weights", tiny_weights, "--objective", "relu2_1:3@centre",
                 "--size", "40", "--steps", "3", "--out", out, "--no-progress"]) == 0
    assert "wrote %s: relu2_1:3@centre, 3 steps" % out in capsys.readouterr().out
    meta = image_metadata(out)
    assert meta["objective"] == "relu2_1:3@centre" and meta["settings"]["steps"] == 3


def test_visualise_a_batch_writes_one_file_each(tiny_weights, tmp_path, capsys):
    from reproduce.cli import main
    out = str(tmp_path / "unit.jpg")
    assert main(["visualise", "--weights", tiny_weights, "--objective",
                 "relu2_1:3 + 10*diversity:relu1_2", "--batch", "2", "--size", "40",
                 "--steps", "2", "--out", out, "--no-progress"]) == 0
    assert sorted(os.listdir(str(tmp_path))) == ["unit-0.jpg", "unit-1.jpg"]
    assert [image_metadata(str(tmp_path / ("unit-%d.jpg" % i)))["index"]
            for i in (0, 1)] == [0, 1]


@pytest.mark.parametrize("argv, words", [
    (["--objective", "rleu2_1:3"], "did you mean relu2_1"),
    (["--objective", "relu2_1:3", "--batch", "0"], "--batch"),
    (["--objective", "relu2_1:3@40,0"], "the position must be within"),
    (["--objective", "relu2_1:3", "--size", "0"], "--size 0"),
    (["--objective", "relu2_1:3", "--steps", "0"], "--steps"),
    (["--objective", "relu2_1:3", "--set", "learning_rate=nan"], "learning_rate"),
    (["--objective", "relu2_1:3", "--recipe", "magic"], "--recipe"),
    (["--objective", "relu2_1:3", "--out", "x.gif"], "--out x.gif"),
])
def test_visualise_bad_input_is_one_line(tiny_weights, tmp_path, capsys, argv, words):
    from helpers.cli import one_error_line
    out = ["--out", str(tmp_path / "unit.png")] if "--out" not in argv else []
    line = one_error_line(capsys, ["visualise", "--weights", tiny_weights, "--size", "40",
                                   "--no-progress"] + out + argv)
    assert words in line
    assert os.listdir(str(tmp_path)) == []
