"""The in-between frames at stream speed: the 2015 formula, fused in C.

:func:`reproduce.lsd2015.frames.in_between` is the reference: frame i of n
warps the previous key frame forward by i frames and the next one back by
n - i (both bilinear, scikit-image in float64), blends them (n - i)/n and
i/n, and shows the previous one where the next has no pixels.
:func:`in_between` here computes the same frames and returns them as uint8,
two ways:

* ``exact=True`` (default): :class:`reproduce.ops.in_between.InBetween`,
  one C pass per frame that samples both key frames in double, blends in
  float32 as the reference does and rounds like ``fileio.to_uint8``, rows
  split over threads: within 1 grey level of the reference everywhere, at
  ties of the rounding only (tests/stream/test_interpolate.py).
* ``exact=False``: ``cv2.warpAffine`` (fixed-point weights, 1/32 pixel),
  ``addWeighted`` and the "no pixels" mask of :func:`outside`: up to 6-7
  grey levels off on noise.

:func:`overlay` writes the request on a frame from a patch rendered once
per text (the 2015 overlay: white on a black box, top left), instead of
sending the whole frame through Pillow.  :func:`encode_jpeg` uses
OpenCV's libjpeg-turbo.
"""
import functools

import cv2
import numpy as np
from PIL import Image, ImageDraw

from ..lsd2015 import frames as framelib
from ..ops.in_between import in_between_function

#: the in-between Op's weights (previous, following, total) for the
#: previous key frame alone
_ALONE = np.array([1.0, 0.0, 1.0])


def affine(in_shape, out_shape, scale, degrees, centre="2015"):
    """The 2x3 map from output (x, y) to input (x, y) of ``frames.warp``
    (:func:`reproduce.lsd2015.frames.warp_matrix`), for ``cv2.WARP_INVERSE_MAP``."""
    return framelib.warp_matrix(in_shape[:2], out_shape[:2], scale, degrees, centre)[:2]


def warp_linear(image, scale, degrees, out_shape, outside=None, centre="2015"):
    """``frames.warp(image, scale, degrees, out_shape, order=1, cval=outside)``
    with OpenCV's fixed-point bilinear ``warpAffine`` (1/32 pixel, so up to a
    few grey levels off): (rows, cols, 3) float32 -> (out_rows, out_cols, 3) float32."""
    matrix = affine(image.shape, out_shape, scale, degrees, centre)
    border = (dict(borderMode=cv2.BORDER_REPLICATE) if outside is None else
              dict(borderMode=cv2.BORDER_CONSTANT, borderValue=(outside,) * 4))
    return cv2.warpAffine(np.ascontiguousarray(image, np.float32), matrix,
                          (out_shape[1], out_shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, **border)


def warp_exact(image, scale, degrees, out_shape, centre="2015"):
    """``frames.warp(image, scale, degrees, out_shape, order=1)`` (edges
    repeated) with the in-between Op, the following frame weighted 0:
    (rows, cols, 3) -> (out_rows, out_cols, 3) float32."""
    image = np.ascontiguousarray(image, np.float32)
    matrix = affine(image.shape, out_shape, scale, degrees, centre)
    return in_between_function("float32")(image, image, matrix, matrix, _ALONE,
                                          np.array(out_shape[:2], np.int64))


# ------------------------------------------------------------ the frames

def _geometry(previous, following, n_frames, profile, out_shape):
    """Per frame i: the (in_shape, out_shape, scale, degrees, centre) of the
    previous key frame's warp and of the following one's (None at i = 0,
    where its weight is 0)."""
    fit = min(out_shape[0] / previous.shape[0], out_shape[1] / previous.shape[1])
    per_frame = profile.zoom_speed ** (1.0 / profile.fps)
    degrees, centre = profile.rotation_per_frame, profile.zoom_centre
    for i in range(n_frames):
        back = n_frames - i
        yield ((previous.shape[:2], out_shape, fit * per_frame ** i, degrees * i, centre),
               (following.shape[:2], out_shape, fit * per_frame ** -back, -degrees * back,
                centre) if i else None)


def in_between(previous, following, n_frames, profile, out_shape=None, exact=True):
    """The ``n_frames`` uint8 stream frames from key frame ``previous`` up to
    (not including) ``following``, as ``frames.in_between`` computes them
    (then rounded); ``out_shape`` (rows, cols) is the stream size.
    ``exact=False``: OpenCV's fixed-point ``warpAffine`` (faster, a few
    levels off on textures)."""
    out_shape = tuple(out_shape or previous.shape[:2])
    frames = _exact_frames if exact else _fixed_point_frames
    return frames(previous, following, n_frames,
                  _geometry(previous, following, n_frames, profile, out_shape), out_shape)


def _exact_frames(previous, following, n_frames, geometry, out_shape):
    """The frames from the in-between Op: (n - i) a + i b over n, uint8."""
    previous = np.ascontiguousarray(previous, np.float32)
    following = np.ascontiguousarray(following, np.float32)
    frame = in_between_function("uint8")
    shape = np.array(out_shape, np.int64)
    for i, (ga, gb) in enumerate(geometry):
        ma = affine(*ga)
        if gb is None:  # weight 0 for the next key frame: the previous one alone
            yield frame(previous, previous, ma, ma, _ALONE, shape)
            continue
        weights = np.array([n_frames - i, i, n_frames], np.float64)
        yield frame(previous, following, ma, affine(*gb), weights, shape)


def _fixed_point_frames(previous, following, n_frames, geometry, out_shape):
    """The frames from ``warpAffine``, ``addWeighted`` and the mask."""
    for i, (ga, gb) in enumerate(geometry):
        a = warp_linear(previous, ga[2], ga[3], out_shape, centre=ga[4])
        if gb is None:  # weight 0 for the next key frame: the previous one alone
            yield to_uint8(a)
            continue
        b = warp_linear(following, gb[2], gb[3], out_shape, centre=gb[4])
        frame = cv2.addWeighted(a, (n_frames - i) / float(n_frames), b, i / float(n_frames), 0.0)
        np.copyto(frame, a, where=~_inside(*gb)[..., None])
        yield to_uint8(frame)


def outside(in_shape, out_shape, scale, degrees, centre="2015"):
    """(out_rows, out_cols) bool: the output pixels whose sample point lies
    outside the input, where ``frames.warp(..., cval=nan)`` gives NaN.

    Computed from the map (float64), not by warping NaN: OpenCV's
    fixed-point weights touch the pixel beyond the edge with weight 0 at
    some edge pixels and would mark them too."""
    m = affine(in_shape, out_shape, scale, degrees, centre)
    x = np.arange(out_shape[1], dtype=np.float64)
    y = np.arange(out_shape[0], dtype=np.float64)[:, None]
    sx = m[0, 0] * x + (m[0, 1] * y + m[0, 2])
    sy = m[1, 0] * x + (m[1, 1] * y + m[1, 2])
    rows, cols = in_shape[:2]
    return (sx < 0) | (sx > cols - 1) | (sy < 0) | (sy > rows - 1)


@functools.lru_cache(maxsize=64)
def _inside(in_shape, out_shape, scale, degrees, centre):
    """~:func:`outside`, read-only, kept per frame geometry (each key-frame
    span repeats the same ones; 0.6 MB each at 1024x576)."""
    inside = ~outside(in_shape, out_shape, scale, degrees, centre)
    inside.flags.writeable = False
    return inside


def to_uint8(frame, out=None):
    """(H, W, 3) float32 -> uint8 (into ``out`` if given), rounded and
    clipped to 0..255 (as ``fileio.to_uint8``).  The key-frame zoom's cubic
    kernel overshoots below 0, and ``convertScaleAbs`` alone would fold -17
    up to 17: negatives go to 0 first (in place)."""
    cv2.threshold(frame, 0, 0, cv2.THRESH_TOZERO, dst=frame)
    if out is None:
        return cv2.convertScaleAbs(frame)
    cv2.convertScaleAbs(frame, dst=out)
    return out


@functools.lru_cache(maxsize=16)
def _patch(text, size):
    """What ``frames.overlay_text`` draws for ``text``, as two read-only bool
    masks over one region (the black box; the white glyphs, which may reach
    past the box) and where the region goes (top, left)."""
    font = framelib._font(size)
    left, top, right, bottom = framelib.text_box(text, font)
    # the box is one pixel larger all round, both ends inclusive; the margin
    # holds glyph pixels outside the text's bounding box
    margin = size
    x0, y0 = max(0, left - 1 - margin), max(0, top - 1 - margin)
    shape = (bottom + 1 + margin - y0, right + 1 + margin - x0)
    box = np.zeros(shape, bool)
    box[top - 1 - y0:bottom + 1 - y0, left - 1 - x0:right + 1 - x0] = True
    glyphs = Image.new("L", shape[::-1], 0)
    draw = ImageDraw.Draw(glyphs)
    draw.fontmode = "1"  # unsmoothed glyphs, as frames.overlay_text
    draw.text((5 - x0, 5 - y0), text, fill=255, font=font)
    glyphs = np.asarray(glyphs) > 0
    box.flags.writeable = glyphs.flags.writeable = False
    return box, glyphs, y0, x0


def overlay(frame, text, size):
    """``frame`` (H, W, 3) uint8 with ``text`` written on it (a copy)."""
    out = frame.copy()
    if text:
        box, glyphs, top, left = _patch(text, size)
        rows = min(box.shape[0], out.shape[0] - top)
        cols = min(box.shape[1], out.shape[1] - left)
        if rows > 0 and cols > 0:
            region = out[top:top + rows, left:left + cols]
            region[box[:rows, :cols]] = 0
            region[glyphs[:rows, :cols]] = 255
    return out


def encode_jpeg(frame, quality=85):
    """(H, W, 3) uint8 RGB -> JPEG bytes."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return data.tobytes()
