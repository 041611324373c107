"""The Spark job: check transcripts from Parquet / CSV / JSON paths or a table; write results and QA summaries.

    python -m tonecheck.spark calls.parquet -o qa/2026-11-28 --conversation call_id --order seq
    spark-submit --master yarn "$(python -c 'import tonecheck.spark.job as j; print(j.__file__)')" \\
        --table ods.asr_utterances -o hdfs:///qa/2026-11-28 --config tonecheck.toml

Outputs (Parquet directories under ``-o``, or tables ``PREFIX_<name>`` with ``--save-tables``):
``turns`` (one row per input row), ``calls`` (one row per conversation, with its score),
``agents``, ``rules``, ``contact``, and ``summary.json`` (also printed as one JSON line).
With ``--mode utterances`` every row is checked on its own and the output is ``utterances``.
Exit codes: 0 written, 2 usage error (one line on stderr: a missing column, a bad config, an
existing output without ``--overwrite``).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from tonecheck import __version__
from tonecheck.batch.command import UsageError, config_from_args
from tonecheck.batch.config import BatchConfig
from tonecheck.batch.readers import resolve_header

ORDER_NAMES = ("turn", "seq", "sequence", "turn_no", "utterance_index", "line_no", "序号", "轮次", "句序")
FORMATS = ("parquet", "csv", "json", "orc")
OUTPUTS = ("turns", "calls", "agents", "rules", "contact")


class JobError(Exception):
    """A usage problem: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tonecheck.spark", description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="*", metavar="PATH", help="Parquet / CSV / JSON files or directories")
    p.add_argument("--table", help="read this table (Hive metastore / catalog) instead of paths")
    p.add_argument("--format", choices=FORMATS, help="input format (default: by extension; directories: parquet)")
    p.add_argument("--where", metavar="SQL", help="check only the rows matching this condition, e.g. one day's "
                   "partition: \"dt = '2026-11-28'\"")
    out = p.add_argument_group("output")
    out.add_argument("-o", "--output", help="output directory (any Hadoop file system: hdfs://, s3a://, file://)")
    out.add_argument("--save-tables", metavar="PREFIX", help="write tables PREFIX_turns, PREFIX_calls, … instead")
    out.add_argument("--overwrite", action="store_true", help="replace existing outputs (default: refuse)")
    out.add_argument("--output-partitions", type=int, metavar="N", help="files per output table (a shuffle; the check "
                     "keeps its own parallelism)")
    out.add_argument("--partition-by", action="append", default=[], metavar="COL",
                     help="write the turns (or utterances) output in Hive-style directories by this input "
                     "column (e.g. a date; it is kept), repeatable")
    col = p.add_argument_group("columns (default: tonecheck.toml [columns], then the batch command's header names)")
    for name in ("conversation", "order", "speaker", "text", "counterpart", "channel", "start", "end", "agent-id",
                 "call-start", "contact-id", "outcome"):
        col.add_argument(f"--{name}", metavar="COL")
    col.add_argument("--keep", action="append", default=[], metavar="COL", help="pass this column through (repeatable)")
    p.add_argument("--mode", choices=("conversations", "utterances"), default="conversations",
                   help="conversations (default: dialogue context, scores) or every row on its own")
    p.add_argument("--config", metavar="FILE", help="tonecheck.toml (default: ./tonecheck.toml if present)")
    p.add_argument("--no-config", action="store_true", help="ignore ./tonecheck.toml")
    p.add_argument("--lexicon", action="append", default=[], metavar="DIR", help="extra lexicon directory (shipped "
                   "to the executors), repeatable")
    p.add_argument("--no-model", action="store_true", help="rules only: leave the trained model out")
    p.add_argument("--show-pii", action="store_true", help="write identifiers unmasked (default: masked)")
    p.add_argument("--partitions", type=int, metavar="N", help="partitions for the check (default: 3 per core of the "
                   "application, spark.default.parallelism)")
    p.add_argument("--max-turns", type=int, metavar="N", help="rows per conversation above which it is not checked")
    p.add_argument("--master", help="Spark master when run with python -m (spark-submit sets its own)")
    return p


def _config(args: argparse.Namespace) -> BatchConfig:
    """The batch command's configuration from the same options (--config, --no-config, --lexicon, --no-model)."""
    try:
        return config_from_args(args)
    except UsageError as exc:
        raise JobError(str(exc)) from None


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    p = Path(args.inputs[0])
    suffixes = [p.suffix.lower()] if p.suffix else [q.suffix.lower() for q in p.glob("*") if q.is_file()] if p.is_dir() else []
    for ext, fmt in ((".csv", "csv"), (".json", "json"), (".jsonl", "json"), (".orc", "orc"), (".parquet", "parquet")):
        if ext in suffixes:
            return fmt
    return "parquet"


def read_input(spark: Any, args: argparse.Namespace) -> Any:
    df = _read(spark, args)
    if args.where:
        try:
            df = df.where(args.where)
            df.schema                               # analysed now: a bad condition is a usage error
        except Exception as exc:
            raise JobError(f"--where {args.where!r}: {str(exc).splitlines()[0][:200]}") from None
    return df


def _read(spark: Any, args: argparse.Namespace) -> Any:
    if args.table:
        if args.inputs:
            raise JobError("give input paths or --table, not both")
        try:
            return spark.table(args.table)
        except Exception as exc:
            raise JobError(f"--table {args.table}: {str(exc).splitlines()[0][:200]}") from None
    if not args.inputs:
        raise JobError("no input: give paths or --table")
    fmt = _format(args)
    reader = spark.read
    if fmt == "csv":
        reader = reader.option("header", True).option("inferSchema", True).option("multiLine", True)
    try:
        return reader.format(fmt).load(list(args.inputs))
    except Exception as exc:
        raise JobError(f"cannot read {', '.join(args.inputs)} as {fmt}: {str(exc).splitlines()[0][:200]}") from None


def columns(df: Any, args: argparse.Namespace, cfg: BatchConfig) -> dict[str, str | None]:
    """Canonical field -> input column: the options, else [columns] and the batch header names."""
    found = {k: df.columns[i] for k, i in resolve_header(list(df.columns), cfg.columns).items()}
    out: dict[str, str | None] = {}
    for fld in ("conversation_id", "speaker", "text", "counterpart", "channel", "start", "end", "agent_id",
                "call_start", "contact_id", "outcome"):
        opt = getattr(args, "conversation" if fld == "conversation_id" else fld)
        if opt is not None and opt not in df.columns:
            raise JobError(f"--{fld.replace('_', '-') if fld != 'conversation_id' else 'conversation'} {opt}: "
                           f"no such column (columns: {', '.join(df.columns)})")
        out[fld] = opt or found.get(fld)
    order = args.order or next((c for c in df.columns if c.lower() in ORDER_NAMES), None) or out["start"]
    if args.order and args.order not in df.columns:
        raise JobError(f"--order {args.order}: no such column")
    out["order"] = order
    need = ("text",) if args.mode == "utterances" else ("conversation_id", "order", "speaker", "text")
    missing = [f for f in need if not out[f]]
    if missing:
        raise JobError(f"no {' or '.join(missing)} column found (columns: {', '.join(df.columns)}); "
                       "name it with --" + " / --".join("conversation" if m == "conversation_id" else m for m in missing))
    for k in args.keep + args.partition_by:
        if k not in df.columns:
            raise JobError(f"--keep/--partition-by {k}: no such column")
    return out


class Sink:
    """Where the job writes: Parquet directories under a path, or tables under a prefix."""

    def __init__(self, spark: Any, args: argparse.Namespace) -> None:
        if bool(args.output) == bool(args.save_tables):
            raise JobError("give exactly one of -o DIR and --save-tables PREFIX")
        self.spark, self.args = spark, args
        self.mode = "overwrite" if args.overwrite else "errorifexists"

    def where(self, name: str) -> str:
        a = self.args
        return f"{a.save_tables}_{name}" if a.save_tables else f"{a.output.rstrip('/')}/{name}"

    def write(self, df: Any, name: str, partition_by: Sequence[str] = ()) -> Any:
        n = self.args.output_partitions
        if n:
            df = df.repartition(n)
        w = df.write.mode(self.mode)
        if partition_by:
            w = w.partitionBy(*partition_by)
        try:
            if self.args.save_tables:
                w.format("parquet").saveAsTable(self.where(name))
                return self.spark.table(self.where(name))
            w.parquet(self.where(name))
        except Exception as exc:
            if "already exists" in str(exc).lower() or "PATH_ALREADY_EXISTS" in str(exc) or \
                    "TABLE_OR_VIEW_ALREADY_EXISTS" in str(exc):
                raise JobError(f"{self.where(name)} already exists (use --overwrite)") from None
            raise
        return self.spark.read.parquet(self.where(name))

    def summary(self, summary: dict[str, Any]) -> None:
        text = json.dumps(summary, ensure_ascii=False, indent=1)
        if self.args.output:
            jvm_path = self.where("summary.json")
            sc = self.spark.sparkContext
            hadoop = sc._jvm.org.apache.hadoop.fs
            path = hadoop.Path(jvm_path)
            fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
            stream = fs.create(path, True)
            try:
                stream.write(bytearray(text.encode("utf-8")))
            finally:
                stream.close()


def run(spark: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The whole job on ``spark``; returns the summary."""
    from pyspark.sql import functions as F

    from tonecheck.spark import frames as Fr

    t0 = time.perf_counter()
    for opt in ("partitions", "max_turns", "output_partitions"):
        if getattr(args, opt) is not None and getattr(args, opt) < 1:
            raise JobError(f"--{opt.replace('_', '-')} must be at least 1")
    cfg = _config(args)
    sink = Sink(spark, args)
    df = read_input(spark, args)
    cols = columns(df, args, cfg)
    keep = list(dict.fromkeys(args.keep + args.partition_by))
    common = dict(config=cfg, show_pii=args.show_pii, partitions=args.partitions)
    try:
        if args.mode == "utterances":
            out = Fr.check_utterances(df, cols["text"], role=cols["speaker"], counterpart=cols["counterpart"],
                                      channel=cols["channel"], keep=keep, **common)
            res = sink.write(out, "utterances", args.partition_by)
            summary = {"rows": {r["status"]: r["count"] for r in res.groupBy("status").count().collect()}}
        else:
            turns = Fr.check_conversations(
                df, cols["conversation_id"], cols["order"], cols["speaker"], cols["text"], counterpart=cols["counterpart"],
                channel=cols["channel"], start=cols["start"], end=cols["end"], agent_id=cols["agent_id"],
                call_start=cols["call_start"], contact_id=cols["contact_id"], outcome=cols["outcome"], keep=keep,
                max_turns=args.max_turns or Fr.MAX_TURNS, **common)
            conv = cols["conversation_id"]
            turns = sink.write(turns, "turns", args.partition_by)
            calls = sink.write(Fr.score_calls(turns, config=cfg, conversation=conv), "calls")
            sink.write(Fr.agent_summary(calls, conv).orderBy("agent_id"), "agents")
            sink.write(Fr.rule_summary(calls, conv).orderBy(F.desc("hits"), "rule_id"), "rules")
            sink.write(Fr.contact_table(calls, conv), "contact")
            summary = Fr.run_summary(turns, calls)
    except ValueError as exc:      # a column mapping the DataFrame functions refused
        raise JobError(str(exc)) from None
    summary = {"tonecheck_version": __version__, "spark_version": spark.version,
               "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "mode": args.mode, "input": args.table or list(args.inputs), "columns": cols, "config": cfg.path,
               "output": {n: sink.where(n) for n in (("utterances",) if args.mode == "utterances" else OUTPUTS)},
               "show_pii": args.show_pii, "seconds": round(time.perf_counter() - t0, 2), **summary}
    sink.summary(summary)
    return summary


def session(master: str | None = None) -> Any:
    """The job's SparkSession. Under spark-submit (or in a notebook) the session's master and settings
    are the platform's; started by ``python -m tonecheck.spark`` it is local (``--master``, default
    ``local[*]``) with this interpreter for the workers and the checker built before they fork."""
    import os

    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("tonecheck")
    if "PYSPARK_GATEWAY_PORT" not in os.environ and not SparkSession.getActiveSession():
        master = master or "local[*]"
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            b = b.config("spark.python.daemon.module", "tonecheck.spark_daemon").config("spark.ui.showConsoleProgress", "false")
    if master:
        b = b.master(master)
    return b.getOrCreate()


def main(argv: Sequence[str] | None = None, spark: Any = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(spark or session(args.master), args)
    except JobError as exc:
        print(f"tonecheck.spark: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
