"""bench_race's key frames: built by recipes.build_dreamer, and the CUDA row
runs (here on torch's CPU build) or says that there is no CUDA device."""
import pytest

torch = pytest.importorskip("torch")

from bench import bench_race  # noqa: E402


def test_the_cuda_key_frame_row_runs_through_the_recipe(tiny_model, capsys, monkeypatch):
    from reproduce import recipes
    built, real = [], recipes.build_dreamer
    monkeypatch.setattr(recipes, "build_dreamer",
                        lambda job, *args: built.append(job) or real(job, *args))
    rows = []
    assert bench_race.cuda_key_frame(tiny_model, bench_race.random_prior(components=8),
                                     rows, size="64x48", device="cpu")
    (name, gflop, seconds, peak), = rows
    assert set(seconds) == {"torch"} and seconds["torch"] > 0 and gflop > 0
    assert peak is None  # a GPU's rate is not a share of the CPU's sgemm peak
    job, = built
    assert (job.backend, job.device, job.recipe) == ("torch", "cpu", "lsd2015")
    bench_race.print_table(rows)
    out = capsys.readouterr().out
    assert "| key frame 64x48, torch on cpu (zoom + 10 steps) |" in out


def test_without_cuda_the_bench_says_so(tiny_model, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    rows = []
    assert not bench_race.cuda_key_frame(tiny_model, None, rows, size="64x48")
    assert rows == [] and "no CUDA device" in capsys.readouterr().out
