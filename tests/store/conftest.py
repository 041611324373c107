"""Fixtures for the results-store tests: an SQLite file per test, and a real PostgreSQL server.

The PostgreSQL fixture starts a throwaway cluster (initdb + pg_ctl) in a temporary directory on a
free port, as the ``postgres`` system user when the tests run as root (PostgreSQL refuses to run
as root; ``nobody`` when there is no such user), and removes it at the end of the session. It
finds the server binaries on PATH or under /usr/lib/postgresql/*/bin (``.ci/run`` installs
them: ``apt-get install postgresql``). Without them the PostgreSQL tests skip, with the reason.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy", reason="the store needs: pip install -e '.[test]' (sqlalchemy, alembic, psycopg)")
pytest.importorskip("alembic", reason="the store needs: pip install -e '.[test]'")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _pg_bindir() -> str | None:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return str(Path(found).parent)
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """URL prefix of a running throwaway PostgreSQL server (``postgresql://postgres@127.0.0.1:PORT``)."""
    pytest.importorskip("psycopg", reason="PostgreSQL tests need psycopg: pip install -e '.[test]'")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (initdb/pg_ctl); .ci/run installs them with "
                    "apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="tonecheck-pg-"))
    data, log = base / "data", base / "server.log"
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = "postgres"
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            user, pw = "nobody", pwd.getpwnam("nobody")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", user, "--"]
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*cmd: str) -> None:
        subprocess.run([*prefix, *cmd], check=True, capture_output=True, env=env, cwd=str(base), timeout=60)

    try:
        run(f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
            "--no-sync")
        opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=60")
        run(f"{bindir}/pg_ctl", "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "30", "start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        tail = log.read_text(errors="replace")[-300:] if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"could not start a PostgreSQL cluster: {exc} {detail.decode(errors='replace')[-300:]} {tail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, env=env, cwd=str(base), timeout=60)
        shutil.rmtree(base, ignore_errors=True)


_DB_COUNTER = itertools.count(1)


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """A database migrated once; each test's database is a copy of it (CREATE DATABASE … TEMPLATE)."""
    import psycopg

    from tonecheck.store import open_store

    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute('CREATE DATABASE "tc_template"')
    open_store(f"{pg_server}/tc_template").dispose()
    return "tc_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from tonecheck.store import open_store

    path = tmp_path_factory.mktemp("template") / "qa.db"
    open_store(str(path)).dispose()     # the last connection closing checkpoints the WAL into qa.db
    assert not path.with_name("qa.db-wal").exists()
    return path


def new_pg_database(server: str, template: str | None = None) -> str:
    import psycopg

    name = f"tc_{os.getpid()}_{next(_DB_COUNTER)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return f"{server}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    """A fresh store (already migrated) on each backend."""
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), tmp_path / "qa.db")
        return str(tmp_path / "qa.db")
    return new_pg_database(request.getfixturevalue("pg_server"), request.getfixturevalue("pg_template"))


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    """A fresh SQLite store only (tests whose subject does not depend on the backend)."""
    shutil.copy(sqlite_template, tmp_path / "qa.db")
    return str(tmp_path / "qa.db")


@pytest.fixture
def store(store_url):
    from tonecheck.store import open_store

    s = open_store(store_url)
    yield s
    s.dispose()


# A call with identifiers (written for these tests): the store must never keep them in clear.
PII_CALL = {"id": "pii-call-1", "counterpart": "debtor", "channel": "call",
            "metadata": {"agent_id": "A017", "call_start": "2026-11-24 10:05:00", "contact_id": "13912345678"},
            "utterances": [
                {"speaker": "agent", "text": "您尾号不对，卡号是6222021234567890128，今天必须处理"},
                {"speaker": "customer", "text": "我手机是13812345678，有事打这个"},
                {"speaker": "agent", "text": "你个傻逼，拖了三个月还装死"}]}


@pytest.fixture(scope="session")
def report_inputs(tmp_path_factory) -> list[str]:
    import json

    d = tmp_path_factory.mktemp("pii")
    (d / "pii_call.json").write_text(json.dumps(PII_CALL, ensure_ascii=False), encoding="utf-8")
    return [str(EXAMPLES), str(d / "pii_call.json")]


def _report(paths: list[str], show_pii: bool) -> dict:
    from tonecheck.batch import RunOptions, run_batch
    from tonecheck.batch.config import BatchConfig

    return run_batch(paths, RunOptions(config=BatchConfig(), jobs=1, show_pii=show_pii))


@pytest.fixture(scope="session")
def examples_report(report_inputs):
    """The batch report over examples/ and one call with identifiers (computed once; tests copy it)."""
    return _report(report_inputs, False)


@pytest.fixture(scope="session")
def examples_report_pii(report_inputs):
    """The same with --show-pii: identifiers in clear."""
    return _report(report_inputs, True)
