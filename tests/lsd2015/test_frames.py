"""The zoom between key frames and the 2015 in-between frames."""
import numpy as np

from reproduce.lsd2015.frames import in_between, overlay_text, warp, zoom
from reproduce.lsd2015.profiles import STREAM2015


def radial(rows=48, cols=64):
    """An image whose value is the distance from the centre: zoom makes it grow."""
    y, x = np.mgrid[0:rows, 0:cols] + 0.5
    d = np.hypot(y - rows / 2.0, x - cols / 2.0)
    return np.repeat(d[..., None], 3, axis=2).astype(np.float32)


def test_warp_identity_and_zoom_direction():
    image = radial()
    np.testing.assert_allclose(warp(image, 1.0, 0.0), image, atol=1e-3)
    zoomed = warp(image, 2.0, 0.0)
    # zooming in by 2 about the centre halves every distance
    np.testing.assert_allclose(zoomed[10:38, 10:54], image[10:38, 10:54] / 2, atol=0.2)


def test_zoom_uses_the_profile_rate_and_clips():
    image = radial() * 10  # exceeds 255 at the corners
    out = zoom(image, STREAM2015)
    assert out.max() <= 255 and out.min() >= 0
    scale = 1.05 ** (17 / 25.0)
    np.testing.assert_allclose(out[20:28, 20:44], np.clip(
        warp(np.clip(image, 0, 255), scale, 0.17), 0, 255)[20:28, 20:44], atol=1e-3)


def test_in_between_starts_at_previous_and_blends_linearly():
    rng = np.random.RandomState(0)
    a = rng.rand(40, 60, 3).astype(np.float32) * 255
    b = zoom(a, STREAM2015)
    frames = list(in_between(a, b, 17, STREAM2015))
    assert len(frames) == 17
    np.testing.assert_allclose(frames[0], a, atol=1e-3)
    # weights: frame i is (17-i)/17 of the warped previous + i/17 of the warped next
    i = 5
    per = 1.05 ** (1 / 25.0)
    wa = warp(a, per ** i, 0.01 * i, order=1)
    wb = warp(b, per ** -(17 - i), -0.01 * (17 - i), order=1, cval=np.nan)
    expected = np.where(np.isnan(wb), wa, (12 * wa + 5 * np.nan_to_num(wb)) / 17.0)
    np.testing.assert_allclose(frames[i], expected, atol=1e-3)
    # the edge of the zoomed-out next key frame has no pixels: previous shows there
    assert np.isnan(wb).any()


def test_in_between_fills_the_stream_size():
    a = np.zeros((40, 60, 3), np.float32)
    frame = next(in_between(a, a, 3, STREAM2015, out_shape=(48, 80)))
    assert frame.shape == (48, 80, 3)


def test_overlay_writes_text():
    frame = np.full((40, 120, 3), 128, np.float32)
    out = overlay_text(frame, "volcano")
    assert out.shape == frame.shape
    assert (out[5:20, 5:60] == 255).any() and (out[5:20, 5:60] == 0).any()
    assert (out[30:, 80:] == 128).all()
