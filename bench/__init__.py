"""Benchmarks: ``python -m bench [SECTION ...]`` (``make bench``) runs them all.

Each section is a module of this package with ``main(argv=None)``; list it
in ``SECTIONS`` (in ``__main__``) to include it in ``make bench``.
"""
import reproduce  # noqa: F401,E402  (first: it chooses the BLAS kernels before numpy loads)
