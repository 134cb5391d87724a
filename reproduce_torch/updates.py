"""The 2015 update rule as written, and standard Adam, on a torch image.

Same formulas, defaults and state as :mod:`reproduce.updates`: each rule owns
its moments m, v and the step count t (counted from 1), and ``reset()``
restarts them, as the 2015 stream did at every zoom.  Steps run in place,
on the image's device, with no host copy.
"""
import torch

from reproduce.updates import formula


class Moments:
    """First and second moment estimates of one parameter, the step count t,
    and the rule's ``formula`` (from :mod:`reproduce.updates`)."""

    def __init__(self, param, formula, beta1, beta2, epsilon):
        self.param, self.formula = param, formula
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.reset()

    def reset(self):
        """Zero both moments and count from t = 1 again (shapes follow the param)."""
        self.m = torch.zeros_like(self.param)
        self.v = torch.zeros_like(self.param)
        self.t = 1

    @torch.no_grad()
    def apply(self, grad, learning_rate, clip=None):
        """param <- clip(param - lr * mhat / (sqrt(vhat) + eps)); t <- t + 1."""
        self.m, self.v, mhat, vhat = self.formula(grad, self.m, self.v, self.t,
                                                  self.beta1, self.beta2)
        self.param -= learning_rate * mhat / (torch.sqrt(vhat) + self.epsilon)
        if clip is not None:
            self.param.clamp_(clip[0], clip[1])
        self.t += 1


def make_rule(name, param, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """The rule called ``name`` ("adam2015" or "adam") on a torch image."""
    return Moments(param, formula(name), beta1, beta2, epsilon)
