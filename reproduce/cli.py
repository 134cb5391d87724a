"""``python -m reproduce <command>``: one subcommand per module in ``commands/``.

Each module in ``reproduce/commands`` (but ``_options``, the argument groups
they share) defines ``register(subparsers)``, which
adds its parser and sets ``func``.  Errors a user can fix arrive as
:class:`UserError` and become one line on stderr with exit status 2.
"""
import argparse
import importlib
import os
import pkgutil
import sys
import warnings

from . import commands
from .errors import exit_status
from .fileio import interrupt_scope, stopping


class OneLineParser(argparse.ArgumentParser):
    """Argparse errors as our one ``error:`` line (exit status 2), not usage + message."""

    def error(self, message):
        print("error: %s: %s; see `%s --help`" % (self.prog, " ".join(message.split()),
                                                 self.prog), file=sys.stderr)
        sys.exit(2)


def build_parser():
    parser = OneLineParser(
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


def main(argv=None, final=None):
    """Run the command of ``argv`` (None: ``sys.argv``) -> its exit status.

    From the first line to the end of the process Ctrl-C and SIGTERM go to
    one handler (:class:`~reproduce.fileio.interrupt_scope`): both end the
    command as KeyboardInterrupt (status 130) in every phase, and once one
    has, later ones are noted, never raised.  ``final`` (default: ``argv``
    is None, i.e. the process's own entry point): they stay held after
    the return, while the interpreter exits; an in-process caller (the
    tests) gets its own handlers back."""
    final = argv is None if final is None else final
    with warnings.catch_warnings(), interrupt_scope(final=final) as scope:
        # numpy's and the libraries' warnings are not the user's business; our
        # errors are one line
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return exit_status(lambda: _run(argv, scope))


def _run(argv, scope):
    """The command; an interrupt it did not handle itself (one before its
    first step: loading, compiling) ends it with one line and status 130,
    as its own "stopped early" does.  Every file it wrote was renamed into
    place whole (``fileio.atomic_path``), so the line says what is kept."""
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
            return exc.code if isinstance(exc.code, int) else 2
        return args.func(args)
    except KeyboardInterrupt:
        stopping()  # also when no signal raised it: later ones are noted
        kept = [path for path in scope.written if os.path.exists(path)]  # not since removed
        if kept:
            print("interrupted: kept %s%s" % (
                kept[-1], " and %d files before it" % (len(kept) - 1)
                if len(kept) > 1 else ""), file=sys.stderr)
        else:
            print("interrupted before anything was made: nothing written",
                  file=sys.stderr)
        return 130
