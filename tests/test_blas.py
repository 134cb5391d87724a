"""The BLAS kernel choice (reproduce/blas.py): flags to candidates, the
correctness check against a deliberately wrong kernel, overrides."""
import os
import subprocess
import sys

import pytest

from reproduce import blas

# A stand-in OpenBLAS: correct sgemm (row-major, either transpose of A), except
# that the Cooperlake core, which it also picks by itself, rounds the inputs to
# bfloat16 first, like the Cooperlake kernels on an AMX Xeon; Haswell crashes;
# Zen's float32 products are right and its float64 ones wrong, as forcing
# Cooperlake's kernels on numpy 1.23.5's OpenBLAS does on a Zen 4 EPYC.
FAKE_BLAS = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
static const char *core(void) { const char *c = getenv("OPENBLAS_CORETYPE"); return c ? c : "Cooperlake"; }
const char *openblas_get_corename(void) { return core(); }
static float bf16(float x) { uint32_t u; memcpy(&u, &x, 4); u &= 0xffff0000u; memcpy(&x, &u, 4); return x; }
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    int wrong = strcmp(core(), "Cooperlake") == 0;
    if (strcmp(core(), "Haswell") == 0) abort();
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0;
            for (int p = 0; p < k; p++) {
                float x = ta == 112 ? a[p * lda + i] : a[i * lda + p], y = b[p * ldb + j];
                s += wrong ? bf16(x) * bf16(y) : x * y;
            }
            c[i * ldc + j] = alpha * s + (beta ? beta * c[i * ldc + j] : 0);
        }
}
void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha,
                 const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc) {
    int wrong = strcmp(core(), "Zen") == 0;  /* right in float32, wrong in float64 */
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int p = 0; p < k - wrong; p++)
                s += (ta == 112 ? a[p * lda + i] : a[i * lda + p]) * b[p * ldb + j];
            c[i * ldc + j] = alpha * s + (beta ? beta * c[i * ldc + j] : 0);
        }
}
"""


@pytest.fixture(scope="module")
def fake_blas(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fakeblas")
    (folder / "fake.c").write_text(FAKE_BLAS)
    library = str(folder / "libfakeblas.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", library, str(folder / "fake.c")],
                   check=True)
    return library


def test_candidates_follow_the_cpu_flags():
    amx_xeon = {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
                "avx512dq", "avx512cd", "avx512_bf16", "amx_bf16", "amx_tile"}
    assert blas.candidates(amx_xeon) == ["SapphireRapids", "Cooperlake", "SkylakeX", "Zen",
                                         "Haswell"]
    assert blas.candidates(amx_xeon - {"amx_bf16", "amx_tile", "avx512_bf16"}) == [
        "SkylakeX", "Zen", "Haswell"]
    assert blas.candidates({"sse4_2", "avx", "avx2", "fma"}) == ["Zen", "Haswell"]
    assert blas.candidates({"sse4_2"}) == ["Nehalem", "Prescott"]


def test_a_wrong_kernel_and_a_crashing_one_are_never_chosen(fake_blas):
    found = blas.survey(library=fake_blas, cores=["Cooperlake", "SkylakeX", "Zen", "Haswell"],
                        timing_size=48)
    results = found["results"]
    cooperlake = results["Cooperlake"]
    assert cooperlake["reported"] == "Cooperlake"
    # bfloat16 inputs: about 2^-9 relative per product, far past the tolerance
    assert cooperlake["system"]["error"] > 10 * blas.CHECK_TOLERANCE
    assert not blas.correct(cooperlake)
    assert "crashed" in results["Haswell"]["failure"]
    zen = results["Zen"]["system"]
    assert zen["error"] < 1e-5 and zen["error64"] > 1e3 * blas.CHECK_TOLERANCE64
    assert not blas.correct(results["Zen"])
    assert blas.correct(results["SkylakeX"])
    assert results["SkylakeX"]["system"]["error"] < 1e-5
    assert not blas.correct(results[blas.DEFAULT])
    assert found["chosen"] == "SkylakeX"
    rows = "\n".join(blas.table(found))
    assert "WRONG RESULTS" in rows and "crashed" in rows


def test_an_environment_core_that_computes_wrongly_is_replaced(fake_blas, monkeypatch):
    found = blas.survey(library=fake_blas, cores=["Cooperlake", "SkylakeX"], timing_size=32)
    monkeypatch.setattr(blas, "load_survey", lambda **kw: found)
    monkeypatch.setattr(blas, "_resolve", lambda name: "/fake")
    monkeypatch.setattr(blas, "_state", dict(blas._state))
    for name in ("REPRODUCE_BLAS_CORE", blas._CHOSEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Cooperlake")
    blas.apply()
    assert os.environ["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert "Cooperlake computes wrongly" in blas.describe()
    monkeypatch.setenv("OPENBLAS_CORETYPE", "SkylakeX")  # a correct one is kept
    monkeypatch.delenv(blas._CHOSEN)
    blas.apply()
    assert os.environ["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert "in the environment" in blas.describe()


def test_this_machine_runs_a_core_that_computes_correctly():
    """Whatever this CPU is, the core the tests run on passed the check here."""
    result = blas.probe(os.environ.get("OPENBLAS_CORETYPE"), timing_size=64)
    assert blas.correct(result), result
    if os.environ.get("OPENBLAS_CORETYPE") and not os.environ.get("REPRODUCE_BLAS_CORE"):
        assert result["reported"].lower() == os.environ["OPENBLAS_CORETYPE"].lower()


@pytest.mark.parametrize("value", ["foo", "", "Skylake X"])
def test_a_bad_override_is_one_line(value):
    env = dict(os.environ, REPRODUCE_BLAS_CORE=value)
    done = subprocess.run([sys.executable, "-m", "reproduce", "blas"], env=env,
                          capture_output=True, text=True, timeout=120)
    if value == "":  # empty: no override, choose by measurement
        assert done.returncode == 0 and "BLAS: OpenBLAS core" in done.stdout
        return
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "REPRODUCE_BLAS_CORE=" in done.stderr
    assert "Traceback" not in done.stderr


def test_verbose_says_the_core_and_keep_leaves_the_library_alone():
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", blas._CHOSEN)}
    env["REPRODUCE_BLAS_CORE"] = "keep"
    done = subprocess.run([sys.executable, "-m", "reproduce", "--verbose", "blas"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "REPRODUCE_BLAS_CORE=keep" in done.stderr.splitlines()[0]


@pytest.mark.parametrize("own, other, chosen", [
    (37.0, 170.0, "SkylakeX"),      # a CPU the library does not know: Prescott's kernels
    (95.0, 100.0, blas.DEFAULT),    # within noise of each other: the library's own stays
])
def test_the_library_own_core_stays_unless_another_is_faster(monkeypatch, own, other, chosen):
    def fake_probe(core, library=None, timing_size=0):
        speed = own if core is None else other
        return {"reported": core or "Prescott", "system": {"error": 1e-7, "gflops": speed},
                "numpy": {"error": 1e-7, "gflops": speed}}
    monkeypatch.setattr(blas, "probe", fake_probe)
    assert blas.survey(cores=["SkylakeX"])["chosen"] == chosen


def test_a_survey_from_a_busy_machine_is_taken_again_when_it_is_quiet(monkeypatch, tmp_path):
    """The timings decide between correct cores, so a survey measured under
    load (above BUSY a core) is measured again at a quiet start (below
    QUIET); a quiet one, or a busy one at a busy start, is kept."""
    taken = []

    def fake_survey(library=None, cores=None, progress=None, timing_size=0):
        taken.append(blas.load_per_core())
        return {"chosen": blas.DEFAULT, "results": {}, "date": "now",
                "load_per_core": blas.load_per_core()}
    monkeypatch.setattr(blas, "survey", fake_survey)
    monkeypatch.setattr(blas, "_cache_root", lambda: str(tmp_path))
    cores = len(os.sched_getaffinity(0))
    for load, retaken in [(8.0, True), (8.0, False), (0.1, True), (0.1, False),
                          (8.0, False)]:
        monkeypatch.setattr(os, "getloadavg", lambda: (load * cores, 0.0, 0.0))
        before = len(taken)
        blas.load_survey()
        assert (len(taken) > before) == retaken, (load, taken)
    assert taken == [8.0, 0.1]


@pytest.mark.parametrize("text", ["", "{", "[1, 2]", "null", '{"results": {}}', "\x00\xff" * 40,
                                  '{"load_per_core": "NaN"}'])
def test_a_damaged_survey_cache_is_measured_again(monkeypatch, tmp_path, text):
    """Our own cache file, truncated, edited or overwritten: measured again
    and replaced, never a traceback."""
    taken = []

    def fake_survey(library=None, cores=None, progress=None, timing_size=0):
        taken.append(1)
        return {"chosen": blas.DEFAULT, "results": {}, "date": "now", "load_per_core": 0.1}
    monkeypatch.setattr(blas, "survey", fake_survey)
    monkeypatch.setattr(blas, "_cache_root", lambda: str(tmp_path))
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    path = tmp_path / (blas._survey_key(None) + ".json")
    path.write_bytes(text.encode("latin-1"))
    assert blas.load_survey()["date"] == "now" and taken == [1]
    assert blas.load_survey()["date"] == "now" and taken == [1]  # the new file holds
