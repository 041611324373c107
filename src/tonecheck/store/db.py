"""Opening a store: one URL, SQLite or PostgreSQL, migrated to the current schema on open.

``qa.db`` (any plain path) or ``sqlite:///qa.db`` is an SQLite file, the
embedded default; ``postgresql://user:pass@host:5432/db`` a PostgreSQL server
(driver: psycopg 3). SQLite runs in WAL mode with a busy timeout, and every
write transaction starts with ``BEGIN IMMEDIATE``: writers queue up instead of
failing half-way, and a claim (read the next hit, then take it) cannot
interleave with another one.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import schema

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_MS = 30_000
_PG_LOCK = 0x7C0E_C4EC   # advisory lock id: one migration at a time


class StoreError(Exception):
    """The store cannot be opened or used: printed as one line (exit code 2)."""


def utcnow() -> dt.datetime:
    """Naive UTC, second precision: what every DateTime column holds."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and reports."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def normalise_url(url: str) -> str:
    """A plain path means SQLite; postgresql:// uses the psycopg 3 driver."""
    if "://" not in url:
        path = Path(url).expanduser()
        if not path.parent.exists():
            raise StoreError(f"--store {url}: directory {path.parent} does not exist")
        return f"sqlite:///{path.resolve()}"
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql+") or scheme == "sqlite":
        return url
    raise StoreError(f"--store {safe_url(url)}: unknown scheme {scheme!r} (use a file path, sqlite:///FILE "
                     "or postgresql://user@host/db)")


class Store:
    """A store URL, its engine, and transactions that behave alike on both backends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sa_url = normalise_url(url)
        self.shown = safe_url(url)
        self.is_sqlite = self.sa_url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = sa.create_engine(self.sa_url, connect_args={"timeout": SQLITE_BUSY_MS / 1000,
                                                                      "check_same_thread": False})
            _sqlite_transactions(self.engine)
        else:
            self.engine = sa.create_engine(self.sa_url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both backends)."""
        with self.engine.connect() as conn:
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: BEGIN IMMEDIATE on SQLite, committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            conn.execution_options(tonecheck_write=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_transactions(engine: Engine) -> None:
    """pysqlite's own transaction handling is replaced by explicit BEGINs (the documented recipe),
    so that reads get a snapshot and writes take the write lock up front."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("tonecheck_write") else "BEGIN")


def migrate(store: Store) -> None:
    """Bring the schema to the newest revision (Alembic, shipped in the package); safe when several
    processes open the same store at once (the write lock on SQLite, an advisory lock on PostgreSQL)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with store.write() as conn:
        if not store.is_sqlite:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_store(url: str, *, migrate_schema: bool = True) -> Store:
    """Open (and by default create or migrate) the store at ``url``; errors are one-line StoreErrors."""
    try:
        store = Store(url)
        if migrate_schema:
            migrate(store)
        else:
            with store.read() as conn:
                conn.execute(sa.text("SELECT 1"))
    except StoreError:
        raise
    except ImportError as exc:
        raise StoreError(f"the store needs extra packages: pip install 'tonecheck[store]' ({exc.name} missing)") from None
    except sa.exc.SQLAlchemyError as exc:
        msg = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise StoreError(f"cannot open store {safe_url(url)}: {msg[0] if msg else type(exc).__name__}") from None
    return store


def audit(conn: Connection, actor: Any, action: str, object_type: str | None = None,
          object_id: Any = None, **details: Any) -> None:
    """Record one write. ``actor`` is an :class:`Actor` or a plain name (the CLI's user)."""
    user_id = getattr(actor, "id", None)
    name = getattr(actor, "name", None) or str(actor)
    conn.execute(schema.audit.insert().values(
        at=utcnow(), user_id=user_id, actor=name, action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=json.dumps(details, ensure_ascii=False, default=str) if details else None))
