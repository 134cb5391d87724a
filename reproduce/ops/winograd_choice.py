"""Which 3x3 layers run as Winograd, and with which tile: measured data, not a guess.

``winograd_choice.json`` beside this file is written by
``python -m bench.bench_winograd --layers --write-choice`` (docs/winograd.md
has the table and the command).  For each VGG-16 3x3 layer at the
gallery's 840x472 -- channels in and out, how far the net has shrunk the
image by then (1, 2, 4, 8, 16) -- it holds the time of the step's two
convolutions (forward + gradient to the input) with CorrMM, F(2x2, 3x3)
and F(4x4, 3x3), each tile's float32 error against float64, and the
choice: the fastest of those whose error stays within the tolerance.
"""
import functools
import json
import math
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "winograd_choice.json")
PROBE = 512   # input size used to find how far a net has shrunk the image by at a layer


def eligible(w_shape, pad, stride, groups):
    """A 3x3, stride-1, pad-1, ungrouped correlation: what the Winograd Ops compute."""
    return (tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1) and groups == 1
            and pad != "same" and tuple(pad) == (1, 1, 1, 1))


@functools.lru_cache(maxsize=None)
def table():
    """The measured rows (a list of dicts), and the file's header."""
    with open(PATH) as f:
        data = json.load(f)
    return data


def _nearest(c_in, c_out, shrink):
    """The measured row closest to this layer in log channels and log size."""
    def distance(row):
        return (abs(math.log2(max(c_in, 1) / row["in"])) + abs(math.log2(max(c_out, 1) / row["out"]))
                + abs(math.log2(max(shrink, 1) / row["shrink"])))
    return min(table()["rows"], key=distance)


def tile_for(c_in, c_out, shrink, forced=False):
    """The tile for a layer of c_in -> c_out channels at 1/shrink of the input
    size, or None for CorrMM.  Layers not measured take the nearest measured
    row's choice; layers with fewer than 8 channels either way stay CorrMM
    (a GEMM over so few channels is all overhead).  ``forced``: always a tile,
    the measured one or else the most accurate tile within tolerance."""
    row = _nearest(c_in, c_out, shrink)
    if forced:
        return row["choice"] or row["accurate"]
    if min(c_in, c_out) < 8:
        return None
    return row["choice"]
