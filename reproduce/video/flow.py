"""Optical flow between two frames (OpenCV), and the backward warp it drives.

A flow here is *backward*: for each pixel p of the new frame, ``flow[p]`` =
(dx, dy) such that the new frame at p shows what the previous frame showed
at p + flow[p].  Warping the previous dream by it (:func:`warp`) puts the
dream where the picture went.  (DeepDreamAnim and DeepDreamVideoOpticalFlow
computed the forward flow and negated it, which is right only where the
flow is smooth; asking OpenCV for the backward flow costs the same.)

Methods: ``farneback`` (Farnebäck 2003, ``cv2.calcOpticalFlowFarneback``,
the Caffe-era video tools' choice), ``dis`` (Kroeger et al. 2016, OpenCV's
dense inverse search, medium preset) and ``none`` (zero flow: the previous
dream stays where it was).
"""
import numpy as np

from ..errors import UserError

# The parameters of OpenCV's own dense-flow example (samples/python/opt_flow.py):
# a 3-level pyramid halving each time, 15-pixel windows, 3 iterations,
# polynomial expansion over 5x5 neighbourhoods with sigma 1.2.
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                 poly_sigma=1.2, flags=0)
FLOW_METHODS = ("farneback", "dis", "none")


def gray(frame):
    """(H, W, 3) RGB on 0..255 -> (H, W) uint8 luma, what OpenCV's flows take."""
    import cv2
    return cv2.cvtColor(np.clip(np.round(frame), 0, 255).astype(np.uint8),
                        cv2.COLOR_RGB2GRAY)


def backward_flow(new, previous, method="farneback"):
    """(H, W, 2) float32 flow from frame ``new`` back to ``previous``
    (both (H, W, 3) RGB): new[p] ~ previous[p + flow[p]]."""
    import cv2
    if method not in FLOW_METHODS:
        raise UserError("unknown flow method %r; choose one of: %s"
                        % (method, ", ".join(FLOW_METHODS)))
    if new.shape != previous.shape:
        raise ValueError("frames differ in size: %s and %s" % (new.shape, previous.shape))
    if method == "none":
        return np.zeros(new.shape[:2] + (2,), np.float32)
    a, b = gray(new), gray(previous)
    if method == "dis":
        return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(a, b, None)
    return cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK)


def warp(image, flow):
    """``image`` (H, W, C) sampled at p + flow[p] for each pixel p: bilinear,
    edge pixels repeated where the flow points outside.  -> float32."""
    import cv2
    rows, cols = flow.shape[:2]
    grid = np.mgrid[0:rows, 0:cols].astype(np.float32)
    map_x = grid[1] + flow[..., 0]
    map_y = grid[0] + flow[..., 1]
    return cv2.remap(np.asarray(image, np.float32), map_x, map_y, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


# --------------------------------------------------------------- coherence

def frame_change(frames):
    """Mean |frame[t] - frame[t-1]| over pixels and consecutive pairs, on 0..255:
    how much a film changes from frame to frame (motion and flicker together)."""
    frames = [np.asarray(f, np.float32) for f in frames]
    if len(frames) < 2:
        return 0.0
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]))


def compensated_change(frames, inputs, method="farneback"):
    """Mean |frame[t] - warp(frame[t-1], flow of the inputs)|: the change the
    input's own motion does not explain, i.e. the flicker."""
    frames = [np.asarray(f, np.float32) for f in frames]
    changes = [np.abs(frames[t] - warp(frames[t - 1],
                                       backward_flow(inputs[t], inputs[t - 1], method))).mean()
               for t in range(1, len(frames))]
    return float(np.mean(changes)) if changes else 0.0
