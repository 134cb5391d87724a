"""Several class pictures in one batch: the 2015 step on N images at once.

The 2015 loss has no term that couples two images: the net sees each image
alone (no batch statistics in our nets), the prior is a mean over one
image's windows, and both update rules work pixel by pixel.  So the loss of
a batch is the sum of its images' losses, its gradient is each image's own
gradient, and a batch of N classes gives the N pictures that N single runs
give -- in one forward and backward pass, which is what fills a GPU.
"""
import numpy as np
import torch

from reproduce.lsd2015 import frames
from reproduce.objectives import Objective, rows

from .render import Dreamer


def batch_lsd2015(targets, layer="fc8"):
    """Sum over the batch of the 2015 objective, each image with its own
    classes: ``targets()`` gives an (N, 2) long tensor of (lower, upper)
    classes.  For N = 1 it is :func:`reproduce.objectives.lsd2015`."""
    def fn(acts):
        x = acts(layer)                                   # (N, K, rows, cols)
        t = targets()
        items = torch.arange(x.shape[0], device=x.device)
        lower = rows(x, "lower")[items, t[:, 0]].mean(dim=(1, 2))
        upper = rows(x, "upper")[items, t[:, 1]].mean(dim=(1, 2))
        return (lower + upper - x.mean(dim=(1, 2, 3))).sum()
    return Objective(fn, "sum over the batch of lsd2015(targets)")


class BatchDreamer(Dreamer):
    """:class:`reproduce_torch.render.Dreamer` on a batch: ``set_images`` and
    ``get_images`` take and give N images, ``set_classes`` N classes (or N
    (lower, upper) pairs); ``run`` and ``step`` are the Dreamer's, and the
    2015 zoom acts on every image."""

    def __init__(self, net, profile, prior=None):
        self.batch_targets = torch.zeros((1, 2), dtype=torch.long)
        super().__init__(net, profile, prior,
                         objective=batch_lsd2015(lambda: self.batch_targets,
                                                 profile.layer))

    def set_images(self, images):
        """Start from ``images``, N arrays (H, W, 3) on 0..255 of one size."""
        self.set_image(images[0])  # the size checks
        self._assign(np.stack(images))

    def get_images(self):
        """The current images, (N, H, W, 3) float32 on 0..255 (a copy)."""
        return self.image.permute(0, 2, 3, 1).cpu().numpy().copy()

    def set_classes(self, lower, upper=None):
        """Image i aims its lower half at ``lower[i]`` and its upper half at
        ``upper[i]`` (default: the same class)."""
        lower = [int(c) for c in np.atleast_1d(lower)]
        upper = lower if upper is None else [int(c) for c in np.atleast_1d(upper)]
        self.batch_targets = torch.as_tensor(np.stack([lower, upper], axis=1),
                                             dtype=torch.long, device=self.device)

    def zoom(self, frames_ahead=None):
        """The 2015 zoom on every image of the batch; the moments restart."""
        self._assign(np.stack([frames.zoom(image, self.profile, frames_ahead, self.zooms)
                               for image in self.get_images()]))
        self.zooms += 1
