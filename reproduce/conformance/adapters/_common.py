"""What every adapter shares: reading our inputs, writing its results.

Adapters run under a port's own interpreter (see ../run.py) and never
import ``reproduce``: the model arrives as a JSON layer list plus arrays.
They write one .npz: "<mode>/<stage>" arrays and a JSON "meta" with the
notes (the default behind each value, or why a stage was not computed),
the objective kind of each stage ("lsd2015" or "deepdream") and the
versions installed.

Images are (H, W, 3) RGB on 0..255, tensors (1, 3, H, W); gradients are
with respect to the 0..255 RGB pixels, as in the reference file.
"""
import json
import os
import sys

import numpy as np

MODES = ("defaults", "aligned")
# ImageNet statistics of the 0..1 RGB pixels, as torchvision and Keras
# document them: every modern port's default normalisation
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
JITTER_NOTE = ("dream.ipynb rolls the image (np.roll: what leaves one edge comes back at the "
               "other); this shifts in %s")


def read_inputs():
    """(inputs dict, output path) from the command line: IN.npz OUT.npz."""
    if len(sys.argv) != 3:
        sys.exit("usage: %s IN.npz OUT.npz" % os.path.basename(sys.argv[0]))
    with np.load(sys.argv[1], allow_pickle=False) as f:
        inputs = {k: f[k] for k in f.files}
    inputs["spec"] = json.loads(str(inputs["spec"]))
    for key in ("conv", "relu", "logit_layer"):
        inputs[key] = str(inputs[key])
    return inputs, sys.argv[2]


class Results:
    """Arrays and notes per mode, written at the end."""

    def __init__(self, versions):
        self.arrays, self.versions = {}, versions
        self.notes = {m: {} for m in MODES}
        self.kinds = {m: {} for m in MODES}

    def put(self, mode, stage, value=None, note="", kind=None):
        """Record a stage: ``value`` None means not computed (``note`` says why)."""
        if value is not None:
            value = _plain(value)
            if isinstance(value, (list, tuple)):   # octaves: one array each
                for i, v in enumerate(value):
                    self.arrays["%s/%s/%d" % (mode, stage, i)] = np.asarray(v, np.float32)
            else:
                self.arrays["%s/%s" % (mode, stage)] = np.asarray(value, np.float32)
        if note:
            self.notes[mode][stage] = note
        if kind:
            self.kinds[mode][stage] = kind

    def scored(self, mode, value, grad, note, kind):
        """The objective and gradient stages of ``mode``."""
        self.put(mode, "objective", value, note, kind)
        self.put(mode, "gradient", grad, note, kind)

    def steps(self, modes, first, forced, note, kind="lsd2015"):
        """The one-step and teacher-forced stages of ``modes`` ("defaults",
        "aligned" or "both")."""
        for mode in MODES if modes == "both" else (modes,):
            self.put(mode, "step", first, note, kind)
            self.put(mode, "forced", forced, note, kind)

    def both(self, stage, value=None, note="", kind=None):
        for mode in MODES:
            self.put(mode, stage, value, note, kind)

    def write(self, path):
        meta = json.dumps({"notes": self.notes, "kinds": self.kinds,
                           "versions": self.versions})
        tmp = path + ".part.npz"
        np.savez(tmp, meta=np.asarray(meta), **self.arrays)
        os.replace(tmp, path)


def _plain(value):
    """numpy arrays from torch or TensorFlow tensors (lists kept as lists)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach()
    return value.numpy() if hasattr(value, "numpy") else value


def version_of(distribution):
    from importlib.metadata import version
    return version(distribution)


def to_hwc(batch):
    """(1, 3, H, W) -> (H, W, 3)."""
    return np.asarray(batch)[0].transpose(1, 2, 0)


def to_nchw(image):
    """(H, W, 3) -> (1, 3, H, W) float32."""
    return np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)[None])


def layer_index(spec, name):
    return [layer["name"] for layer in spec["layers"]].index(name)


def conv_widths(spec):
    """torchvision's ``cfg`` of the feature layers: widths and "M" for pools,
    up to the first fully connected layer (fc6)."""
    cfg = []
    for layer in spec["layers"]:
        if layer["name"].startswith("fc"):
            break
        if layer["type"] == "conv":
            cfg.append(None)
        elif layer["type"] == "pool":
            cfg.append("M")
    return cfg


def our_preprocess(image, spec):
    """Our 2015 preprocessing restated for the adapters' aligned mode:
    subtract the scalar mean (2015: one number, the mean of the channel
    means), reverse the channels for BGR models, scale.  (1, 3, H, W)."""
    x = to_nchw(image) - np.float32(np.mean(spec["mean_rgb"]))
    if spec["channel_order"] == "BGR":
        x = x[:, ::-1]
    return np.ascontiguousarray(x * np.float32(spec["scale"]))
