"""``python -m tonecheck.spark``: the Spark job (see :mod:`tonecheck.spark.job`)."""
import sys

from tonecheck.spark.job import main

sys.exit(main())
