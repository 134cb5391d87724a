"""The fused in-between frame Op against a float64 numpy bilinear warp and blend."""
import numpy as np
import pytest

from reproduce.lsd2015 import frames
from reproduce.ops.in_between import InBetween, in_between_function


def bilinear(image, matrix, out_shape):
    """scikit-image's order-1 warp, mode "edge", in float64: (rows, cols, 3)
    -> (out_rows, out_cols, 3), and (out_rows, out_cols) bool where the
    sample point lies outside the image."""
    rows, cols = image.shape[:2]
    y, x = np.mgrid[:out_shape[0], :out_shape[1]].astype(np.float64)
    sx = matrix[0, 0] * x + (matrix[0, 1] * y + matrix[0, 2])
    sy = matrix[1, 0] * x + (matrix[1, 1] * y + matrix[1, 2])
    x0, y0 = np.floor(sx), np.floor(sy)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    c0, c1 = (np.clip(v, 0, cols - 1).astype(int) for v in (x0, x0 + 1))
    r0, r1 = (np.clip(v, 0, rows - 1).astype(int) for v in (y0, y0 + 1))
    im = image.astype(np.float64)
    top = (1 - fx) * im[r0, c0] + fx * im[r0, c1]
    low = (1 - fx) * im[r1, c0] + fx * im[r1, c1]
    outside = (sx < 0) | (sx > cols - 1) | (sy < 0) | (sy > rows - 1)
    return (1 - fy) * top + fy * low, outside


def matrix(in_shape, out_shape, scale, degrees):
    return frames.warp_matrix(in_shape, out_shape, scale, degrees)[:2].astype(np.float64)


SIZES = [(1, 1), (1, 7), (5, 1), (3, 3), (9, 13), (17, 23)]


@pytest.mark.parametrize("key_shape", SIZES)
@pytest.mark.parametrize("out_shape", [(1, 1), (7, 5), (17, 23)])
def test_frame_is_the_float64_bilinear_blend(key_shape, out_shape):
    rng = np.random.RandomState(key_shape[0] * 31 + key_shape[1])
    previous = np.float32(rng.rand(*key_shape, 3) * 255)
    following = np.float32(rng.rand(key_shape[1], key_shape[0], 3) * 255)
    ma = matrix(previous.shape[:2], out_shape, 1.3, 17.0)      # samples beyond the edges
    mb = matrix(following.shape[:2], out_shape, 0.8, -5.0)
    a, _ = bilinear(previous, ma, out_shape)
    b, no_pixels = bilinear(following, mb, out_shape)
    expected = (5 * a + 3 * b) / 8.0
    expected[no_pixels] = a[no_pixels]
    shape = np.array(out_shape, np.int64)
    weights = np.array([5.0, 3.0, 8.0])
    got = in_between_function("float32")(previous, following, ma, mb, weights, shape)
    assert got.dtype == np.float32 and got.shape == out_shape + (3,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # uint8: the same values rounded half to even and clipped
    frame = in_between_function("uint8")(previous, following, ma, mb, weights, shape)
    np.testing.assert_array_equal(frame, np.clip(np.round(got), 0, 255).astype(np.uint8))
    # weight 0 for the following frame: the previous one alone
    alone = in_between_function("float32")(previous, following, ma, mb,
                                            np.array([1.0, 0.0, 1.0]), shape)
    np.testing.assert_allclose(alone, a, rtol=0, atol=1e-4)


def test_uint8_rounds_and_clips_as_to_uint8():
    values = np.float32([0.5, 1.5, 2.5, 254.5, 255.7, -3, -0.5, 0.49999997, 253.5, 1e6, 17.2])
    image = np.repeat(values[None, :, None], 3, axis=2)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    frame = in_between_function("uint8")(image, image, identity, identity,
                                         np.array([1.0, 0.0, 1.0]),
                                         np.array(image.shape[:2], np.int64))
    np.testing.assert_array_equal(frame[0, :, 0], [0, 2, 2, 254, 255, 0, 0, 0, 254, 255, 17])
    np.testing.assert_array_equal(frame[0, :, 0],
                                  np.clip(np.round(values), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("previous_shape, matrix_shape, weights, shape, message", [
    ((4, 5, 4), (2, 3), 3, (3, 3), "previous key frame must be"),
    ((0, 5, 3), (2, 3), 3, (3, 3), "previous key frame must be"),
    ((4, 5, 3), (3, 3), 3, (3, 3), "matrix must be 2x3"),
    ((4, 5, 3), (2, 3), 2, (3, 3), "want 3 weights"),
    ((4, 5, 3), (2, 3), 3, (0, 3), "want 3 weights"),
])
def test_bad_shapes_are_refused(previous_shape, matrix_shape, weights, shape, message):
    good = np.zeros((4, 5, 3), np.float32)
    with pytest.raises(ValueError, match=message):
        in_between_function("uint8")(np.zeros(previous_shape, np.float32), good,
                                     np.zeros(matrix_shape), np.zeros((2, 3)),
                                     np.ones(weights), np.array(shape, np.int64))


def test_wrong_types_and_dtype_are_refused():
    from reproduce.backend import T
    with pytest.raises(TypeError, match="previous must be"):
        InBetween()(T.dtensor3(), T.ftensor3(), T.dmatrix(), T.dmatrix(), T.dvector(),
                    T.lvector())
    with pytest.raises(ValueError, match="dtype must be"):
        InBetween("float64")
