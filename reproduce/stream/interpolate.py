"""The in-between frames at stream speed: the 2015 formula with OpenCV.

:func:`reproduce.lsd2015.frames.in_between` is the reference: frame i of n
warps the previous key frame forward by i frames and the next one back by
n - i (both bilinear, scikit-image in float64), blends them (n - i)/n and
i/n, and shows the previous one where the next has no pixels.
:func:`in_between` here computes the same frames and returns them as uint8,
two ways:

* ``exact=True`` (default): within 1 grey level of the reference everywhere
  (tests/stream/test_interpolate.py).  OpenCV's bilinear warps quantise the
  sample position to 1/32 pixel, so none of them is used; a bilinear warp
  is built from OpenCV's exact parts instead (:func:`warp_exact`): four
  nearest-neighbour ``cv2.remap`` gathers of the 2x2 neighbours (integer
  positions, nothing rounded) and three ``cv2.blendLinear`` passes with the
  float32 fractions as weights, strip by strip so that the intermediates
  stay in the cache.
* ``exact=False``: ``cv2.warpAffine`` (fixed-point weights, 1/32 pixel):
  faster, but up to 6-7 grey levels off on noise.

Both blend with the "no pixels" mask from the map (:func:`outside`,
computed once per frame geometry) and round like ``fileio.to_uint8``.

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

#: rows of output per pass of the exact warp: 32 rows of 1024x3 float32 are
#: 384 KiB per intermediate, so a strip's work stays in the L2/L3 cache
STRIP_ROWS = 32
#: bytes of sampling positions and fractions kept across key-frame spans
#: (every span repeats the same frame geometries: frame i warps the previous
#: key frame i frames on and the next n - i back); 7 MB a geometry at
#: 1024x576, so 17 frames a key frame (34 geometries) fit
TAPS_CACHE_BYTES = 256 << 20
#: ``cv2.blendLinear`` computes (w1 a + w2 b) / (w1 + w2 + 1e-5); weights
#: summing to 2^16 instead of 1 make its 1e-5 negligible (2^16 scales exactly)
_WEIGHT = np.float32(2.0 ** 16)


def affine(in_shape, out_shape, scale, degrees):
    """The 2x3 map from output (x, y) to input (x, y) of ``frames.warp``
    (:func:`reproduce.lsd2015.frames.warp_matrix`), for ``cv2.WARP_INVERSE_MAP``."""
    return framelib.warp_matrix(in_shape[:2], out_shape[:2], scale, degrees)[:2]


def warp_linear(image, scale, degrees, out_shape, outside=None):
    """``frames.warp(image, scale, degrees, out_shape, order=1, cval=outside)``
    with OpenCV's fixed-point bilinear ``warpAffine`` (1/32 pixel, so up to a
    few grey levels off): (rows, cols, 3) float32 -> (out_rows, out_cols, 3) float32."""
    matrix = affine(image.shape, out_shape, scale, degrees)
    border = (dict(borderMode=cv2.BORDER_REPLICATE) if outside is None else
              dict(borderMode=cv2.BORDER_CONSTANT, borderValue=(outside,) * 4))
    return cv2.warpAffine(np.ascontiguousarray(image, np.float32), matrix,
                          (out_shape[1], out_shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, **border)


# ------------------------------------------------------------ exact warp

def neighbours(image):
    """The four (rows + 2, cols + 2, 3) float32 views (top left, top right,
    bottom left, bottom right) of one edge-padded copy of ``image``: view
    (dy, dx) at [j, i] is image[clamp(j - 1 + dy), clamp(i - 1 + dx)].

    Gathered at (x0 + 1, y0 + 1), x0 = floor(x), with ``cv2.remap``'s own
    clamping (``BORDER_REPLICATE``) beyond the views, they give the 2x2
    neighbours of any sample point with ``frames.warp``'s rule, edges
    repeated (scikit-image's mode "edge": each neighbour clamped).  Made
    once per key frame."""
    image = np.ascontiguousarray(image, np.float32)
    rows, cols = image.shape[:2]
    padded = cv2.copyMakeBorder(image, 1, 2, 1, 2, cv2.BORDER_REPLICATE)
    return tuple(padded[dy:dy + rows + 2, dx:dx + cols + 2] for dy in (0, 1) for dx in (0, 1))


def taps(in_shape, out_shape, scale, degrees):
    """Where each output row samples the input: a function of rows (start,
    stop) -> (positions (r, cols, 2) int16 (x0 + 1, y0 + 1) for
    ``cv2.remap``, and the ``blendLinear`` weights (1 - fx, fx, 1 - fy, fy)
    * 2^16, (r, cols) float32), x0 and fx the integer and fractional parts.

    float32 positions: at most ~1e-4 pixel off the reference's float64 ones
    at 1024 columns, under 0.02 levels."""
    m = affine(in_shape, out_shape, scale, degrees)
    x = np.arange(out_shape[1], dtype=np.float64)
    along = np.float32(m[0, 0] * x), np.float32(m[1, 0] * x)

    def rows(start, stop):
        y = np.arange(start, stop, dtype=np.float64)
        sx = np.add.outer(np.float32(m[0, 1] * y + m[0, 2] + 1), along[0])
        sy = np.add.outer(np.float32(m[1, 1] * y + m[1, 2] + 1), along[1])
        x0, y0 = np.floor(sx), np.floor(sy)
        fx = np.multiply(np.subtract(sx, x0, out=sx), _WEIGHT, out=sx)
        fy = np.multiply(np.subtract(sy, y0, out=sy), _WEIGHT, out=sy)
        positions, _ = cv2.convertMaps(x0, y0, cv2.CV_16SC2, nninterpolation=True)
        return positions, _WEIGHT - fx, fx, _WEIGHT - fy, fy
    return rows


class _TapsCache:
    """Per frame geometry, the strips' (positions, fx, fy) of :func:`taps`,
    kept while they fit in ``TAPS_CACHE_BYTES`` and never evicted (the spans
    cycle through the same geometries, where least-recently-used eviction
    would keep nothing useful); cleared when the shapes change."""

    def __init__(self):
        self._held, self._bytes, self._shapes = {}, 0, None

    def strips(self, geometry, strip):
        """[(positions, fx * 2^16, fy * 2^16) per strip of ``strip`` rows]."""
        in_shape, out_shape = geometry[:2]
        if self._shapes != (in_shape, out_shape, strip):
            self._held, self._bytes, self._shapes = {}, 0, (in_shape, out_shape, strip)
        held = self._held.get(geometry)
        if held is None:
            where = taps(*geometry)
            held = [where(start, min(out_shape[0], start + strip))[::2]
                    for start in range(0, out_shape[0], strip)]
            size = sum(a.nbytes for parts in held for a in parts)
            if self._bytes + size <= TAPS_CACHE_BYTES:
                self._held[geometry], self._bytes = held, self._bytes + size
        return held


_taps_cache = _TapsCache()


def _warp_strip(views, taps_, scratch, out):
    """One strip of the exact bilinear warp into ``out`` (r, cols, 3) float32;
    ``taps_`` is (positions, fx, fy) or :func:`taps`'s five, ``scratch`` 6
    arrays of ``out``'s shape."""
    if len(taps_) == 3:
        positions, fx, fy = taps_
        gx, gy = _WEIGHT - fx, _WEIGHT - fy
    else:
        positions, gx, fx, gy, fy = taps_
    for view, gathered in zip(views, scratch[:4]):
        cv2.remap(view, positions, None, cv2.INTER_NEAREST, dst=gathered,
                  borderMode=cv2.BORDER_REPLICATE)
    cv2.blendLinear(scratch[0], scratch[1], gx, fx, dst=scratch[4])
    cv2.blendLinear(scratch[2], scratch[3], gx, fx, dst=scratch[5])
    cv2.blendLinear(scratch[4], scratch[5], gy, fy, dst=out)
    return out


def warp_exact(image, scale, degrees, out_shape):
    """``frames.warp(image, scale, degrees, out_shape, order=1)`` (edges
    repeated) from OpenCV's exact parts: (rows, cols, 3) -> (out_rows,
    out_cols, 3) float32, within ~0.02 levels of the reference."""
    views, out_shape = neighbours(image), tuple(out_shape[:2])
    out = np.empty(out_shape + (3,), np.float32)
    scratch = [np.empty((min(STRIP_ROWS, out_shape[0]), out_shape[1], 3), np.float32)
               for _ in range(6)]
    where = taps(image.shape, out_shape, scale, degrees)
    for start in range(0, out_shape[0], STRIP_ROWS):
        stop = min(out_shape[0], start + STRIP_ROWS)
        _warp_strip(views, where(start, stop),
                    [s[:stop - start] for s in scratch], out[start:stop])
    return out


# ------------------------------------------------------------ the frames

def _geometry(previous, following, n_frames, profile, out_shape):
    """Per frame i: the (in_shape, out_shape, scale, degrees) of the previous
    key frame's warp and of the following one's (None at i = 0, where its
    weight is 0)."""
    fit = min(out_shape[0] / previous.shape[0], out_shape[1] / previous.shape[1])
    per_frame = profile.zoom_speed ** (1.0 / profile.fps)
    degrees = profile.rotation_per_frame
    for i in range(n_frames):
        back = n_frames - i
        yield ((previous.shape[:2], out_shape, fit * per_frame ** i, degrees * i),
               (following.shape[:2], out_shape, fit * per_frame ** -back, -degrees * back)
               if i else None)


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
    """The frames from :func:`warp_exact`'s parts, strip by strip: both warps,
    the blend (``blendLinear``, the mask folded into its weights), uint8."""
    views_a, views_b = neighbours(previous), neighbours(following)
    strip = min(STRIP_ROWS, out_shape[0])
    scratch = [np.empty((strip, out_shape[1], 3), np.float32) for _ in range(8)]
    weight_a = np.empty((strip, out_shape[1]), np.float32)
    for i, (ga, gb) in enumerate(geometry):
        frame = np.empty(out_shape + (3,), np.uint8)
        taps_a = _taps_cache.strips(ga, strip)
        if gb is not None:
            taps_b = _taps_cache.strips(gb, strip)
            # the blend's weights, 0 for the next key frame where it has no pixels
            weight_b = np.multiply(_inside(*gb), _WEIGHT * i / float(n_frames),
                                   dtype=np.float32)
            weight_a.fill(_WEIGHT * (n_frames - i) / float(n_frames))
        for k, start in enumerate(range(0, out_shape[0], strip)):
            stop = min(out_shape[0], start + strip)
            s = [buf[:stop - start] for buf in scratch]
            a = _warp_strip(views_a, taps_a[k], s, s[6])
            if gb is not None:
                b = _warp_strip(views_b, taps_b[k], s, s[7])
                cv2.blendLinear(a, b, weight_a[:stop - start], weight_b[start:stop], dst=a)
            to_uint8(a, out=frame[start:stop])
        yield frame


def _fixed_point_frames(previous, following, n_frames, geometry, out_shape):
    """The frames from ``warpAffine``, ``addWeighted`` and the mask."""
    for i, (ga, gb) in enumerate(geometry):
        a = warp_linear(previous, ga[2], ga[3], out_shape)
        if gb is None:  # weight 0 for the next key frame: the previous one alone
            yield to_uint8(a)
            continue
        b = warp_linear(following, gb[2], gb[3], out_shape)
        frame = cv2.addWeighted(a, (n_frames - i) / float(n_frames), b, i / float(n_frames), 0.0)
        np.copyto(frame, a, where=~_inside(*gb)[..., None])
        yield to_uint8(frame)


def outside(in_shape, out_shape, scale, degrees):
    """(out_rows, out_cols) bool: the output pixels whose sample point lies
    outside the input, where ``frames.warp(..., cval=nan)`` gives NaN.

    Computed from the map (float64), not by warping NaN: OpenCV's
    fixed-point weights touch the pixel beyond the edge with weight 0 at
    some edge pixels and would mark them too."""
    m = affine(in_shape, out_shape, scale, degrees)
    x = np.arange(out_shape[1], dtype=np.float64)
    y = np.arange(out_shape[0], dtype=np.float64)[:, None]
    sx = m[0, 0] * x + (m[0, 1] * y + m[0, 2])
    sy = m[1, 0] * x + (m[1, 1] * y + m[1, 2])
    rows, cols = in_shape[:2]
    return (sx < 0) | (sx > cols - 1) | (sy < 0) | (sy > rows - 1)


@functools.lru_cache(maxsize=64)
def _inside(in_shape, out_shape, scale, degrees):
    """~:func:`outside`, read-only, kept per frame geometry (each key-frame
    span repeats the same ones; 0.6 MB each at 1024x576)."""
    inside = ~outside(in_shape, out_shape, scale, degrees)
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
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    probe.fontmode = "1"
    font = framelib._font(size)
    left, top, right, bottom = probe.textbbox((5, 5), text, font=font)
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
