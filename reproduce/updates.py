"""Update rules for the image: the 2015 rule as written, and standard Adam.

Each rule owns its state (shared moments and step counter) so the render
loop can reset it at every zoom, as the 2015 stream did.  ``updates``
returns Theano update pairs; the new pixels are clipped inside the same
compiled step, so no host copy is needed between steps.  The formulas
are plain arithmetic, shared with the PyTorch port; Theano is imported only
by the Theano rules (through ``backend``).
"""
import numpy as np

from .errors import UserError


class Moments:
    """First and second moment estimates of one parameter, the step count t,
    and the rule's ``formula`` (:func:`adam2015_moments` or :func:`adam_moments`)."""

    def __init__(self, param, formula, beta1, beta2, epsilon):
        from .backend import floatX, theano
        self.param, self.formula = param, formula
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        shape = param.get_value(borrow=True).shape
        self.m = theano.shared(np.zeros(shape, floatX), name="m")
        self.v = theano.shared(np.zeros(shape, floatX), name="v")
        self.t = theano.shared(np.int64(1), name="t")  # the step being taken

    def reset(self):
        """Zero both moments and start counting at t = 1 again (shapes follow the param)."""
        from .backend import floatX
        shape = self.param.get_value(borrow=True).shape
        self.m.set_value(np.zeros(shape, floatX))
        self.v.set_value(np.zeros(shape, floatX))
        self.t.set_value(np.int64(1))

    def updates(self, grad, learning_rate, clip=None):
        from .backend import T, floatX
        m, v, mhat, vhat = self.formula(grad, self.m, self.v, self.t.astype(floatX),
                                        self.beta1, self.beta2)
        new = self.param - learning_rate * mhat / (T.sqrt(vhat) + self.epsilon)
        if clip is not None:
            new = T.clip(new, clip[0], clip[1])
        return [(self.m, m), (self.v, v), (self.t, self.t + 1), (self.param, new)]


def adam2015_moments(g, m, v, t, beta1, beta2):
    """The update of the 2015 code (``models/default.py``), reproduced as written.

    m <- b1*g + (1-b1)*m,  v <- b2*g^2 + (1-b2)*v,
    mhat = m / (1-(1-b1)^t),  vhat = v / (1-(1-b2)^t),  t counted from 1;
    the step is then x <- x - lr*mhat / (sqrt(vhat) + eps).

    Not the published Adam: the weights of the moving averages are swapped,
    so each step leans on the newest gradient (b1 = 0.9 keeps 90% of it).
    Plain arithmetic: Theano and torch tensors alike.  Returns (m, v, mhat, vhat).
    """
    m = beta1 * g + (1 - beta1) * m
    v = beta2 * g * g + (1 - beta2) * v
    return m, v, m / (1 - (1 - beta1) ** t), v / (1 - (1 - beta2) ** t)


def adam_moments(g, m, v, t, beta1, beta2):
    """Adam as published (Kingma & Ba 2015): the modern choice beside the 2015 rule."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return m, v, m / (1 - beta1 ** t), v / (1 - beta2 ** t)


FORMULAS = {"adam2015": adam2015_moments, "adam": adam_moments}


def formula(name):
    """The moment formula of the rule called ``name``."""
    if name not in FORMULAS:
        raise UserError("unknown update rule %r; choose one of: %s"
                        % (name, ", ".join(FORMULAS)))
    return FORMULAS[name]


def make_rule(name, param, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """The rule called ``name`` ("adam2015" or "adam") on a Theano shared image."""
    return Moments(param, formula(name), beta1, beta2, epsilon)
