"""A PySpark daemon that loads the lexicons before it forks its Python workers.

Set ``spark.python.daemon.module=tonecheck.spark_daemon`` (the ``python -m tonecheck.spark``
job does in local mode): every Python worker then starts with the default checker already
built, instead of spending a second or more building its own, and the workers of one
executor share its memory pages until they write to them. It lives outside
``tonecheck.spark`` on purpose: that package imports pandas and pyarrow, which start threads,
and nothing may start a thread before the daemon forks.
"""
import os

# One BLAS thread per worker (Spark runs one worker per core), and none started before the fork.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pyspark import daemon  # noqa: E402

import tonecheck  # noqa: E402

tonecheck.default_checker()

if __name__ == "__main__":
    daemon.manager()
