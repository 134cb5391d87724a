"""CLI subcommands: each module here defines ``register(subparsers)``.

Modules import Theano lazily (inside their ``func``), so ``--help`` is fast.
"""
