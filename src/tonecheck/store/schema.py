"""The results store's tables (SQLAlchemy Core).

One schema for SQLite and PostgreSQL. Times are naive UTC ``DateTime`` (the
same on both backends, so claim expiry compares alike). Text is stored masked
(see :mod:`tonecheck.store.runs`). The migrations in ``migrations/versions``
create exactly these tables; ``tests/test_store_schema.py`` compares the two.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
})

ROLES = ("reviewer", "lead", "agent")
VERDICTS = ("confirmed", "rejected", "unsure")

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("agent_id", sa.String(100)),          # an agent's 工号, as in the call data
    sa.Column("key_id", sa.String(16), unique=True),  # public half of the API key (lookup)
    sa.Column("key_hash", sa.String(64)),           # sha256 of the secret half, hex
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(12), nullable=False),   # incomplete | complete
    sa.Column("interrupted", sa.Boolean, nullable=False, default=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("tonecheck_version", sa.String(20)),
    sa.Column("paths", sa.Text),                          # JSON list
    sa.Column("conversations", sa.Integer, nullable=False, default=0),
    sa.Column("findings", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("gone", sa.Integer, nullable=False, default=0),
    sa.Column("changed", sa.Integer, nullable=False, default=0),
    sa.Column("unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("summary", sa.Text),                        # JSON: the report's summary
)

files = sa.Table(
    "files", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("format", sa.String(10)),
    sa.Column("encoding", sa.String(20)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("conversations", sa.Integer, nullable=False, default=0),
)

conversations = sa.Table(
    "conversations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conv_key", sa.Text, nullable=False, unique=True),   # the conversation id (+ "#n" if repeated in a run)
    sa.Column("agent_id", sa.String(100), index=True),
    sa.Column("call_start", sa.String(40)),
    sa.Column("call_date", sa.Date, nullable=False, index=True),  # of call_start, else of the run
    sa.Column("channel", sa.String(10)),
    sa.Column("counterpart", sa.String(12)),
    sa.Column("outcome", sa.String(20)),
    sa.Column("contact", sa.String(64)),                            # masked
    sa.Column("file", sa.Text),
    sa.Column("status", sa.String(8), nullable=False),              # ok | error
    sa.Column("error", sa.Text),
    sa.Column("score", sa.Float),
    sa.Column("passed", sa.Boolean),
    sa.Column("critical", sa.Boolean),
    sa.Column("turns_hash", sa.String(32)),
    sa.Column("first_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
)

turns = sa.Table(
    "turns", metadata,
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("speaker", sa.String(10), nullable=False),
    sa.Column("text", sa.Text, nullable=False),                     # masked
    sa.Column("start", sa.Float),
    sa.Column("counterpart", sa.String(12)),
    sa.Column("rewrite", sa.Text),
)

hits = sa.Table(
    "hits", metadata,
    sa.Column("hit_id", sa.String(16), primary_key=True),           # see hitid.py
    sa.Column("conversation_id", sa.Integer, sa.ForeignKey("conversations.id"), nullable=False, index=True),
    sa.Column("turn", sa.Integer),                                  # None: conversation-level (contact policy)
    sa.Column("rule_id", sa.String(40), nullable=False),
    sa.Column("category", sa.String(10), nullable=False),
    sa.Column("subtype", sa.String(40), nullable=False),
    sa.Column("severity", sa.String(6), nullable=False),
    sa.Column("severity_order", sa.Integer, nullable=False),        # 1 high, 2 medium, 3 low: queue order
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),                     # the span, masked
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("suggestion", sa.Text, nullable=False),
    sa.Column("fix_start", sa.Integer, nullable=False),
    sa.Column("fix_end", sa.Integer, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(16), nullable=False),      # rule, severity, message, fix: "changed"
    # copies of the conversation's fields: the queue filters and sorts without a join
    sa.Column("agent_id", sa.String(100)),
    sa.Column("call_date", sa.Date, nullable=False),
    sa.Column("conv_score", sa.Float),
    sa.Column("present", sa.Boolean, nullable=False),               # found by the latest run over its call
    sa.Column("first_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    # review state: unreviewed | confirmed | rejected | unsure, or signal (a customer risk signal: not
    # reviewed); appeal: None | open | upheld | overturned
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("appeal", sa.String(12)),
    sa.Column("reviewed_by", sa.Integer, sa.ForeignKey("users.id")),
    sa.Column("reviewed_at", sa.DateTime),
    sa.Column("claimed_by", sa.Integer, sa.ForeignKey("users.id"), index=True),   # "my claim" is found fast
    sa.Column("claim_expires", sa.DateTime),
    # The queue (status, present, filter) in queue order: counts and first pages read the index only.
    sa.Index("ix_hits_queue", "status", "present", "severity_order", "conv_score", "hit_id", "call_date"),
    sa.Index("ix_hits_agent_queue", "agent_id", "status", "present", "severity_order", "conv_score", "hit_id"),
    sa.Index("ix_hits_rule_queue", "rule_id", "status", "present", "severity_order", "conv_score", "hit_id"),
    sa.Index("ix_hits_subtype_queue", "subtype", "status", "present"),
    sa.Index("ix_hits_date_queue", "status", "present", "call_date"),
)

hit_events = sa.Table(
    "hit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("hit_id", sa.String(16), sa.ForeignKey("hits.hit_id"), nullable=False, index=True),
    sa.Column("event", sa.String(8), nullable=False),               # new | gone | changed | back
    sa.Column("details", sa.Text),                                  # JSON: what changed
)

verdicts = sa.Table(
    "verdicts", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hit_id", sa.String(16), sa.ForeignKey("hits.hit_id"), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("verdict", sa.String(10), nullable=False),
    sa.Column("comment", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
)

appeals = sa.Table(
    "appeals", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hit_id", sa.String(16), sa.ForeignKey("hits.hit_id"), nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),             # open | upheld | overturned
    sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id")),
    sa.Column("decided_at", sa.DateTime),
    sa.Column("decision_comment", sa.Text),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False, index=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("object_type", sa.String(20)),
    sa.Column("object_id", sa.String(64)),
    sa.Column("details", sa.Text),                                  # JSON, never unmasked text
)
