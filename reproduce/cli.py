"""``python -m reproduce <command>``: one subcommand per module in ``commands/``.

Each module in ``reproduce/commands`` (but ``_options``, the argument groups
they share) defines ``register(subparsers)``, which
adds its parser and sets ``func``.  Errors a user can fix arrive as
:class:`UserError` and become one line on stderr with exit status 2.
"""
import argparse
import importlib
import pkgutil

from . import commands
from .errors import exit_status


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m reproduce",
        description="The 2015 hallucinating neural network, reproduced on "
                    "Theano 1.0 + Lasagne 0.1.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared options, not a command
            continue
        importlib.import_module("%s.%s" % (commands.__name__, info.name)).register(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return exit_status(lambda: args.func(args))
