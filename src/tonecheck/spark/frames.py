"""The DataFrame functions: plans that run :mod:`tonecheck.spark.worker` on the executors.

Everything is vectorised with Arrow: ``mapInPandas`` over single rows, and over rows gathered and
sorted by conversation or by contact (handed to Python per Arrow batch); ``applyInPandas`` for the
few, small agent and rule groups; Spark SQL where no tonecheck logic is involved. There is no
row-at-a-time UDF. Nothing runs until an action (a write, a count): these functions build plans.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..batch.config import BatchConfig, load_config
from . import worker as W
from .schema import call_finding_struct, finding_struct

MAX_TURNS = 20_000
"""Rows per conversation above which a conversation is not checked (its rows become ``error`` rows
without being gathered on one executor): ten times the HTTP service's limit, far above a real call,
low enough that a wrong conversation-id mapping cannot put a whole table into one pandas frame."""

_ROLE = "tonecheck"            # column metadata marking the conversation column in our outputs


def as_config(config: BatchConfig | str | Path | None) -> BatchConfig:
    """A BatchConfig from a config object, a tonecheck.toml path, or None (the defaults)."""
    if config is None:
        return BatchConfig()
    if isinstance(config, BatchConfig):
        return config
    return load_config(config)


def _partitions(df: DataFrame, partitions: int | None) -> int:
    if partitions is not None:
        if partitions < 1:
            raise ValueError("partitions must be at least 1")
        return partitions
    try:        # three tasks per core keeps every core busy while a few long conversations finish
        return max(2, 3 * df.sparkSession.sparkContext.defaultParallelism)
    except Exception:       # Spark Connect has no SparkContext on the client
        return int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)


def _column(df: DataFrame, name: str | Column | None, what: str) -> Column | None:
    if name is None or isinstance(name, Column):
        return name
    if name not in df.columns:
        raise ValueError(f"{what}: no column {name!r} in the input (columns: {', '.join(df.columns)})")
    return F.col(f"`{name}`")


def _as_string(df: DataFrame, name: str | Column | None, what: str) -> Column | None:
    c = _column(df, name, what)
    return None if c is None else c.cast("string")


def _call_start(df: DataFrame, name: str | Column | None) -> Column | None:
    """call_start as text the contact policy parses: a TIMESTAMP (an instant) with its offset, so the
    configured utc_offset decides the local hour whatever the session time zone; other types as text."""
    c = _column(df, name, "call_start")
    if c is None:
        return None
    if isinstance(name, str):
        kind = df.schema[name].dataType
        if isinstance(kind, T.TimestampType):
            return F.date_format(c, "yyyy-MM-dd'T'HH:mm:ssXXX")
        if isinstance(kind, T.TimestampNTZType):
            return F.date_format(c, "yyyy-MM-dd HH:mm:ss")
    return c.cast("string")


def _keep(df: DataFrame, keep: Iterable[str], taken: Iterable[str]) -> tuple[str, ...]:
    keep = tuple(dict.fromkeys(keep))
    for k in keep:
        if k not in df.columns:
            raise ValueError(f"keep: no column {k!r} in the input")
        if k in taken:
            raise ValueError(f"keep: {k!r} is also a result column; rename it first")
    return keep


def _field(df: DataFrame, name: str) -> T.StructField:
    return df.schema[name]


def _marked(name: str, kind: T.DataType) -> T.StructField:
    return T.StructField(name, kind, True, metadata={_ROLE: "conversation"})


def _finding_list(kind: T.StructType) -> T.ArrayType:
    return T.ArrayType(kind, containsNull=True)


# -- single utterances ---------------------------------------------------------------------------

def check_utterances(df: DataFrame, text: str = "text", role: str | Column | None = None,
                     counterpart: str | Column | None = None, channel: str | Column | None = None,
                     keep: Iterable[str] = (), *, config: BatchConfig | str | Path | None = None,
                     show_pii: bool = False, partitions: int | None = None) -> DataFrame:
    """Check each row's text on its own (drafts, SMS, single turns): one output row per input row.

    ``role`` / ``counterpart`` / ``channel`` name columns (labels as in tonecheck.toml: 坐席,
    家属, 短信 …) or are Columns (``F.lit("sms")``); None means the library defaults (agent,
    unknown, call). Output: the ``keep`` columns, then ``text`` (masked unless ``show_pii``),
    ``role``, ``counterpart``, ``channel``, ``status`` (ok / error), ``reason``, ``findings``
    (array of Finding structs; :func:`explode_findings` gives one row per finding), ``rewrite``,
    ``truncated``.
    """
    spec = W.Spec.build(as_config(config), show_pii=show_pii, validate=True)
    keep = _keep(df, keep, W.UTTERANCE_COLUMNS)
    src = df.select(
        _as_string(df, text, "text").alias(W.TEXT),
        (_as_string(df, role, "role") if role is not None else F.lit("agent")).alias(W.SPEAKER),
        (_as_string(df, counterpart, "counterpart") if counterpart is not None else F.lit("unknown")).alias(W.COUNTERPART),
        (_as_string(df, channel, "channel") if channel is not None else F.lit("call")).alias(W.CHANNEL),
        *[F.col(f"`{k}`") for k in keep])
    schema = T.StructType([_field(df, k) for k in keep] + [
        T.StructField("text", T.StringType()), T.StructField("role", T.StringType()),
        T.StructField("counterpart", T.StringType()), T.StructField("channel", T.StringType()),
        T.StructField("status", T.StringType()), T.StructField("reason", T.StringType()),
        T.StructField("findings", _finding_list(finding_struct())), T.StructField("rewrite", T.StringType()),
        T.StructField("truncated", T.BooleanType())])

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            yield W.check_utterance_frame(pdf, spec, keep)

    return src.repartition(_partitions(df, partitions)).mapInPandas(run, schema)


# -- conversations ---------------------------------------------------------------------------------

def turn_schema(df: DataFrame, conversation: str, order: str, keep: tuple[str, ...]) -> T.StructType:
    s = T.StringType()
    fields = [_marked(conversation, s), _field(df, order)]
    fields += [_field(df, k) for k in keep if k not in (conversation, order)]
    fields += [T.StructField("turn_index", T.LongType()), T.StructField("speaker", s), T.StructField("text", s),
               T.StructField("counterpart", s), T.StructField("status", s), T.StructField("reason", s),
               T.StructField("findings", _finding_list(finding_struct())), T.StructField("rewrite", s),
               T.StructField("truncated", T.BooleanType())]
    fields += [T.StructField(c, s) for c in ("declared_counterpart", "channel", "agent_id", "call_start", "outcome",
                                             "contact_id", "contact_key")]
    return T.StructType(fields)


def check_conversations(df: DataFrame, conversation: str = "conversation_id", order: str = "turn",
                        speaker: str = "speaker", text: str = "text", *,
                        counterpart: str | Column | None = None, channel: str | Column | None = None,
                        start: str | None = None, end: str | None = None, agent_id: str | None = None,
                        call_start: str | None = None, contact_id: str | None = None, outcome: str | None = None,
                        keep: Iterable[str] = (), config: BatchConfig | str | Path | None = None,
                        show_pii: bool = False, partitions: int | None = None, max_turns: int = MAX_TURNS,
                        contact_salt: bytes | None = None) -> DataFrame:
    """Check utterance rows as conversations, one conversation per ``conversation`` value in ``order``
    order, exactly as ``Checker.check_conversation`` does in-process (listener inference, dialogue
    flags). One output row per input row (see ``docs/spark.md`` for the columns and statuses).

    The optional metadata columns (``agent_id``, ``call_start``, ``contact_id``, ``outcome``) feed
    :func:`score_calls`; a row with neither speaker nor text is a metadata-only row (an unanswered
    attempt is a conversation of such rows with ``outcome`` unanswered). ``contact_salt`` keys the
    ``contact_key`` column (a random one per call by default: pass one salt to every call whose
    results you combine).
    """
    cfg = as_config(config)
    spec = W.Spec.build(cfg, show_pii=show_pii, salt=contact_salt if contact_salt is not None else secrets.token_bytes(16),
                        validate=True)
    for what, name in (("conversation", conversation), ("order", order)):
        _column(df, name, what)
    taken = set(W.TURN_COLUMNS)
    keep = _keep(df, keep, taken)
    for what, name in (("conversation", conversation), ("order", order)):
        if name in taken:
            raise ValueError(f"{what} column {name!r} has the name of a result column; rename it first")
    keep = tuple(k for k in keep if k not in (conversation, order))
    names = (conversation, order, keep)
    meta = {W.META["agent_id"]: _as_string(df, agent_id, "agent_id"), W.META["call_start"]: _call_start(df, call_start),
            W.META["contact_id"]: _as_string(df, contact_id, "contact_id"), W.META["outcome"]: _as_string(df, outcome, "outcome"),
            W.COUNTERPART: _as_string(df, counterpart, "counterpart"), W.CHANNEL: _as_string(df, channel, "channel"),
            W.START: _as_string(df, start, "start"), W.END: _as_string(df, end, "end")}
    src = df.select(F.col(f"`{conversation}`").cast("string").alias(W.CONV), F.col(f"`{order}`").alias(W.ORDER),
                    _as_string(df, speaker, "speaker").alias(W.SPEAKER), _as_string(df, text, "text").alias(W.TEXT),
                    *[(c if c is not None else F.lit(None).cast("string")).alias(k) for k, c in meta.items()],
                    *[F.col(f"`{k}`") for k in keep])
    schema = turn_schema(df, conversation, order, keep)

    # Gathered by conversation and sorted by turn on the executors; a conversation over max_turns
    # streams past as error rows and is never held whole, and null ids become error rows too.
    out_cols = W.turn_output_columns(names)

    def check(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return W.by_group(batches, W.CONV, lambda g: W.check_conversation_rows(g, spec, names), out_cols,
                          limit=max_turns, too_big=lambda g: W.too_big_rows(g, spec, names, max_turns))

    return (src.repartition(_partitions(df, partitions), W.CONV).sortWithinPartitions(W.CONV, W.ORDER)
            .mapInPandas(check, schema))


# -- calls, contact policy, scores --------------------------------------------------------------------

def conversation_column(df: DataFrame, conversation: str | None = None) -> str:
    """The conversation column of one of our outputs (marked in its metadata), or ``conversation``."""
    if conversation is not None:
        _column(df, conversation, "conversation")
        return conversation
    for f in df.schema.fields:
        if f.metadata.get(_ROLE) == "conversation":
            return f.name
    raise ValueError("no conversation column marked in this DataFrame; pass conversation='…'")


def _call_schema(conv: str) -> T.StructType:
    s = T.StringType()
    return T.StructType([
        _marked(conv, s), T.StructField("status", s), T.StructField("error", s), T.StructField("counterpart", s),
        T.StructField("channel", s), T.StructField("agent_id", s), T.StructField("call_start", s),
        T.StructField("outcome", s), T.StructField("contact_id", s), T.StructField("turns", T.LongType()),
        T.StructField("findings", _finding_list(call_finding_struct())), T.StructField("score", T.DoubleType()),
        T.StructField("critical", T.BooleanType()), T.StructField("passed", T.BooleanType()),
        T.StructField("deductions", T.ArrayType(T.StructType([T.StructField("rule_id", s), T.StructField("subtype", s),
                                                              T.StructField("turn", T.LongType()),
                                                              T.StructField("points", T.DoubleType())]))),
        T.StructField("warnings", T.ArrayType(s))])


def _by_group(df: DataFrame, key: str, sort: list[str], rows_of: Any, schema: T.StructType,
              partitions: int) -> DataFrame:
    """Rows gathered by ``key`` on one partition, sorted, and handed group by group to ``rows_of``
    (:func:`tonecheck.spark.worker.by_group`: one pandas frame per Arrow batch, not per group)."""
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return W.by_group(batches, key, rows_of, schema.names)

    return df.repartition(partitions, key).sortWithinPartitions(key, *sort).mapInPandas(run, schema)


def _calls(turns: DataFrame, conv: str) -> DataFrame:
    """Turn rows -> one row per conversation, in Spark SQL (no Python pass over every turn): ok when no
    row is error or skipped, the turn count, the conversation's metadata, and every turn's findings
    in turn order with ``turn`` and ``speaker``, as the batch report lists them."""
    ok_or_meta = F.col("status").isin("ok", "metadata")
    names = finding_struct().names
    tagged = F.transform("findings", lambda f, i: F.struct(
        F.col("turn_index").alias("t"), i.alias("i"),
        F.struct(F.col("turn_index").alias("turn"), F.col("speaker").alias("speaker"),
                 *[f[name].alias(name) for name in names]).alias("f")))
    meta = ("declared_counterpart", "channel", "agent_id", "call_start", "outcome", "contact_id", "contact_key")
    g = (turns.filter(F.col(f"`{conv}`").isNotNull()).groupBy(conv).agg(
        F.max((~ok_or_meta).cast("int")).alias("_bad"),
        F.min(F.when(F.col("status") == "error", F.col("reason"))).alias("_error"),
        F.min(F.when(~ok_or_meta, F.col("reason"))).alias("_other"),
        F.sum((F.col("status") == "ok").cast("long")).alias("_turns"),
        F.flatten(F.collect_list(tagged)).alias("_fx"),
        *[F.first(c, ignorenulls=True).alias(c) for c in meta]))
    ok = F.col("_bad") == 0
    return g.select(
        F.col(f"`{conv}`"), F.when(ok, "ok").otherwise("error").alias("status"),
        F.when(~ok, F.coalesce("_error", "_other")).alias("error"), F.col("declared_counterpart").alias("counterpart"),
        "channel", "agent_id", "call_start", "outcome", "contact_id", "contact_key",
        F.when(ok, F.col("_turns")).otherwise(F.lit(0)).alias("turns"),
        F.transform(F.filter(F.sort_array("_fx"), lambda x: ok), lambda x: x["f"]).alias("findings"))


def score_calls(turns: DataFrame, *, config: BatchConfig | str | Path | None = None,
                conversation: str | None = None, partitions: int | None = None) -> DataFrame:
    """One row per conversation from :func:`check_conversations` output: status, metadata, every
    finding (turn findings plus the contact-policy findings), QA score, critical, passed,
    deductions and metadata warnings, computed by the batch command's own functions
    (``contact_findings`` over the calls to one contact, ``score_record`` per call) with
    ``config``'s settings. Read ``turns`` from storage or persist it first: each action on the
    result runs its plan.
    """
    spec = W.Spec.build(as_config(config))
    conv = conversation_column(turns, conversation)
    n = _partitions(turns, partitions)
    calls = _calls(turns, conv)
    per_contact = F.coalesce(F.col("contact_key"), F.concat(F.lit("call:"), F.col(f"`{conv}`")))
    scored = _call_schema(conv)
    return _by_group(calls.withColumn("__tc_contact", per_contact), "__tc_contact", ["call_start", conv],
                     lambda g: W.scored_call_rows(g, spec, conv), scored, n)


def agent_summary(calls: DataFrame, conversation: str | None = None) -> DataFrame:
    """One row per agent (the batch's per-agent table, by agent id): answered calls, violations, high,
    critical, passed, self-harm signals, unanswered attempts and their contact-policy violations, mean,
    minimum and lowest non-红线 score (and that call), pass rate, violations per 100 calls and per call,
    findings by category. Calls without an agent id count as agent "(unknown)", as in the batch report."""
    conv = conversation_column(calls, conversation)
    counts = ("calls", "violations", "high", "critical", "passed", "self_harm", "attempts", "attempt_violations",
              "conversations")
    schema = T.StructType([T.StructField("agent_id", T.StringType())]
                          + [T.StructField(c, T.LongType()) for c in counts]
                          + [T.StructField(c, T.DoubleType()) for c in ("mean_score", "min_score", "min_score_non_critical")]
                          + [T.StructField("min_score_call", T.StringType())]
                          + [T.StructField(c, T.DoubleType()) for c in ("pass_rate", "violations_per_100",
                                                                        "violations_per_conversation")]
                          + [T.StructField("by_category", T.MapType(T.StringType(), T.LongType()))])

    def agent(pdf: pd.DataFrame) -> pd.DataFrame:
        return W.agent_frame(pdf, conv)

    lean = F.transform("findings", lambda f: F.struct(f["category"].alias("category"), f["severity"].alias("severity"),
                                                      f["subtype"].alias("subtype")))
    return (calls.filter(F.col("status") == "ok")
            .select(conv, "status", "agent_id", "turns", "score", "critical", "passed", lean.alias("findings"))
            .groupBy(F.coalesce(F.col("agent_id"), F.lit(""))).applyInPandas(agent, schema))


def rule_summary(calls: DataFrame, conversation: str | None = None) -> DataFrame:
    """One row per rule that fired (the batch's per-rule table): hits, conversations hit and the rate
    over every conversation checked."""
    conv = conversation_column(calls, conversation)
    ok = calls.filter(F.col("status") == "ok")
    checked = ok.agg(F.count(F.lit(1)).alias("checked"))
    hits = (ok.select(conv, F.explode("findings").alias("f"))
            .select(conv, "f.rule_id", "f.subtype", "f.category", "f.severity").crossJoin(checked))
    schema = T.StructType([T.StructField(c, T.StringType()) for c in ("rule_id", "subtype", "category", "severity")]
                          + [T.StructField("hits", T.LongType()), T.StructField("conversations", T.LongType()),
                             T.StructField("rate", T.DoubleType())])

    def rule(pdf: pd.DataFrame) -> pd.DataFrame:
        return W.rule_frame(pdf, conv)

    return hits.groupBy("rule_id").applyInPandas(rule, schema)


def contact_table(calls: DataFrame, conversation: str | None = None) -> DataFrame:
    """One row per contact-policy finding (night calls, attempts over the daily limit)."""
    conv = conversation_column(calls, conversation)
    return (calls.filter(F.col("status") == "ok")
            .select(conv, "agent_id", "call_start", "contact_id", "outcome", F.explode("findings").alias("f"))
            .filter(F.col("f.category") == "contact")
            .select(conv, "agent_id", "call_start", "contact_id", "outcome", "f.rule_id", "f.subtype", "f.severity",
                    "f.message", "f.explanation"))


def explode_findings(df: DataFrame) -> DataFrame:
    """One row per finding: the other columns of the row, then the finding's fields."""
    others = [F.col(f"`{c}`") for c in df.columns if c != "findings"]
    inner = call_finding_struct().names if "turn" in df.schema["findings"].dataType.elementType.names \
        else finding_struct().names
    clash = {c for c in df.columns if c != "findings"} & set(inner)
    x = df.select(*others, F.explode("findings").alias("__tc_f"))
    return x.select(*[F.col(f"`{c}`") for c in df.columns if c != "findings"],
                    *[F.col(f"__tc_f.{n}").alias(f"finding_{n}" if n in clash else n) for n in inner])


# -- the run's summary ------------------------------------------------------------------------------------

def run_summary(turns: DataFrame, calls: DataFrame) -> dict[str, Any]:
    """The batch summary's figures for this run plus rows by status; one small job. As in the batch
    report, scores, pass rate and findings count answered calls (with turns); unanswered attempts and
    their contact-policy findings are counted apart."""
    ok = F.col("status") == "ok"
    answered = ok & (F.col("turns") > 0)
    attempt = ok & (F.col("turns") == 0)
    violates = F.exists("findings", lambda f: f["category"] != "risk")
    c = calls.agg(
        F.count(F.lit(1)).alias("total"), F.sum(ok.cast("long")).alias("ok"),
        F.sum((F.col("status") == "error").cast("long")).alias("error"),
        F.sum(F.when(ok, F.col("turns")).otherwise(0)).alias("utterances"),
        F.sum(answered.cast("long")).alias("answered"), F.sum(attempt.cast("long")).alias("attempts"),
        F.sum(F.when(answered, F.col("score"))).alias("score_sum"),
        F.count(F.when(answered, F.col("score"))).alias("scored"),
        F.sum((answered & F.col("passed")).cast("long")).alias("passed"),
        F.sum((answered & F.col("critical")).cast("long")).alias("critical"),
        F.sum((answered & violates).cast("long")).alias("with_violations"),
        F.sum((attempt & violates).cast("long")).alias("attempts_with_violations"),
        F.sum((answered & F.exists("findings", lambda f: f["subtype"] == "risk.self_harm")).cast("long")).alias("self_harm"),
    ).first()
    counts = (calls.filter(ok).select(answered.alias("answered"), F.explode("findings").alias("f"))
              .groupBy("answered", "f.category", "f.subtype", "f.severity").count().collect())
    by_cat: dict[str, int] = {}
    by_sev: dict[str, int] = {}
    att: dict[str, int] = {}
    for r in counts:
        if not r["answered"]:
            if r["category"] != "risk":
                att[r["subtype"]] = att.get(r["subtype"], 0) + r["count"]
            continue
        by_cat[r["category"]] = by_cat.get(r["category"], 0) + r["count"]
        if r["category"] != "risk":
            by_sev[r["severity"]] = by_sev.get(r["severity"], 0) + r["count"]
    rows = {r["status"]: r["count"] for r in turns.groupBy("status").count().collect()}
    return {
        "conversations": {"total": c["total"], "ok": c["ok"] or 0, "error": c["error"] or 0},
        "calls": {"answered": c["answered"] or 0, "unanswered": c["attempts"] or 0},
        "utterances": c["utterances"] or 0,
        "findings_by_category": dict(sorted(by_cat.items())),
        "violations_by_severity": {k: by_sev.get(k, 0) for k in ("high", "medium", "low")},
        "violations": sum(v for k, v in by_cat.items() if k != "risk"), "risk_signals": by_cat.get("risk", 0),
        "conversations_with_violations": c["with_violations"] or 0,
        "mean_score": round(c["score_sum"] / c["scored"], 1) if c["scored"] else None,
        "passed": c["passed"] or 0, "critical": c["critical"] or 0, "self_harm": c["self_harm"] or 0,
        "attempts": {"total": c["attempts"] or 0, "with_violations": c["attempts_with_violations"] or 0,
                     "violations": sum(att.values()),
                     "by_subtype": dict(sorted(att.items(), key=lambda kv: (-kv[1], kv[0])))},
        "rows": {"total": sum(rows.values()), **dict(sorted(rows.items()))},
    }
