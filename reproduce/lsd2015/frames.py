"""The 2015 zoom between key frames, the in-between frames, and the text overlay.

All images are (H, W, 3) float32 on 0..255.  A *key frame* is an optimised
image; the next key frame starts from it zoomed about its centre by
zoomspeed^(frames/fps) and rotated by 0.01 degree per frame, with
scikit-image's cubic convolution, as 2015 (zoomingstream.py:108-129; the
interpolation also blurs, which the 2015 post credits for the images'
quality).  The stream frames between two key frames are linear blends of
both, each warped bilinearly to that frame's zoom (zoomingstream.py:45-101).
"""
import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage
from skimage import transform as sktransform

from .profiles import ZOOM_CENTRES, ZOOM_DITHERS, ZOOM_KERNELS
from ..errors import UserError

# Roberts' R2 sequence (1 / g, 1 / g^2 for the plastic number g): the zoom
# shifts of ``zoom_dither="subpixel"`` cover the unit square evenly and never
# repeat, so no row or column is sampled at one phase zoom after zoom.
_PLASTIC = 1.32471795724474602596
_R2 = np.array([1.0 / _PLASTIC, 1.0 / _PLASTIC ** 2])


def warp_matrix(in_shape, out_shape, scale, degrees, centre="2015", shift=(0.0, 0.0)):
    """The 3x3 map from output (x, y) = (col, row) to input (x, y).

    Output pixel p samples the input at R (p - c_out) / scale + c_in, R the
    rotation by -``degrees`` in (x, y): 2015's
    ``tf_shift_inv + (tf_rotate + tf_shift)`` (zoomingstream.py:64-74,
    114-125).  ``centre`` (one of ZOOM_CENTRES): "2015" turns about n / 2 in
    pixel indices, as 2015's ``shape / 2.0``, half a pixel past the true
    centre, so each zoom by s > 1 moves the picture (s - 1) / 2 pixels
    towards the top left; "true" about (n - 1) / 2.
    """
    if centre not in ZOOM_CENTRES:
        raise UserError("zoom_centre must be one of %s, not %r"
                        % (", ".join(ZOOM_CENTRES), centre))
    less = 0.0 if centre == "2015" else 1.0
    theta = np.deg2rad(degrees)
    c_in = (np.array(in_shape[1::-1], float) - less) / 2.0     # (x, y)
    c_out = (np.array(out_shape[1::-1], float) - less) / 2.0
    rotate = np.array([[np.cos(theta), np.sin(theta)],
                       [-np.sin(theta), np.cos(theta)]]) / scale
    matrix = np.eye(3)
    matrix[:2, :2] = rotate
    matrix[:2, 2] = c_in - rotate.dot(c_out) + np.asarray(shift, float)
    return matrix


def warp(image, scale, degrees, out_shape=None, order=3, cval=None, kernel="cubic2015",
         centre="2015", shift=(0.0, 0.0)):
    """Zoom ``image`` about its ``centre`` by ``scale`` (>1 zooms in) and rotate it
    (:func:`warp_matrix`).

    ``order`` 1 is bilinear, 3 cubic; ``kernel`` "cubic2015" interpolates
    with scikit-image's ``warp`` (its ``_warp_fast``, in float64 as 2015's
    was: order 3 is Keys' cubic convolution with a = -1/2, taps -1/16, 9/16,
    9/16, -1/16 half-way between pixels), "bspline" with scipy's
    prefiltered B-spline of that order.  ``cval=None`` repeats the edge
    pixels (2015: mode "nearest"); a number fills outside pixels with it
    (NaN marks "no pixels here").  Returns (out_rows, out_cols, 3) float32.
    """
    if kernel not in ZOOM_KERNELS:
        raise UserError("zoom_kernel must be one of %s, not %r"
                        % (", ".join(ZOOM_KERNELS), kernel))
    out_shape = tuple(out_shape or image.shape[:2])
    matrix = warp_matrix(image.shape[:2], out_shape, scale, degrees, centre, shift)
    if kernel == "cubic2015":
        mode, fill = ("edge", 0.0) if cval is None else ("constant", cval)
        return sktransform.warp(np.asarray(image, np.float64), matrix, output_shape=out_shape,
                                order=order, mode=mode, cval=fill, clip=False,
                                preserve_range=True).astype(np.float32)
    # scipy works in (row, col): swap both axes of the (x, y) matrix
    rowcol, offset = matrix[1::-1, 1::-1], matrix[1::-1, 2]
    mode, fill = ("nearest", 0.0) if cval is None else ("constant", cval)
    out = np.empty(out_shape + (3,), np.float32)
    for ch in range(3):
        ndimage.affine_transform(image[..., ch].astype(np.float32), rowcol, offset,
                                 output_shape=out_shape, output=out[..., ch],
                                 order=order, mode=mode, cval=fill, prefilter=order > 1)
    return out


def dither(index, kind):
    """The (x, y) shift of zoom number ``index`` (0, 1, ...) for
    ``zoom_dither`` = ``kind``: none for "none"; for "subpixel", a point of
    the R2 sequence in [-0.5, 0.5)^2.

    Why: a zoom about a fixed point samples the rows and columns through it
    at the same phase every time, exactly on their pixels, so they are never
    blurred by the interpolation while every other row is; after a few dozen
    zooms the stream shows a cross of sharper lines at the zoom centre
    (docs/stream.md).  A fresh sub-pixel shift per zoom gives every row and
    column the same blur.  On the screen each zoom moves the picture by at
    most half a pixel beside the zoom itself, and these moves do not add up
    to a drift: the shifts are not carried from zoom to zoom."""
    if kind not in ZOOM_DITHERS:
        raise UserError("zoom_dither must be one of %s, not %r"
                        % (", ".join(ZOOM_DITHERS), kind))
    if kind == "none":
        return (0.0, 0.0)
    return tuple((0.5 + _R2 * (index + 1)) % 1.0 - 0.5)


def zoom(image, profile, frames=None, index=0):
    """The start of the next key frame: ``image`` zoomed by zoomspeed^(frames/fps);
    ``index`` counts the zooms of this picture, for ``profile.zoom_dither``.

    As 2015's ``zoom`` (zoomingstream.py:108-129): pixels clipped to the
    profile's range first, then cubic (``profile.zoom_kernel``) about
    ``profile.zoom_centre``, edges repeated.  The result is not clipped: the cubic kernel overshoots a
    little, and 2015 optimised that image as it was, clipping only after
    the next step (train.py:213-222), as every Dreamer's step does.
    """
    frames = profile.frames_per_key if frames is None else frames
    scale = profile.zoom_speed ** (frames / float(profile.fps))
    lo, hi = profile.clip
    return warp(np.clip(image, lo, hi), scale, profile.rotation_per_frame * frames,
                kernel=profile.zoom_kernel, centre=profile.zoom_centre,
                shift=dither(index, profile.zoom_dither))


def zoom_due(step, every):
    """Whether the 2015 schedule zooms before ``step``: steps 0, k, 2k, ...
    for k = ``every`` (``steps_per_zoom``); never when k is 0."""
    return bool(every) and step % every == 0


def zoomed_steps(dreamer, profile, steps=None):
    """The 2015 stream's schedule for any dreamer (Theano or the PyTorch port):
    ``steps`` steps (default: the profile's), zooming before steps 0, k, 2k...
    for k = ``steps_per_zoom``.  Yields (step index,) + ``dreamer.step()``.
    """
    for i in range(profile.steps if steps is None else steps):
        if zoom_due(i, profile.steps_per_zoom):
            dreamer.zoom()
        yield (i,) + dreamer.step()


def in_between(previous, following, n_frames, profile, out_shape=None):
    """The ``n_frames`` stream frames from key frame ``previous`` up to (not
    including) ``following``.

    Frame i warps ``previous`` forward by i frames and ``following`` back by
    n_frames - i, both bilinear (2015: ``_warp_fast(order=1)``), then blends
    them with weights (n - i)/n and i/n.  Where the warped ``following`` has no pixels, ``previous`` shows.
    ``out_shape`` (rows, cols) is the stream size; the frames are scaled up
    to fill it, as the 2015 stream scaled 840x472 to 1024x576.
    """
    out_shape = out_shape or previous.shape[:2]
    fit = min(out_shape[0] / previous.shape[0], out_shape[1] / previous.shape[1])
    per_frame = profile.zoom_speed ** (1.0 / profile.fps)
    degrees, centre = profile.rotation_per_frame, profile.zoom_centre
    for i in range(n_frames):
        a = warp(previous, fit * per_frame ** i, degrees * i, out_shape, order=1,
                 centre=centre)
        back = n_frames - i
        b = warp(following, fit * per_frame ** -back, -degrees * back, out_shape,
                 order=1, cval=np.nan, centre=centre)
        frame = (back * a + i * b) / float(n_frames)
        missing = np.isnan(b)
        frame[missing] = a[missing]
        yield frame


@functools.lru_cache(maxsize=4)
def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def text_box(text, font, at=(5, 5)):
    """(left, top, right, bottom) of ``text`` drawn unsmoothed (mode "1")
    with its top left at ``at``: the extent of the mask 2015 boxed
    (zoomingstream.py:18-22).  ``ImageDraw.textbbox`` measures the smoothed
    glyphs, narrower: at 12 px it cut "bee & broccoli" after "brocco"."""
    left, top, right, bottom = font.getbbox(text, mode="1")
    return left + at[0], top + at[1], right + at[0], bottom + at[1]


def overlay_text(frame, text, size=20):
    """Write ``text`` at the top left, white on a black box, as the stream did
    (zoomingstream.py:18-22, 231-242): the glyphs unsmoothed (PIL's mask
    mode "1"), their top left at (5, 5), the box one pixel larger all round.
    2015 used Helvetica.ttf at size 20, which is not ours to ship; PIL's
    default font stands in for it.  Returns a new (H, W, 3) float32 frame.
    """
    if not text:
        return frame
    image = Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing, as font.getmask(text, mode="1")
    font = _font(size)
    left, top, right, bottom = text_box(text, font)
    draw.rectangle((left - 1, top - 1, right, bottom), fill=(0, 0, 0))
    draw.text((5, 5), text, fill=(255, 255, 255), font=font)
    return np.asarray(image, np.float32)


def caption(terms, username=None):
    """The overlay's text as 2015's chat reader made it (read_the_chat.py:202-205):
    one request "@user: term", two "term & term", ``terms`` being the matched
    words, not the class descriptions."""
    terms = list(terms)[:2]
    if len(terms) == 1 and username:
        return "@%s: %s" % (username, terms[0])
    return " & ".join(terms)
