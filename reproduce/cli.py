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

from . import blas, commands, paths
from .errors import UserError, exit_status
from .fileio import interrupt_scope, stopping

# Optional packages (pyproject's extras) -> paths.how_to_make's key for installing them
NOTHING_MADE = "interrupted before anything was made: nothing written"
OPTIONAL_PACKAGES = {"torch": "torch", "dask": "atlas", "distributed": "atlas"}


class OneLineParser(argparse.ArgumentParser):
    """Argparse errors as our one ``error:`` line (exit status 2), not usage + message."""

    def error(self, message):
        print("error: %s: %s; see `%s --help`" % (self.prog, " ".join(message.split()),
                                                 self.prog), file=sys.stderr)
        sys.exit(2)


def program_name(argv0=None):
    """What the user typed to run us, for the usage line and the error hints:
    ``reproduce`` for the console script, ``python -m reproduce`` for the module."""
    base = os.path.basename(argv0 if argv0 is not None else sys.argv[0])
    return "python -m reproduce" if base in ("__main__.py", "", "-c") else base


def build_parser(prog=None):
    parser = OneLineParser(
        prog=prog or program_name(),
        description="The 2015 hallucinating neural network, reproduced on "
                    "Theano 1.0 + Lasagne 0.1.")
    parser.add_argument("--verbose", action="store_true",
                        help="say first which BLAS kernels this run uses and why")
    parser.add_argument("--version", action="version",
                        version="%(prog)s " + version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared options, not a command
            continue
        importlib.import_module("%s.%s" % (commands.__name__, info.name)).register(sub)
    return parser


def version():
    """The installed distribution's version; a bare checkout says so."""
    from importlib import metadata
    try:
        return metadata.version(paths.DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "(not installed: run `make setup` or `pip install .`)"


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
    with interrupt_scope(final=final) as scope:
        try:
            status = exit_status(lambda: _main(argv, scope), NOTHING_MADE)
            sys.stdout.flush()  # a reader that went away shows here, not at exit
            return status
        except BrokenPipeError:
            return _reader_went_away()


def _main(argv, scope):
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error (2, already printed)
        return exc.code if isinstance(exc.code, int) else 2
    bad_core = blas.check_override()
    if bad_core:
        print("error: %s" % bad_core, file=sys.stderr)
        return 2
    if args.verbose:
        print(blas.describe(), file=sys.stderr)
    with warnings.catch_warnings():
        # numpy's and the libraries' warnings are not the user's business; our
        # errors are one line
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _run(args, scope)


def _reader_went_away():
    """The reader of our output left (``reproduce classify --json | head``):
    no traceback, and none again when Python flushes stdout at exit; the
    status a shell gives a process that SIGPIPE ended (128 + 13)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (a test's capture)
        pass
    return 141


def _run(args, scope):
    """The command; an interrupt it did not handle itself (one before its
    first step: loading, compiling) ends it with one line and status 130,
    as its own "stopped early" does.  Every file it wrote was renamed into
    place whole (``fileio.atomic_path``), so the line says what is kept."""
    try:
        return args.func(args)
    except ModuleNotFoundError as exc:
        extra = OPTIONAL_PACKAGES.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        raise UserError("`%s %s` needs %s, which is not installed; run %s" % (
            program_name(), args.command, exc.name.partition(".")[0],
            paths.how_to_make(extra)))
    except KeyboardInterrupt:
        stopping()  # also when no signal raised it: later ones are noted
        kept = [path for path in scope.written if os.path.exists(path)]  # not since removed
        if kept:
            print("interrupted: kept %s%s" % (
                kept[-1], " and %d files before it" % (len(kept) - 1)
                if len(kept) > 1 else ""), file=sys.stderr)
        else:
            print(NOTHING_MADE, file=sys.stderr)
        return 130
