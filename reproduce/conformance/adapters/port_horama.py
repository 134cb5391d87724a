"""horama 0.3.0: MACO, Fourier and feature-accentuation visualisation.

Its loops take an objective_function of the image crops and nothing else:
no model, no layer names, no preprocessing of its own.  Every iteration
draws random crops and noise (common.py:40-79), which no argument turns
off, so the objective's value and gradient at our start image are not
computed.  What is measured: the image a start picture becomes inside
``accentuation`` (its only start-image path) and the optimiser, NAdam at
lr 1.0 (feature_accentuation.py:100-131).  Citations are to files of the
0.3.0 wheel, under horama/.
"""
import torch

from _common import Results, read_inputs, version_of
from _torch import from_unit, optimiser_steps, pixels
from horama.feature_accentuation import (SpectrumBackwardScaler, fa_preconditionner,  # noqa
                                         inverse_image_spectrum)
from horama.fourier_fv import get_fft_scale  # noqa: E402

inputs, out = read_inputs()
res = Results({"horama": version_of("horama")})
start = inputs["start"]
H, W = start.shape[:2]
unit = (pixels(start) / 255.0)[0]
values_range = (-2.5, 2.5)  # the default of maco, fourier and accentuation

spectrum = inverse_image_spectrum(unit, "cpu")
scaler = SpectrumBackwardScaler(get_fft_scale(H, W, 1.5))
seen = fa_preconditionner(spectrum, scaler, values_range, "cpu")
res.put("defaults", "preprocessing", seen[None],
        "accentuation's seed: min-max scaled to 0..1, then the preconditioner's sigmoid into "
        "values_range (-2.5, 2.5) (feature_accentuation.py:45-57, 60-86): no per-channel "
        "mean or std, no channel order")
res.put("aligned", "preprocessing", from_unit(inputs, unit[None]),
        "the objective_function applies our preprocessing (horama applies none)")
crops = "every iteration scores 6 random crops, resized to 224x224, plus noise (common.py:40-79)"
for stage in ("layer", "logits", "logit_map"):
    res.both(stage, None, "no model of its own: the user's objective_function gets the "
             "crops; " + crops)
res.both("objective", None, "the user's objective_function; " + crops + ": not a function "
         "of our image alone")
res.both("gradient", None, crops + ": no argument turns them off")

first, forced = optimiser_steps(lambda p: torch.optim.NAdam(p, lr=1.0), inputs,
                                scale=255.0 / (values_range[1] - values_range[0]))
note = ("torch.optim.NAdam(lr=1.0) (feature_accentuation.py:104), measured on pixels in "
        "values_range units (51 levels a unit); its parameter is an FFT spectrum or phase")
res.steps("defaults", first, forced, note)
first, forced = optimiser_steps(lambda p: torch.optim.NAdam(p, lr=5.0), inputs, unit=False)
note = ("torch.optim.NAdam at lr 5 on 0..255 pixels: Nesterov momentum with a warm-up "
        "schedule, so even the first step differs from Adam's")
res.steps("aligned", first, forced, note)
res.both("jitter", None, "no shift: random crops instead (" + crops + ")")
res.both("octaves", None, "one size only (image_size 1280, crops resized to 224)")
res.both("zoom", None, "no zoom loop")
res.both("prior", None, "no patch prior: the spectrum's 1/f^1.5 scaling and MACO's fixed "
         "magnitude spectrum regularise")
res.write(out)
