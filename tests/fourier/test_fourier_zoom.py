"""The zooming Fourier recipe: the zoom re-encoded into the spectrum exactly,
and its dreamer driven by the stream's key-frame loop.

Small sizes and the tiny VGG; one compiled Renderer for the module.
"""
import dataclasses

import numpy as np
import pytest

from reproduce.fileio import to_uint8
from reproduce.fourier import params
from reproduce.lsd2015 import frames
from reproduce.job import PictureJob
from reproduce.recipes import FOURIER_ZOOM, build_dreamer, fourier_start
from reproduce.stream.keyframes import key_frames

SIZE = (72, 40)   # (width, height): odd half spectrum, rows != cols


@pytest.fixture(scope="module")
def zooming(tiny_model):
    # scales from 0.9: 0.4 of 40 rows is too small for the tiny VGG
    profile = dataclasses.replace(FOURIER_ZOOM, image_size=SIZE, steps_per_zoom=2,
                                  pad=2, jitter=2, jitter_after=1,
                                  scales=(0.9, 1.0, 1.1)).for_model(tiny_model)
    job = PictureJob(weights=tiny_model, recipe="fourier-zoom", seed=3)
    return profile, build_dreamer(job, profile)


def test_the_numpy_start_is_the_seeded_spectrum_image(zooming):
    profile, dreamer = zooming
    dreamer.reset(5)
    np.testing.assert_allclose(fourier_start(profile, 5), dreamer.get_image(), atol=1e-3)


def test_zoomed_image_rebuilt_from_the_reencoded_spectrum_equals_it(zooming):
    profile, dreamer = zooming
    rng = np.random.RandomState(0)
    # A picture with saturated pixels (0 and 255) and smooth and sharp parts.
    image = np.clip(rng.rand(SIZE[1], SIZE[0], 3) * 300 - 20, 0, 255).astype(np.float32)
    dreamer.set_image(image)
    before = dreamer.get_image()
    dreamer.zoom(17)
    expected = frames.zoom(before, profile, 17)
    rebuilt = dreamer.get_image()
    # Exact up to float32 rounding, except where the sigmoid cannot reach 0
    # or 255 (kept 0.255 levels inside): equal once rounded to 8 bits.
    np.testing.assert_array_equal(to_uint8(rebuilt), to_uint8(expected))
    inside = (expected > 1) & (expected < 254)
    assert np.abs(rebuilt - expected)[inside].max() < 0.02
    # The parameters really are the inverse: a spectrum, not the pixels.
    spectrum = np.fft.rfft2(dreamer.param._to_linear(expected)[0] / dreamer.param.amplitude)
    np.testing.assert_allclose(dreamer.param.real.get_value(),
                               (spectrum / dreamer.param.scale).real, rtol=1e-4, atol=1e-5)


def test_key_frames_continue_from_the_zoomed_previous_one(zooming, tiny_model):
    profile, dreamer = zooming
    dreamer.reset(0)
    dreamer.set_image(fourier_start(profile, 0))
    starts, keys = [], []
    original_zoom = dreamer.zoom

    def zoom(n):
        original_zoom(n)
        starts.append(dreamer.get_image())

    dreamer.zoom = zoom
    try:
        loop = key_frames(dreamer, profile, lambda: (1, 2), lambda: 9)
        for _ in range(3):
            keys.append(next(loop))
    finally:
        del dreamer.zoom
    for i, (previous, start) in enumerate(zip(keys, starts[1:])):
        # zoom i + 1 of the stream, with its sub-pixel shift (zoom_dither)
        np.testing.assert_array_equal(
            to_uint8(start), to_uint8(frames.zoom(previous.image, profile, 9, i + 1)))
    assert all(k.frames == 9 and k.classes == (1, 2) for k in keys)
    assert not np.allclose(keys[-1].image, starts[-1])   # the steps moved it


def test_the_2015_key_frame_zoom_takes_the_fourier_profile():
    """The zooming Fourier recipe zooms with frames.zoom under its own
    profile: every setting the zoom reads is there, with the 2015 kernel,
    about the true centre (ours; the 2015 profiles turn about n / 2)."""
    import dataclasses
    from reproduce.fourier.renderer import FOURIER
    from reproduce.lsd2015 import frames
    from reproduce.lsd2015.profiles import STREAM2015
    image = np.random.RandomState(0).rand(24, 40, 3).astype(np.float32) * 255
    assert FOURIER.zoom_kernel == STREAM2015.zoom_kernel == "cubic2015"
    assert (FOURIER.zoom_centre, STREAM2015.zoom_centre) == ("true", "2015")
    np.testing.assert_array_equal(
        frames.zoom(image, FOURIER, 17),
        frames.zoom(image, dataclasses.replace(STREAM2015, zoom_centre="true"), 17))


def test_the_zoom_keeps_or_resets_adams_moments_as_the_profile_says(zooming):
    """fourier-zoom keeps the moments over a zoom (a fresh Adam's first
    steps are as long on every spectrum coefficient, noise and all);
    ``zoom_moments="reset"`` starts them afresh."""
    profile, dreamer = zooming
    assert profile.zoom_moments == "keep"
    dreamer.reset(0)
    dreamer.set_classes(1)
    dreamer.step()
    moments = [r.m.get_value().copy() for r in dreamer.rules]
    assert all(np.abs(m).max() > 0 for m in moments)
    dreamer.zoom(9)
    for rule, m in zip(dreamer.rules, moments):
        np.testing.assert_array_equal(rule.m.get_value(), m)
    dreamer.profile = dataclasses.replace(profile, zoom_moments="reset")
    try:
        dreamer.zoom(9)
    finally:
        dreamer.profile = profile
    assert all(not np.abs(r.m.get_value()).any() for r in dreamer.rules)
