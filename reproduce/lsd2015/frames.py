"""The 2015 zoom between key frames, the in-between frames, and the text overlay.

All images are (H, W, 3) float32 on 0..255.  A *key frame* is an optimised
image; the next key frame starts from it zoomed about its centre by
zoomspeed^(frames/fps) and rotated by 0.01 degree per frame, with cubic
interpolation (the interpolation also blurs, which the 2015 post credits
for the images' quality).  The stream frames between two key frames are
linear blends of both, each warped to that frame's zoom.
"""
import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage


def warp(image, scale, degrees, out_shape=None, order=3, cval=None):
    """Zoom ``image`` about its centre by ``scale`` (>1 zooms in) and rotate it.

    Output pixel p samples the input at R (p - c_out) / scale + c_in.
    ``cval=None`` repeats the edge pixels (2015: mode "nearest"); a number
    fills outside pixels with it (NaN marks "no pixels here").
    Returns (out_rows, out_cols, 3) float32.
    """
    rows, cols = image.shape[:2]
    out_shape = out_shape or (rows, cols)
    theta = np.deg2rad(degrees)
    # Output (row, col) offsets -> input offsets: the 2015 code's similarity
    # transform with rotation -degrees in (x, y), written in (row, col).
    matrix = np.array([[np.cos(theta), -np.sin(theta)],
                       [np.sin(theta), np.cos(theta)]]) / scale
    # The true centre, (n - 1) / 2 in pixel indices.  The 2015 code used n / 2,
    # half a pixel off, which drifts the picture a little at every zoom.
    c_in = (np.array([rows, cols], float) - 1) / 2.0
    c_out = (np.array(out_shape, float) - 1) / 2.0
    offset = c_in - matrix.dot(c_out)
    mode, fill = ("nearest", 0.0) if cval is None else ("constant", cval)
    out = np.empty(tuple(out_shape) + (3,), np.float32)
    for ch in range(3):
        ndimage.affine_transform(image[..., ch].astype(np.float32), matrix, offset,
                                 output_shape=tuple(out_shape), output=out[..., ch],
                                 order=order, mode=mode, cval=fill, prefilter=order > 1)
    return out


def zoom(image, profile, frames=None):
    """The start of the next key frame: ``image`` zoomed by zoomspeed^(frames/fps).

    Cubic, edges repeated, pixels clipped to the profile's range first (2015).
    """
    frames = profile.frames_per_key if frames is None else frames
    scale = profile.zoom_speed ** (frames / float(profile.fps))
    lo, hi = profile.clip
    return np.clip(warp(np.clip(image, lo, hi), scale, profile.rotation_per_frame * frames),
                   lo, hi)


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
    n_frames - i, both bilinear, then blends them with weights (n - i)/n and
    i/n.  Where the warped ``following`` has no pixels, ``previous`` shows.
    ``out_shape`` (rows, cols) is the stream size; the frames are scaled up
    to fill it, as the 2015 stream scaled 840x472 to 1024x576.
    """
    out_shape = out_shape or previous.shape[:2]
    fit = min(out_shape[0] / previous.shape[0], out_shape[1] / previous.shape[1])
    per_frame = profile.zoom_speed ** (1.0 / profile.fps)
    degrees = profile.rotation_per_frame
    for i in range(n_frames):
        a = warp(previous, fit * per_frame ** i, degrees * i, out_shape, order=1)
        back = n_frames - i
        b = warp(following, fit * per_frame ** -back, -degrees * back, out_shape,
                 order=1, cval=np.nan)
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


def overlay_text(frame, text, size=20):
    """Write ``text`` at the top left, white on a black box, as the stream did."""
    if not text:
        return frame
    image = Image.fromarray(np.clip(frame, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font = _font(size)
    left, top, right, bottom = draw.textbbox((5, 5), text, font=font)
    draw.rectangle((left - 2, top - 2, right + 2, bottom + 2), fill=(0, 0, 0))
    draw.text((5, 5), text, fill=(255, 255, 255), font=font)
    return np.asarray(image, np.float32)
