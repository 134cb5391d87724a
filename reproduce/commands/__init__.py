"""CLI subcommands: each module here defines ``register(subparsers)``, parses
its options into values (a job, settings) and calls the library.  No command
imports another; the option groups they share are in ``_options`` (not a
command).

Modules import Theano lazily (inside their ``func``), so ``--help`` is fast.
"""
