"""Batch QA: read every transcript format, check in parallel, score, report.

    from tonecheck.batch import RunOptions, load_config, run_batch
    report = run_batch(["transcripts/"], RunOptions(config=load_config(), jobs=2))
    report["summary"], report["aggregates"], report["conversations"]

The CLI front end is ``tonecheck check`` (see :mod:`tonecheck.batch.command`).
"""
from __future__ import annotations

from .config import BatchConfig, ConfigError, load_config, parse_config
from .readers import FORMATS as INPUT_FORMATS, FileRead, Speakers, read_path
from .runner import RunOptions, run_batch

__all__ = ["BatchConfig", "ConfigError", "load_config", "parse_config", "INPUT_FORMATS", "FileRead", "Speakers",
           "read_path", "RunOptions", "run_batch"]
