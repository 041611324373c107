"""Build hook for the one optional C extension (pyproject.toml holds everything else).

``tonecheck._grams`` speeds up the trained detector's features. It is optional: without a C
compiler the build skips it and tonecheck computes the same features in Python.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("tonecheck._grams", ["src/tonecheck/_grams.c"], optional=True,
                             extra_compile_args=["-O2", "-ffp-contract=off"])])
