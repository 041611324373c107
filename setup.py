"""Build hook for the one optional C extension (pyproject.toml holds everything else).

``tonecheck._grams`` finds the trained detector's features, ``tonecheck._gates`` decides
which rule patterns may run and ``tonecheck._fold`` does normalisation's character fold. All
are optional: without a C compiler the build skips them and
tonecheck does the same work in Python (the tests check that both paths agree).
"""
from setuptools import Extension, setup

FLAGS = ["-O2", "-ffp-contract=off"]  # no fused multiply-add: sums round as numpy rounds them

setup(ext_modules=[Extension(f"tonecheck.{name}", [f"src/tonecheck/{name}.c"], depends=["src/tonecheck/_native.h"],
                             optional=True, extra_compile_args=FLAGS)
                   for name in ("_grams", "_gates", "_fold")])
