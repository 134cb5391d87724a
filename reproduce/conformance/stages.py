"""The stages of the table, and how a port's array is judged against ours.

Each cell is one of: identical, agrees (within the reference vectors'
tolerances, docs/reference-vectors.md), agrees up to a factor k, differs
(with the measure), not computed (with the reason), skipped (the port is
not installed).  A port's adapter returns an array per stage it computed
and a note per stage (the default behind it, or why it computed nothing).
"""
import dataclasses

import numpy as np

# (key, title, what the port's array is compared with)
STAGES = (
    ("preprocessing", "preprocessing", "ours: `input` (mean, std, channel order, range)"),
    ("layer", "layer naming", "a conv layer's value: after (ours) or before its ReLU"),
    ("logits", "logits", "the logits at the net's training size"),
    ("logit_map", "logit map", "the logit map beyond the training size (`logits`)"),
    ("objective", "objective", "`objective` (2015 logits by halves) or "
                               "`deepdream/objective` (0.5 mean(a^2))"),
    ("gradient", "gradient", "d objective / d image (0..255 RGB): rel L2 and cosine"),
    ("step", "one step", "one step of the port's rule on our gradient vs the 2015 rule"),
    ("forced", "steps 1-4", "teacher-forced steps 1-4 on our gradients vs `trajectory`"),
    ("jitter", "jitter", "the port's shift by a fixed offset vs dream.ipynb's roll"),
    ("octaves", "octaves", "the octave bases and the detail carried up vs dream.ipynb"),
    ("zoom", "zoom", "the zoom between frames vs the 2015 stream's (`zoom`)"),
    ("prior", "prior", "the image prior vs the 2015 patch prior (`prior/total`)"),
)
STAGE_KEYS = tuple(s[0] for s in STAGES)
MODES = ("defaults", "aligned")

# docs/reference-vectors.md: forward values to 1e-5 of the largest
# magnitude (the input to 1e-6); gradients of deep nets to 5e-2 relative
# L2 (ReLU and max-pool switches within float32 noise); steps as a share
# of values within 0.01 level (99.5%)
TOLERANCE = {"preprocessing": 1e-6, "layer": 1e-5, "logits": 1e-5, "logit_map": 1e-5,
             "objective": 1e-5, "prior": 1e-5}
GRAD_REL_L2 = 5e-2
STEP_TOL, STEP_SHARE = 0.01, 0.995
IMAGE_TOL = 1e-3   # levels: jitter, octaves, zoom (docs: a zoom not our own code)

# the factors a single number may differ by and still "agree up to k": the
# sign (a loss minimised, not an objective maximised), DeepDream's 0.5, 255
CONVENTIONS = (-1.0, 2.0, -2.0, 0.5, -0.5, 255.0, 1 / 255.0)
VERDICTS = ("identical", "agrees", "factor", "differs", "not computed", "skipped")


@dataclasses.dataclass
class Cell:
    verdict: str          # one of VERDICTS
    measure: str = ""     # the number behind it
    note: str = ""        # the port's default behind it, or why nothing was computed
    factor: float = None  # k, for "factor"

    def short(self):
        """The cell as the printed table shows it."""
        if self.verdict == "factor":
            return "x%s" % _k(self.factor)
        return {"not computed": "n/c", "identical": "identical", "agrees": "agrees",
                "differs": "DIFFERS", "skipped": "skipped"}[self.verdict]

    def as_dict(self):
        d = {"verdict": self.verdict, "measure": self.measure, "note": self.note}
        if self.factor is not None:
            d["factor"] = float(_k(self.factor))
        return d

    def key(self):
        """What the expectations file pins: the verdict, and k to 2 digits."""
        return self.verdict + ("" if self.factor is None else " %s" % _k(self.factor))


def _k(k):
    return "%.2g" % k


def not_computed(note):
    return Cell("not computed", note=note)


def _scaled(actual, expected):
    scale = max(float(np.abs(expected).max()), 1e-30)
    return float(np.abs(actual - expected).max()) / scale


def compare_values(actual, expected, tol, note=""):
    """Forward values: max|a - e| <= tol * max|e|, else the best factor k."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if a.shape != e.shape:
        return Cell("differs", "shape %s, ours %s" % (tuple(a.shape), tuple(e.shape)), note)
    if np.array_equal(a, e):
        return Cell("identical", note=note)
    err = _scaled(a, e)
    if err <= tol:
        return Cell("agrees", "max err %.1e of max|ours|" % err, note)
    k = float((a * e).sum() / max((e * e).sum(), 1e-300))
    if a.size == 1 and not any(abs(k - c) <= tol * abs(c) for c in CONVENTIONS):
        k = 0  # any two numbers differ by a factor: claimed only for a convention
    if k != 0 and _scaled(a, k * e) <= tol:
        return Cell("factor", "max err %.1e after x%s" % (_scaled(a, k * e), _k(k)), note, k)
    return Cell("differs", "max err %.2g of max|ours|" % err, note)


def compare_gradient(actual, expected, note=""):
    """Relative L2 and cosine; agrees within GRAD_REL_L2, or up to a factor k."""
    a, e = (np.asarray(v, np.float64).ravel() for v in (actual, expected))
    if a.shape != e.shape:
        return Cell("differs", "shape %s, ours %s" % (np.shape(actual), np.shape(expected)),
                    note)
    if np.array_equal(a, e):
        return Cell("identical", note=note)
    ne = max(np.linalg.norm(e), 1e-300)
    rel = np.linalg.norm(a - e) / ne
    cos = float(a @ e / max(np.linalg.norm(a) * ne, 1e-300))
    measure = "rel L2 %.1e, cosine %.4f" % (rel, cos)
    if rel <= GRAD_REL_L2:
        return Cell("agrees", measure, note)
    k = float(a @ e / ne ** 2)
    if k != 0 and np.linalg.norm(a - k * e) / (abs(k) * ne) <= GRAD_REL_L2:
        return Cell("factor", measure + ", x%s" % _k(k), note, k)
    return Cell("differs", measure, note)


def compare_images(actual, expected, before=None, note=""):
    """Images on 0..255: the share of values within STEP_TOL of ours; for
    steps (``before`` given) also the factor between the two moves."""
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if a.shape != e.shape:
        return Cell("differs", "shape %s, ours %s" % (a.shape, e.shape), note)
    if np.array_equal(a, e):
        return Cell("identical", note=note)
    share = float((np.abs(a - e) <= STEP_TOL).mean())
    measure = "%.2f%% within %g level" % (100 * share, STEP_TOL)
    if share >= STEP_SHARE:
        return Cell("agrees", measure, note)
    if before is not None:
        da, de = a - before, e - before
        k = float((da * de).sum() / max((de * de).sum(), 1e-300))
        fits = float((np.abs(da - k * de) <= STEP_TOL * max(1, abs(k))).mean())
        if k != 0 and fits >= STEP_SHARE:
            return Cell("factor", measure + "; the move is x%s ours" % _k(k), note, k)
        measure += "; the move is x%s ours on %.1f%% of values" % (_k(k), 100 * fits)
    return Cell("differs", measure + ", max |diff| %.3g" % np.abs(a - e).max(), note)
