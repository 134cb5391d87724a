"""Settings checked as data: a :class:`Rule` per field, beside each settings
dataclass (``lsd2015/profiles.py``, ``fourier/renderer.py``,
``deepdream/settings.py``), applied when the settings are made
(``__post_init__``), so the CLI and the library refuse the same values,
before anything is compiled: type, arity, range and finiteness.
"""
import dataclasses
import math
import numbers
from typing import Optional, Tuple

from .errors import UserError

SEED_MAX = 2 ** 32 - 1   # numpy.random.RandomState takes 0 .. 2**32 - 1


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one setting may be.

    ``kind``: int, float or str; ``n``: None a scalar, k a tuple of exactly
    k, "+" a tuple of one or more; ``low``/``high`` inclusive bounds,
    ``above``/``below`` exclusive; ``choices`` the allowed values;
    ``optional``: None allowed; ``increasing``: a tuple strictly increasing
    (a clip range); ``forbid``: values refused (the layer "input").
    """
    kind: type
    n: object = None
    low: Optional[float] = None
    high: Optional[float] = None
    above: Optional[float] = None
    below: Optional[float] = None
    choices: Optional[Tuple] = None
    optional: bool = False
    increasing: bool = False
    forbid: Tuple = ()

    def problem(self, value):
        """None if ``value`` is allowed, else what is wrong with it (text)."""
        if value is None:
            return None if self.optional else "a value is needed"
        if self.n is None:
            return self._scalar(value)
        if not isinstance(value, (tuple, list)):
            return "expected %s" % self._arity()
        if (self.n == "+" and not value) or (self.n != "+" and len(value) != self.n):
            return "expected %s, got %d" % (self._arity(), len(value))
        for item in value:
            problem = self._scalar(item)
            if problem:
                return problem
        if self.increasing and any(b <= a for a, b in zip(value, value[1:])):
            return "must increase (low, then high)"
        return None

    def _arity(self):
        return "one or more numbers" if self.n == "+" else "%d values" % self.n

    def _scalar(self, value):
        if self.kind is str:
            if not isinstance(value, str):
                return "expected text"
            if self.choices is not None and value not in self.choices:
                return "expected one of %s" % ", ".join(map(str, self.choices))
            if value in self.forbid:
                return "%r is not allowed here" % value
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return "expected a number"
        if self.kind is int and int(value) != value:
            return "expected a whole number"
        if not math.isfinite(value):
            return "must be finite"
        bounds = [(self.low, value >= (self.low if self.low is not None else 0), ">= %s"),
                  (self.above, value > (self.above if self.above is not None else 0), "> %s"),
                  (self.high, value <= (self.high if self.high is not None else 0), "<= %s"),
                  (self.below, value < (self.below if self.below is not None else 0), "< %s")]
        wrong = [text % bound for bound, ok, text in bounds if bound is not None and not ok]
        if wrong:
            return "must be %s" % " and ".join(text % bound for bound, _, text in bounds
                                               if bound is not None)
        return None


def check(settings, rules, prefix="setting"):
    """UserError naming the first field of ``settings`` that breaks its rule."""
    for name, rule in rules.items():
        value = getattr(settings, name)
        problem = rule.problem(value)
        if problem:
            raise UserError("%s %s=%s: %s" % (prefix, name, shown(value), problem))


def shown(value):
    if isinstance(value, (tuple, list)):
        return ",".join(shown(v) for v in value) or "(empty)"
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


# the rules several settings share
POSITIVE = Rule(float, above=0, high=1e9)
NON_NEGATIVE = Rule(float, low=0, high=1e9)
STEPS = Rule(int, low=1, high=10 ** 7)
MOMENT = Rule(float, low=0, below=1)
EPSILON = Rule(float, above=0, below=1)
SIZE = Rule(int, n=2, low=1, high=8192)
SCALES = Rule(int, n="+", low=1, high=4096)
CLIP = Rule(float, n=2, low=-1e4, high=1e4, increasing=True)
SEED = Rule(int, low=0, high=SEED_MAX)
