"""The stream's in-between frames against the reference formula
(reproduce.lsd2015.frames.in_between), the overlay patch and the JPEG."""
import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from reproduce.fileio import to_uint8
from reproduce.lsd2015 import frames
from reproduce.lsd2015.profiles import STREAM2015
from reproduce.stream import interpolate


def picture(name, shape):
    """A photograph (scikit-image's astronaut) or the hardest texture for
    bilinear weights (uniform noise: neighbours differ by up to 255 levels),
    (rows, cols, 3) float32 on 0..255."""
    if name == "photo":
        from skimage import data, transform
        return np.float32(transform.resize(data.astronaut(), shape, anti_aliasing=True) * 255)
    return np.float32(np.random.RandomState(0).rand(*shape, 3) * 255)


def pictures():
    """The photograph at 336x192 (the overlay and JPEG tests)."""
    return {"photo": picture("photo", (192, 336))}


# (key frame shape, stream shape, frames per key frame, degrees per frame):
# the CPU default; the 2015 stream (840x472 key frames shown at 1024x576,
# fewer frames to keep the reference's float64 warps quick); and a smaller
# stream than the key frames with a rotation 200 times 2015's, so that the
# previous key frame's warp samples outside it (edges repeated)
CASES = [((192, 336), (192, 336), 17, 0.01),
         ((472, 840), (576, 1024), 4, 0.01),
         ((120, 200), (90, 160), 9, 2.0)]


@pytest.mark.parametrize("name", ["photo", "noise"])
@pytest.mark.parametrize("key_shape, out_shape, n, degrees", CASES)
def test_frames_are_the_2015_formula_within_1_level(name, key_shape, out_shape, n, degrees):
    profile = dataclasses.replace(STREAM2015, rotation_per_frame=degrees)
    previous = picture(name, key_shape)
    following = frames.zoom(previous, profile, n)
    expected = np.stack([to_uint8(f) for f in frames.in_between(previous, following, n,
                                                                profile, out_shape)])
    got = list(interpolate.in_between(previous, following, n, profile, out_shape))
    assert len(got) == n and got[0].dtype == np.uint8 and got[0].shape == out_shape + (3,)
    diff = np.abs(expected.astype(int) - np.stack(got))
    # the Op computes the reference's arithmetic (float64 warps, float32
    # blend): measured identical at every value of these cases; a compiler
    # or library that rounds a step differently moves values at the ties of
    # the rounding only (the fixed-point path: up to 6 levels, >1 at up to 10%)
    assert diff.max() <= 1 and np.mean(diff) < 0.002, (diff.max(), np.mean(diff))


def test_fixed_point_path_is_a_few_levels_off():
    """exact=False (``cv2.warpAffine``, weights in 1/32 pixel) is what the
    exact path replaces: on noise it is off by more than 1 level, never by
    more than 8 (1/32 of a 255-level step each way)."""
    previous = picture("noise", (192, 336))
    following = frames.zoom(previous, STREAM2015, 17)
    expected = np.stack([to_uint8(f) for f in frames.in_between(previous, following, 17,
                                                                STREAM2015, (192, 336))])
    got = np.stack(list(interpolate.in_between(previous, following, 17, STREAM2015,
                                               (192, 336), exact=False)))
    diff = np.abs(expected.astype(int) - got)
    assert 1 < diff.max() <= 8, diff.max()


@pytest.mark.parametrize("scale, degrees, out_shape", [
    (0.3, 25.0, (80, 120)),     # zoomed out: most samples far outside (edges repeated)
    (2.5, -40.0, (70, 50)),     # zoomed in and turned
    (1.0, 0.0, (60, 90))])      # the identity
def test_exact_warp_is_the_reference_warp(scale, degrees, out_shape):
    image = picture("noise", (60, 90))
    expected = frames.warp(image, scale, degrees, out_shape, order=1)
    np.testing.assert_allclose(interpolate.warp_exact(image, scale, degrees, out_shape),
                               expected, rtol=0, atol=0.01)


def test_where_the_next_key_frame_has_no_pixels_is_where_the_reference_has_nan():
    image = pictures()["photo"]
    for scale, degrees in ((3.0 / 1.05 ** 0.5, -0.1), (0.93, -0.17), (1.0, 0.0)):
        reference = frames.warp(image, scale, degrees, (576, 1024), order=1, cval=np.nan)
        np.testing.assert_array_equal(
            interpolate.outside(image.shape, (576, 1024), scale, degrees),
            np.isnan(reference[..., 0]))


def test_overlay_is_the_2015_overlay():
    frame = to_uint8(pictures()["photo"])
    for text, size in (("volcano", 20), ("rabbit & analog clock", 12)):
        expected = to_uint8(frames.overlay_text(np.float32(frame), text, size))
        np.testing.assert_array_equal(interpolate.overlay(frame, text, size), expected)
    assert interpolate.overlay(frame, "", 20) is not frame


@pytest.mark.parametrize("size", [12, 20])
def test_the_caption_box_holds_every_glyph(size):
    """The black box covers the whole text, as 2015's did (the mask's own
    extent): at the page's default 12 px, a box measured on smoothed
    glyphs stopped at "bee & brocco"."""
    frame = np.full((64, 200, 3), 128, np.uint8)
    for text in ("bee & broccoli", "black and gold garden spider", "@someone: jellyfish"):
        out = interpolate.overlay(frame, text, size)
        white, black = (out == 255).all(axis=2), (out == 0).all(axis=2)
        rows, cols = np.nonzero(white)
        # black all round the glyphs: the rows above and below, the columns beside
        assert black[rows.min() - 1, cols.min():cols.max() + 1].all(), (text, size)
        assert black[rows.max() + 1, cols.min():cols.max() + 1].all(), (text, size)
        assert black[rows.min():rows.max() + 1, cols.min() - 1].all(), (text, size)
        assert black[rows.min():rows.max() + 1, cols.max() + 1].all(), (text, size)


def test_jpeg_decodes_to_the_frame():
    frame = to_uint8(pictures()["photo"])
    decoded = np.asarray(Image.open(io.BytesIO(interpolate.encode_jpeg(frame, 90))))
    assert decoded.shape == frame.shape
    assert np.abs(decoded.astype(int) - frame).mean() < 4  # RGB order kept
