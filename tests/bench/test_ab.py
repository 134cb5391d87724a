"""bench.ab: two checkouts' functions timed call by call, alternated."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ab(*args):
    return subprocess.run([sys.executable, "-m", "bench.ab"] + list(args), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_a_layer_against_itself_prints_both_medians_and_the_ratio():
    run = _ab("--rounds", "3", "layer", "8", "9", "7", "11", "2", "--", ROOT,
              ROOT + ",OPENBLAS_NUM_THREADS=1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("layer 8 9 7 11 2, 3 rounds alternated")
    assert len([line for line in lines if " median " in line]) == 2
    assert lines[-1].startswith("%s,OPENBLAS_NUM_THREADS=1 / %s: " % (ROOT, ROOT))
    assert float(lines[-1].rsplit(" ", 1)[1]) > 0


def test_bad_requests_are_usage_errors():
    assert _ab("layer", "8", "9", "--", ROOT, ROOT).returncode == 2
    assert _ab("step", "auto", "64", "64", ROOT).returncode == 2
    assert _ab("step", "auto", "64", "64", "--", ROOT).returncode == 2
