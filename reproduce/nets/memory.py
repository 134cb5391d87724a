"""Will one forward + backward pass fit in memory?  Estimated up front, from shapes.

An image that is too large should be refused before anything is compiled
or allocated, with the estimate in the message, not die minutes later in
the kernel's out-of-memory killer.  The estimate comes from the layer
output shapes alone (``Net.output_shape``), so it costs nothing.
"""
import os
import re

import numpy as np

from ..errors import UserError

FLOAT_BYTES = 4
# Theano frees each forward output as soon as the backward pass has used
# it, so the sum of the layer outputs already bounds forward + backward
# together; the big extra is CorrMM's im2col buffer.  Measured growth of
# the peak RSS over two gradient calls on the HED VGG-16, with the backend's
# malloc settings (this module's estimate in brackets): relu4_3 at 512x512
# 0.99 GiB (1.16), at 1024x1024 3.16 GiB (4.49); relu1_2 at 1024x1024
# 3.00 GiB (3.32); relu5_3 at 768x768 1.76 GiB (2.58).  So a factor of 1 is
# conservative by 1.1-1.5x, never short.
BACKWARD_FACTOR = 1


def layers_up_to(net, layer=None):
    """Names of the layers computed to reach ``layer`` (default: the whole net)."""
    names = [n for n in net.layers if n != "input"]
    if layer is None:
        return names
    net.layer(layer)  # unknown name -> UserError listing the valid ones
    return names[:names.index(layer) + 1]


def estimate_bytes(net, rows, cols, layer=None):
    """Bytes for one forward + backward pass of a (1, 3, rows, cols) input to ``layer``.

    4 bytes x (BACKWARD_FACTOR x the sum of the layer outputs and the
    input, plus the largest im2col buffer -- Theano's CorrMM unfolds a
    conv's input into an (in/groups * kh * kw, out_rows * out_cols) matrix,
    one conv at a time; depthwise convs (reproduce.ops.depthwise) need none --
    plus the parameters, plus what the Winograd Ops keep of them).
    """
    activations, largest_col = 3 * rows * cols, 0
    for name in layers_up_to(net, layer):
        shape = net.output_shape(rows, cols, name)
        activations += int(np.prod(shape))
        spec = net.model.layer(name)
        if spec.type == "conv" and not spec.depthwise:  # depthwise: no im2col
            largest_col = max(largest_col, int(np.prod(spec.W.shape[1:]))
                              * shape[2] * shape[3])
    params = sum(s.W.size + s.b.size for s in net.model.layers if s.type == "conv")
    return FLOAT_BYTES * (BACKWARD_FACTOR * activations + largest_col + params
                          + winograd_kept(net, layer))


def winograd_kept(net, layer=None):
    """Floats the Winograd Ops keep between calls (reproduce.ops.winograd,
    one table for the process, so functions compiled on the same net share
    them): for each layer on Winograd, the forward and the input gradient
    each keep the filters' transforms (alpha^2 per filter, alpha = tile + 2)
    and a copy of the filters (9 each)."""
    kept = 0
    for name in layers_up_to(net, layer):
        tile = getattr(net.layers[name], "winograd_tile", None)
        if tile:
            kept += 2 * ((tile + 2) ** 2 + 9) * net.model.layer(name).W[:, :, 0, 0].size
    return kept


def available_bytes():
    """Memory the system can give us now: MemAvailable, else free physical pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


_UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}


def parse_bytes(text):
    """'8G', '512M', '1.5G' or a plain number of bytes -> int (binary units)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)i?B?\s*", str(text), re.I)
    if not match:
        raise UserError("--max-memory %r: give a size such as 8G, 512M or a number "
                        "of bytes" % text)
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def human(n):
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" if unit == "B" else "%.1f %s") % (n, unit)
        n /= 1024.0


def check_fits(net, rows, cols, layer=None, limit=None, what="the image"):
    """Raise UserError when a (rows, cols) input would not fit in memory.

    ``limit`` is the user's --max-memory in bytes; None means the memory
    available now (:func:`available_bytes`); where that cannot be read we
    do not refuse.  Returns the estimate in bytes.
    """
    need = estimate_bytes(net, rows, cols, layer)
    source = "--max-memory limit"
    if limit is None:
        limit, source = available_bytes(), "memory available"
    if limit is not None and need > limit:
        raise UserError(
            "%s (%dx%d) needs about %s for a pass through %s up to %s, more than "
            "the %s (%s); make it smaller (--size WxH) or set --max-memory"
            % (what, cols, rows, human(need), net.model.model_name,
               layer or net.output_name, source, human(limit)))
    return need
