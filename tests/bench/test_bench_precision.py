"""bench_precision on the tiny test net: the key frames of every engine run
through the recipe in the precision named, and the numerics compare what
they say they compare."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench import bench_precision as bp  # noqa: E402
from bench.bench_race import random_prior  # noqa: E402



pytestmark = pytest.mark.usefixtures("one_torch_thread")

def test_key_frames_build_each_engine_through_the_recipe(tiny_model, capsys, monkeypatch):
    from reproduce import recipes
    built, real = [], recipes.build_dreamer
    monkeypatch.setattr(recipes, "build_dreamer",
                        lambda job, profile, *a: built.append((job, profile))
                        or real(job, profile, *a))
    engines = bp.ENGINES[1:]   # the torch ones: no Theano compile in a quick test
    best, gflop = bp.key_frames("64x48", 1, engines, tiny_model, random_prior(components=8))
    assert set(best) == {"torch float32", "torch bf16"} and gflop > 0
    assert [(job.backend, profile.precision) for job, profile in built] == [
        ("torch", "float32"), ("torch", "bf16")]
    bp.print_key_frames(best, gflop, "64x48")
    out = capsys.readouterr().out
    assert "torch bf16" in out and "classes per hour" in out and "7-8 s" in out


def test_numerics_compare_float32_bf16_and_float64(tiny_model):
    nets = bp.nets_of(tiny_model)
    assert nets["float64"].params["fc8"][0].dtype == torch.float64
    image = np.random.RandomState(0).uniform(0, 255, (1, 3, 36, 44)).astype(np.float32)
    grads = bp.layer_gradients(nets, image, ["relu1_2"])["relu1_2"]
    cos32, rel32 = bp.compare(grads["float32"], grads["float64"])
    cos16, rel16 = bp.compare(grads["bf16"], grads["float64"])
    assert rel32 < 1e-5 < rel16 < 0.1 and cos32 > cos16 > 0.99
    assert bp.compare(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(
        (0.0, 5 ** 0.5 / 2))
