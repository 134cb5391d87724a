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
import signal
import sys
import threading
import warnings

from . import blas, commands, paths
from .errors import UserError, exit_status
from .fileio import interrupt_scope

# Optional packages (pyproject's extras) -> paths.how_to_make's key for installing them
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


def main(argv=None):
    try:
        status = _main(argv)
        sys.stdout.flush()  # a reader that went away shows here, not at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()


def _main(argv):
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
    with warnings.catch_warnings(), terminate_as_interrupt() as scope:
        # numpy's and the libraries' warnings are not the user's business; our
        # errors are one line
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return exit_status(lambda: _run(args, scope))


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
        kept = [path for path in scope.written if os.path.exists(path)]  # not since removed
        if kept:
            print("interrupted: kept %s%s" % (
                kept[-1], " and %d files before it" % (len(kept) - 1)
                if len(kept) > 1 else ""), file=sys.stderr)
        else:
            print("interrupted before anything was made: nothing written",
                  file=sys.stderr)
        return 130


class terminate_as_interrupt(interrupt_scope):
    """SIGTERM (kill, timeout, systemd, docker) ends a command the way Ctrl-C
    does: as KeyboardInterrupt, in every phase (loading, compiling, the
    steps, the save), so that every command keeps what it made; the exit
    status is 130 for both.  Also the command's :class:`~reproduce.fileio.
    interrupt_scope`."""

    def __enter__(self):
        super().__enter__()
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _interrupt)
        return self

    def __exit__(self, *exc):
        super().__exit__(*exc)  # restores what a stopping hold replaced
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


def _interrupt(signum, frame):
    raise KeyboardInterrupt
