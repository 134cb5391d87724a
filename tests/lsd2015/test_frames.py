"""The zoom between key frames and the 2015 in-between frames."""
import numpy as np
import pytest

from reproduce.errors import UserError

from reproduce.lsd2015.frames import caption, in_between, overlay_text, warp, zoom
from reproduce.lsd2015.profiles import STREAM2015


def radial(rows=48, cols=64):
    """An image whose value is the distance from the centre: zoom makes it grow."""
    y, x = np.mgrid[0:rows, 0:cols] + 0.5
    d = np.hypot(y - rows / 2.0, x - cols / 2.0)
    return np.repeat(d[..., None], 3, axis=2).astype(np.float32)


def test_warp_identity_and_zoom_direction():
    image = radial()
    np.testing.assert_allclose(warp(image, 1.0, 0.0), image, atol=1e-3)
    zoomed = warp(image, 2.0, 0.0, centre="true")
    # zooming in by 2 about the centre halves every distance
    np.testing.assert_allclose(zoomed[10:38, 10:54], image[10:38, 10:54] / 2, atol=0.2)


def similarity_2015(shape, scale, degrees, centre):
    """zoomingstream.py:114-125 as written, with scikit-image's transforms:
    ``(tf_shift_inv + (tf_rotate + tf_shift)).params``; ``centre(n)`` gives
    the centre of an axis of length n (2015: n / 2)."""
    from skimage import transform
    shift_y, shift_x = centre(np.array(shape[:2], float))
    tf_shift = transform.SimilarityTransform(translation=[shift_x, shift_y])
    tf_rotate = transform.SimilarityTransform(scale=1.0 / scale,
                                              rotation=-np.deg2rad(degrees))
    tf_shift_inv = transform.SimilarityTransform(translation=[-shift_x, -shift_y])
    # skimage: A + B applies A, then B
    return (tf_shift_inv + (tf_rotate + tf_shift)).params


def cubic_2015(frame, matrix):
    """A literal numpy port of scikit-image 0.11's ``_warp_fast(order=3,
    mode='nearest')`` on one channel: each output pixel (row r, col c) maps
    through ``matrix`` in (x, y) = (c, r); the 4x4 input pixels around it,
    coordinates clamped to the image, are combined by the 0.11 polynomial
    f1 + x/2 (f2 - f0 + x (2 f0 - 5 f1 + 4 f2 - f3 + x (3 (f1 - f2) + f3 - f0))),
    along columns, then rows."""
    frame = frame.astype(np.float64)
    rows, cols = frame.shape
    r, c = np.mgrid[0:rows, 0:cols].astype(np.float64)
    xyw = matrix.dot(np.stack([c.ravel(), r.ravel(), np.ones(r.size)]))
    x, y = (xyw[0] / xyw[2]).reshape(rows, cols), (xyw[1] / xyw[2]).reshape(rows, cols)
    r0, c0 = np.floor(y).astype(int), np.floor(x).astype(int)
    xr, xc = y - r0, x - c0

    def cubic(t, f0, f1, f2, f3):
        return f1 + 0.5 * t * (f2 - f0 + t * (2.0 * f0 - 5.0 * f1 + 4.0 * f2 - f3
                                              + t * (3.0 * (f1 - f2) + f3 - f0)))

    def pixel(dr, dc):
        return frame[np.clip(r0 + dr, 0, rows - 1), np.clip(c0 + dc, 0, cols - 1)]

    along_cols = [cubic(xc, *[pixel(dr, dc) for dc in (-1, 0, 1, 2)]) for dr in (-1, 0, 1, 2)]
    return cubic(xr, *along_cols)


def smooth(rows=48, cols=64):
    y, x = np.mgrid[0:rows, 0:cols]
    return np.stack([128 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0),
                     128 + 90 * np.cos((x + y) / 11.0), 20 + x * 3.0], -1).astype(np.float32)


def noise(rows=48, cols=64, seed=0):
    return (np.random.RandomState(seed).rand(rows, cols, 3) * 255).astype(np.float32)


@pytest.mark.parametrize("centre,of_n", [("2015", lambda n: n / 2.0),
                                         ("true", lambda n: (n - 1) / 2.0)])
def test_the_zoom_is_2015s_cubic_convolution_about_its_centre(centre, of_n):
    """frames.zoom against the 2015 computation, written out: 2015's matrix
    (its centre n / 2 by default; with ``zoom_centre="true"`` (n - 1) / 2)
    through a numpy port of 2015's kernel, and through scikit-image's warp
    directly."""
    import dataclasses
    from skimage.transform import warp as sk_warp
    scale, degrees = 1.05 ** (17 / 25.0), 0.01 * 17
    profile = dataclasses.replace(STREAM2015, zoom_centre=centre)
    for image in (noise(), smooth()):
        out = zoom(image, profile)
        matrix = similarity_2015(image.shape, scale, degrees, of_n)
        # 2015 warped x / 255, clipped to 0..1 (zoomingstream.py:123); linear, so
        # that is our 0..255 image clipped to 0..255, up to rounding
        frame = np.clip(image / 255.0, 0.0, 1.0)
        port = np.stack([cubic_2015(frame[..., ch], matrix) for ch in range(3)], -1) * 255
        np.testing.assert_allclose(out, port, atol=2e-3)
        direct = sk_warp(frame.astype(np.float64), matrix, order=3, mode="edge",
                         preserve_range=True, clip=False) * 255
        np.testing.assert_allclose(out, direct, atol=2e-3)


def test_the_2015_taps_half_way_between_pixels():
    """Keys' kernel with a = -1/2: a half-pixel shift weighs the four
    neighbours -1/16, 9/16, 9/16, -1/16."""
    delta = np.zeros((1, 9, 3), np.float32)
    delta[0, 4] = 16.0
    # scale 1, no rotation, true centre: output col c samples input col c + 0.5
    shifted = warp(delta[:, :8], 1.0, 0.0, out_shape=(1, 7), centre="true")  # 3.5 and 3.0
    np.testing.assert_allclose(shifted[0, 2:6, 0], [-1, 9, 9, -1], atol=1e-5)


def test_the_2015_centre_drifts_to_the_top_left_and_the_true_one_does_not():
    """2015 (the default) turns about n / 2, half a pixel past the middle: a
    picture symmetric about its middle loses its symmetry, its features
    moving (s - 1) / 2 pixels up and left a zoom; ``zoom_centre="true"``
    keeps it."""
    import dataclasses
    image = radial(48, 64)                       # symmetric about the true centre
    assert STREAM2015.zoom_centre == "2015"
    scale = 1.05 ** (17 / 25.0)
    for centre, symmetric in (("2015", False), ("true", True)):
        out = zoom(image, dataclasses.replace(STREAM2015, zoom_centre=centre))[4:-4, 4:-4]
        assert np.allclose(out, out[::-1, ::-1], atol=1e-3) == symmetric, centre
    # a dot at the true middle: after 2015's zoom its centre of mass moves
    # up and left by about (scale - 1) / 2 on each axis (0.017 pixels; the
    # 0.17 degree turn adds a little), after the true one it stays
    dot = np.zeros((49, 65, 3), np.float32)
    dot[23:26, 31:34] = 100.0                   # middle (24, 32)
    rows, cols = np.mgrid[0:49, 0:65]
    for centre, expected in (("2015", -(scale - 1) / 2), ("true", 0.0)):
        out = zoom(dot, dataclasses.replace(STREAM2015, zoom_centre=centre))[..., 0]
        moved = np.array([(out * rows).sum(), (out * cols).sum()]) / out.sum() - (24, 32)
        np.testing.assert_allclose(moved, expected, atol=4e-3)
    with pytest.raises(UserError, match="zoom_centre"):
        warp(image, scale, 0.0, centre="middle")


def _centre_contrast(profile, zooms=30, shape=(136, 240)):
    """The mean neighbour difference of the rows and columns within 6 pixels
    of the zoom centre over the median row's and column's, after ``zooms``
    zooms of seeded noise, fresh noise added after each (as the optimiser
    adds detail between zooms)."""
    rng = np.random.RandomState(0)
    image = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    for k in range(zooms):
        image = zoom(image, profile, index=k) + rng.normal(0, 20, image.shape).astype(np.float32)
    rows = np.abs(np.diff(image, axis=0)).mean(axis=(1, 2))
    cols = np.abs(np.diff(image, axis=1)).mean(axis=(0, 2))
    r, c = shape[0] // 2, shape[1] // 2
    return (rows[r - 6:r + 6].mean() / np.median(rows),
            cols[c - 6:c + 6].mean() / np.median(cols))


def test_the_2015_zoom_leaves_a_cross_at_its_centre_and_the_dither_does_not():
    """Every 2015 zoom samples the rows and columns through its fixed point
    at the same phase, so they escape the interpolation's blur: a cross of
    sharper lines (about 1.2-1.3x the median row's contrast here, either
    centre).  ``zoom_dither="subpixel"`` shifts each zoom by a fresh
    sub-pixel amount, and the centre rows are like the others."""
    import dataclasses
    assert STREAM2015.zoom_dither == "none"
    for centre in ("2015", "true"):
        crossed = _centre_contrast(dataclasses.replace(STREAM2015, zoom_centre=centre))
        assert min(crossed) > 1.12, (centre, crossed)
        even = _centre_contrast(dataclasses.replace(STREAM2015, zoom_centre=centre,
                                                    zoom_dither="subpixel"))
        assert max(even) < 1.06, (centre, even)


def test_the_dither_is_sub_pixel_and_does_not_add_up():
    """frames.dither: (0, 0) for "none"; for "subpixel" points of [-0.5, 0.5)^2
    whose running mean stays near 0 (no drift); an unknown kind is refused."""
    from reproduce.lsd2015.frames import dither
    assert dither(7, "none") == (0.0, 0.0)
    shifts = np.array([dither(k, "subpixel") for k in range(200)])
    assert shifts.min() >= -0.5 and shifts.max() < 0.5
    assert len({tuple(s) for s in shifts.round(6)}) == 200
    assert np.abs(shifts.mean(axis=0)).max() < 0.01
    with pytest.raises(UserError, match="zoom_dither"):
        dither(0, "random")


def test_the_zoom_clips_first_and_not_after():
    """As 2015: clip to 0..255, warp, and leave the cubic kernel's overshoot
    for the next step's clip (train.py:213-222)."""
    image = np.zeros((32, 32, 3), np.float32)
    image[:, 16:] = 400.0                        # clipped to 255 first
    out = zoom(image, STREAM2015)
    np.testing.assert_array_equal(out, warp(np.clip(image, 0, 255), 1.05 ** (17 / 25.0),
                                            0.17))
    assert out.max() > 255.5 and out.min() < -0.5   # overshoot at the edge, unclipped


def test_2015s_kernel_blurs_more_than_the_bspline():
    """One 17-frame zoom of noise keeps less of its standard deviation with
    2015's cubic convolution than with scipy's prefiltered B-spline."""
    import dataclasses
    image = noise(96, 128)
    spline = dataclasses.replace(STREAM2015, zoom_kernel="bspline")
    kept = [zoom(image, p)[8:-8, 8:-8].std() / image.std() for p in (STREAM2015, spline)]
    assert 0.75 < kept[0] < 0.85 < kept[1] < 0.92, kept


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


def test_overlay_glyphs_are_unsmoothed_and_the_caption_is_2015s():
    out = overlay_text(np.full((40, 120, 3), 128, np.float32), "volcano & bee")
    box = out[3:30, 3:110]
    assert set(np.unique(box)) <= {0.0, 128.0, 255.0}  # black box, white glyphs, no grey
    assert caption(["volcano"], "viewer") == "@viewer: volcano"
    assert caption(["wood rabbit", "analog clock"]) == "wood rabbit & analog clock"
