"""The stream's in-between frames with OpenCV against the reference formula
(reproduce.lsd2015.frames.in_between), the overlay patch and the JPEG."""
import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from reproduce.fileio import to_uint8
from reproduce.lsd2015 import frames
from reproduce.lsd2015.profiles import STREAM2015
from reproduce.stream import interpolate


def pictures():
    """A photograph (scikit-image's astronaut) and a texture-rich picture
    (smoothed noise, the high frequencies of a dream), 336x192."""
    from skimage import data, transform
    photo = transform.resize(data.astronaut(), (192, 336), anti_aliasing=True) * 255
    rng = np.random.RandomState(0)
    texture = ndimage.gaussian_filter(rng.rand(192, 336, 3) * 255, (1.0, 1.0, 0))
    texture = (texture - texture.mean()) * 4 + 128
    return {"photo": np.float32(photo), "texture": np.float32(np.clip(texture, 0, 255))}


@pytest.mark.parametrize("name", ["photo", "texture"])
@pytest.mark.parametrize("out_shape", [(192, 336), (576, 1024)])
def test_frames_equal_the_2015_formula(name, out_shape):
    previous = pictures()[name]
    following = frames.zoom(previous, STREAM2015, 17)
    expected = [to_uint8(f) for f in frames.in_between(previous, following, 17,
                                                       STREAM2015, out_shape)]
    got = list(interpolate.in_between(previous, following, 17, STREAM2015, out_shape))
    assert len(got) == 17 and got[0].dtype == np.uint8 and got[0].shape == out_shape + (3,)
    diff = np.abs(np.stack(expected).astype(int) - np.stack(got))
    # OpenCV's bilinear weights are fixed-point (1/32 pixel): the error is up
    # to 1/64 of the step between neighbouring pixels.  Measured: more than 1
    # level at 0.16-0.18% of the photo's pixels and 1.6-1.8% of the
    # texture's, never more than 4 levels; mean 0.08 and 0.35 levels.
    within, mean = {"photo": (0.005, 0.15), "texture": (0.03, 0.5)}[name]
    assert np.mean(diff > 1) < within and diff.max() <= 4, (np.mean(diff > 1), diff.max())
    assert np.mean(diff) < mean


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


def test_jpeg_decodes_to_the_frame():
    frame = to_uint8(pictures()["photo"])
    decoded = np.asarray(Image.open(io.BytesIO(interpolate.encode_jpeg(frame, 90))))
    assert decoded.shape == frame.shape
    assert np.abs(decoded.astype(int) - frame).mean() < 4  # RGB order kept
