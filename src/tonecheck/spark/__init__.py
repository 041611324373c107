"""tonecheck on Apache Spark: check a day of calls where the transcripts already live.

    from tonecheck import spark as tcs
    turns = tcs.check_conversations(df, conversation="call_id", order="seq", speaker="role", text="content",
                                    agent_id="agent_no", call_start="started_at", config="tonecheck.toml")
    turns.write.parquet("qa/turns")                       # then read it back for the summaries
    calls = tcs.score_calls(spark.read.parquet("qa/turns"), config="tonecheck.toml")
    tcs.agent_summary(calls), tcs.rule_summary(calls), tcs.contact_table(calls)

Needs ``pip install 'tonecheck[spark]'`` (pyspark, pandas, pyarrow) on the driver and the
executors. The job for ``spark-submit`` / ``python -m tonecheck.spark`` is :mod:`tonecheck.spark.job`;
docs/spark.md has the cluster recipes.
"""
from __future__ import annotations

try:
    import pyspark  # noqa: F401
    import pyarrow  # noqa: F401
    import pandas  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"tonecheck.spark needs the spark extra ({exc.name} is missing): "
                      "pip install 'tonecheck[spark]'") from None

from .frames import (
    MAX_TURNS, agent_summary, as_config, check_conversations, check_utterances, contact_table, explode_findings,
    rule_summary, run_summary, score_calls,
)
from .schema import call_finding_struct, finding_struct, struct_from_model

__all__ = ["check_utterances", "check_conversations", "score_calls", "agent_summary", "rule_summary",
           "contact_table", "explode_findings", "run_summary", "finding_struct", "call_finding_struct",
           "struct_from_model", "as_config", "MAX_TURNS"]
