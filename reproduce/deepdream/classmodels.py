"""Two more ways to ask a net what it sees, beside the 2015 recipe and DeepDream.

* :func:`simonyan` -- Simonyan, Vedaldi & Zisserman (2014), "Deep inside
  convolutional networks", class model visualisation: find x maximising
  S_c(x) - lambda * ||x||^2, where S_c is class c's logit, by gradient
  ascent in the network's *preprocessed* input space, starting from the
  zero image (the mean image, once the mean is added back).
* :func:`least_squares` -- the formulation of the Q&A thread in
  ``shared/seeds/003``: "pick a layer and enhance it" as
  min_x ||a(x) - k a(x0)||^2 / ||k a(x0)||^2 + mu * R(x), where a is the
  layer's activations, x0 the start photo, k > 1 the exaggeration, and R a
  natural-image regulariser (total variation, or this project's 2015
  patch prior), solved with scipy's L-BFGS-B with the pixels bounded to
  0..255 and one compiled loss + gradient function.

Images are (H, W, 3) RGB on 0..255 at the edges of this module.
"""
import numpy as np

from ..backend import T, theano
from .dream import activations
from .settings import (REGULARISERS, LeastSquaresSettings,  # noqa: F401
                             SimonyanSettings)
from ..errors import UserError
from ..loop import Loop, Result
from ..nets.build import deprocess, from_batch, to_batch
from ..objectives import class_logit


# --------------------------------------------------------------- Simonyan et al.

def compile_class_gradient(net):
    """f(x (1, 3, H, W) preprocessed, class, l2) -> [S_c - l2 ||x||^2, S_c, d(first)/dx].

    S_c is the mean logit of class ``class`` over the logit map.  The class
    and l2 are inputs, so one compile serves every class and lambda.
    """
    x, c, l2 = T.tensor4("x"), T.iscalar("class"), T.fscalar("l2")
    score = class_logit(c, net.output_name)(net.activations(x))
    objective = score - l2 * T.sqr(x).sum()
    return theano.function([x, c, l2], [objective, score, T.grad(objective, x)])


def simonyan(net, index, settings=SimonyanSettings(), progress=True, gradient=None):
    """Class model of class ``index`` -> :class:`reproduce.loop.Result` (its
    image RGB on 0..255, not yet clipped).

    history: (S_c - l2 ||x||^2, S_c) before each step.  Ctrl-C keeps the
    current image.  ``gradient``: one from :func:`compile_class_gradient`,
    to reuse across classes (default: compiled here).
    """
    width, height = settings.size or net.model.image_shape[::-1]
    gradient = gradient or compile_class_gradient(net)
    x = np.zeros((1, 3, height, width), np.float32)
    history = []
    with Loop(settings.steps, "class %d" % index, progress) as loop:
        for _ in range(settings.steps):
            objective, score, g = gradient(x, np.int32(index), np.float32(settings.l2))
            history.append((float(objective), float(score)))
            x = x + np.float32(settings.learning_rate) * g
            loop.tick(logit="%.3f" % score)
    image = from_batch(deprocess(x, net.model)).astype(np.float32)
    return Result(image, len(history), loop.seconds, loop.interrupted, history)


# --------------------------------------------------------------- least squares

def total_variation(pixels):
    """Mean isotropic total variation of (1, 3, H, W) pixels, in units of 255.

    sqrt(dx^2 + dy^2 + eps) per pixel and channel: the L1 norm of the
    gradient, which keeps edges but removes the high-frequency noise an
    unregularised least-squares fit makes.
    """
    x = pixels / np.float32(255)
    dx = x[:, :, :-1, 1:] - x[:, :, :-1, :-1]
    dy = x[:, :, 1:, :-1] - x[:, :, :-1, :-1]
    return T.sqrt(T.sqr(dx) + T.sqr(dy) + np.float32(1e-8)).mean()


def regulariser_energy(pixels, settings, shape, prior=None):
    """R(pixels) for ``settings.regulariser``; ``shape`` = (H, W), static."""
    if settings.regulariser == "tv":
        return total_variation(pixels)
    if settings.regulariser == "prior":
        if prior is None:
            raise UserError("the prior regulariser needs a prior (--prior FILE)")
        from ..prior.energy import prior_energy
        return prior_energy(pixels, prior, settings.prior_scales, shape)[0]
    raise UserError("unknown regulariser %r; choose one of: %s"
                    % (settings.regulariser, ", ".join(REGULARISERS)))


def compile_least_squares(net, settings, shape, prior=None):
    """f(pixels (1, 3, H, W), target (1, C, h, w)) -> [loss, match, R, d loss/d pixels].

    match = ||a(pixels) - target||^2 / ||target||^2 at ``settings.layer``;
    loss = match + weight * R.  The target is an input, so one compile
    serves any start image of this ``shape``.
    """
    pixels, target = T.tensor4("pixels"), T.tensor4("target")
    a = activations(net, pixels)(settings.layer)
    match = T.sqr(a - target).sum() / (T.sqr(target).sum() + np.float32(1e-12))
    reg = regulariser_energy(pixels, settings, shape, prior)
    loss = match + np.float32(settings.weight) * reg
    return theano.function([pixels, target], [loss, match, reg, T.grad(loss, pixels)])


def compile_layer(net, layer):
    """f(pixels (1, 3, H, W)) -> the layer's activations (1, C, h, w)."""
    pixels = T.tensor4("pixels")
    return theano.function([pixels], activations(net, pixels)(layer))


def least_squares(net, start, settings, prior=None, progress=True):
    """Enhance ``settings.layer`` in ``start`` (H, W, 3) -> :class:`reproduce.loop.Result`
    (steps: function evaluations).

    history: (loss, match, R) at each function evaluation.  The result is
    the best image evaluated (Ctrl-C keeps it too).
    """
    from scipy.optimize import Bounds, minimize

    start = np.asarray(start, np.float32)
    batch = to_batch(start)
    target = np.float32(settings.k) * compile_layer(net, settings.layer)(batch)
    f = compile_least_squares(net, settings, start.shape[:2], prior)
    history, best = [], {"loss": np.inf, "x": batch.ravel().astype(np.float64)}

    def fun(v):
        loss, match, reg, g = f(v.reshape(batch.shape).astype(np.float32), target)
        history.append((float(loss), float(match), float(reg)))
        if loss < best["loss"]:
            best.update(loss=float(loss), x=v.copy())
        return float(loss), g.ravel().astype(np.float64)

    with Loop(settings.iterations, "L-BFGS %s" % settings.layer, progress,
              unit="iter") as loop:
        minimize(fun, best["x"].copy(), jac=True, method="L-BFGS-B",
                 bounds=Bounds(0.0, 255.0),
                 callback=lambda _: loop.tick(loss="%.4f" % best["loss"]),
                 options={"maxiter": settings.iterations, "gtol": 0.0, "ftol": 0.0})
    image = from_batch(best["x"].reshape(batch.shape)).astype(np.float32)
    return Result(image, len(history), loop.seconds, loop.interrupted, history)
