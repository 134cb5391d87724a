"""Jobs are values: the CLI builds one from its options once, with typed
settings, and a job built by hand is the same value."""
import pytest

from reproduce.cli import build_parser
from reproduce.commands._options import picture_job, stream_job
from reproduce.errors import UserError
from reproduce.job import PictureJob, StreamJob
from reproduce.recipes import check_job


def test_the_cli_builds_the_job_a_script_would():
    args = build_parser().parse_args([
        "dream", "--weights", "w.h5", "--classes", "bee", "--classes", "analog clock",
        "--set", "image_size=64x48", "--set", "learning_rate=2", "--steps", "7",
        "--profile", "stream2015", "--out", "x.png"])
    job = picture_job(args)
    assert job == PictureJob(weights="w.h5", classes=("bee", "analog clock"),
                             profile="stream2015",
                             overrides={"image_size": (64, 48), "learning_rate": 2.0,
                                        "steps": 7})
    assert job.sets("image_size") and not job.sets("prior_strength")
    hash(job)


def test_overrides_are_typed_once_against_the_recipe():
    args = build_parser().parse_args(["stream", "--recipe", "fourier", "--set",
                                      "scales=1,1.1", "--size", "64x64", "--out", "v.mp4"])
    job = stream_job(args)
    assert isinstance(job, StreamJob) and job.size == (64, 64) and job.recipe == "fourier"
    assert job.overrides == (("scales", (1.0, 1.1)),)
    with pytest.raises(UserError, match="no such setting"):
        stream_job(build_parser().parse_args(["stream", "--recipe", "fourier", "--set",
                                              "prior_strength=3", "--out", "v.mp4"]))


def test_serve_and_stream_take_recipe_and_backend():
    for command in (["serve"], ["stream", "--out", "v.mp4"]):
        args = build_parser().parse_args(command + ["--recipe", "fourier",
                                                    "--backend", "torch"])
        assert (args.recipe, args.backend) == ("fourier", "torch")


def test_a_recipe_checks_its_backend():
    assert check_job(PictureJob(backend="torch")).name == "lsd2015"
    with pytest.raises(UserError, match="Theano engine only"):
        check_job(PictureJob(recipe="fourier", backend="torch"))
    with pytest.raises(UserError, match="unknown recipe"):
        check_job(PictureJob(recipe="lucid"))


def test_the_device_is_the_torch_backends():
    from reproduce.recipes import torch_device
    check_job(PictureJob(backend="torch", device="cuda"))
    check_job(PictureJob(device="cpu"))
    with pytest.raises(UserError, match="only the torch backend"):
        check_job(PictureJob(device="cuda"))
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA device"):
            torch_device("cuda")
    assert torch_device("cpu") == "cpu" and torch_device(None) is None


def test_a_device_torch_does_not_know_is_one_line():
    pytest.importorskip("torch")
    from reproduce.recipes import torch_device
    for bad in ("gpu", "", "cuda:x", 3.5):
        with pytest.raises(UserError, match="not a torch device"):
            torch_device(bad)
