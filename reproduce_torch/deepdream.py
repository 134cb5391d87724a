"""DeepDream's compiled parts on the torch backend: the twins of
:func:`reproduce.deepdream.dream.compile_gradient`,
:func:`~reproduce.deepdream.dream.compile_features` and
:func:`reproduce.objectives.guide`.

Each "compiled" function takes and gives numpy arrays, as Theano's do, so
the octaves, the jitter, the sweep, the zoom loop and the video drive either
backend unchanged (:mod:`reproduce.deepdream.dream`).
"""
import numpy as np
import torch

from reproduce.objectives import Objective

from .nets import preprocess


def _pixels(net, pixels, grad=False):
    x = torch.as_tensor(np.ascontiguousarray(pixels, np.float32), device=net.device)
    return x.requires_grad_(grad)


def compile_gradient(net, objective, mean="channel"):
    """f(pixels (1, 3, H, W) float32) -> [score, d score / d pixels (1, 3, H, W)]."""
    def f(pixels):
        x = _pixels(net, pixels, grad=True)
        score = objective(net.activations(preprocess(x, net.model, mean)))
        grad, = torch.autograd.grad(score, x)
        return np.float32(score.detach().cpu()), grad.cpu().numpy()
    return f


def compile_features(net, layer, mean="channel"):
    """f(pixels (1, 3, H, W)) -> ``layer``'s activations, (channels, positions)."""
    @torch.no_grad()
    def f(pixels):
        acts = net.activations(preprocess(_pixels(net, pixels), net.model, mean))
        return acts(layer)[0].flatten(1).cpu().numpy()
    return f


def guide(layer, features):
    """:func:`reproduce.objectives.guide` on torch tensors: each position of
    ``layer`` matched with the most similar of ``features`` (channels, n)."""
    kept = {}

    def fn(a):
        x = a(layer)[0].flatten(1)                       # (channels, positions)
        if x.device not in kept:
            kept[x.device] = torch.as_tensor(np.asarray(features, np.float32),
                                             device=x.device)
        f = kept[x.device]
        best = f[:, (x.T @ f).argmax(dim=1)]             # (channels, positions)
        return (x * best).sum() / x.shape[1]
    return Objective(fn, "guide(%s)" % layer)
