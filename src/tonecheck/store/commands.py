"""``tonecheck stats | feedback | users | runs``: the store's command line.

Imports of SQLAlchemy and friends happen inside the commands, so ``tonecheck`` starts as fast
as before and says which extra to install when the store packages are missing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any, Callable

EXIT_OK, EXIT_ERROR = 0, 2


class CommandError(Exception):
    """One line on stderr, exit code 2."""


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL", default=os.environ.get("TONECHECK_STORE"),
                   help="results store: a file (qa.db) or postgresql://user@host/db (default: $TONECHECK_STORE)")


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {s!r}") from None


def add_store_commands(sub: Any) -> None:
    s = sub.add_parser("stats", help="precision per rule and confirmed violations per agent, from the review store")
    _store_arg(s)
    s.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="calls on or after this date")
    s.add_argument("--until", type=_date, metavar="YYYY-MM-DD", help="calls on or before this date")
    s.add_argument("--weeks", type=int, default=6, help="weeks shown in the text trend (default 6; JSON has all)")
    s.add_argument("--format", choices=["text", "json"], default="text")
    s.set_defaults(func=_run(cmd_stats))

    f = sub.add_parser("feedback", help="write rejected hits as lexicon twins with clean examples and allow-list entries")
    _store_arg(f)
    f.add_argument("-o", "--output", required=True, metavar="DIR", help="lexicon directory to write review-feedback.toml into")
    f.add_argument("--examples-only", action="store_true",
                   help="clean examples only, no allow-list entries: rules test fails until the rule is fixed")
    f.add_argument("--lexicon", action="append", default=[], metavar="DIR", help="extra lexicon directory (repeatable)")
    f.add_argument("--config", metavar="FILE", help="config file (default: ./tonecheck.toml)")
    f.add_argument("--no-config", action="store_true", help="ignore config files in the current directory")
    f.set_defaults(func=_run(cmd_feedback))

    u = sub.add_parser("users", help="reviewers, leads and agents of the review store, and their API keys")
    usub = u.add_subparsers(dest="users_command")
    ua = usub.add_parser("add", help="add a user and print their API key (shown once)")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=["reviewer", "lead", "agent"])
    ua.add_argument("--agent-id", help="for agents: the agent_id (工号) their calls carry")
    uk = usub.add_parser("key", help="give a user a new API key (the old one stops working)")
    uk.add_argument("name")
    ud = usub.add_parser("disable", help="lock a user out")
    ud.add_argument("name")
    ue = usub.add_parser("enable", help="let a disabled user in again")
    ue.add_argument("name")
    ul = usub.add_parser("list", help="users and roles (never keys)")
    for sp, fn in ((ua, cmd_users_add), (uk, cmd_users_key), (ud, cmd_users_disable), (ue, cmd_users_enable),
                   (ul, cmd_users_list)):
        _store_arg(sp)
        sp.set_defaults(func=_run(fn))

    r = sub.add_parser("runs", help="stored runs (complete or incomplete) and what changed in one")
    _store_arg(r)
    r.add_argument("run_id", nargs="?", type=int, help="list this run's new, gone and changed hits")
    r.add_argument("--limit", type=int, default=20)
    r.set_defaults(func=_run(cmd_runs))


def _run(fn: Callable[[argparse.Namespace, Any], int]) -> Callable[[argparse.Namespace], int]:
    """Open the store, run the command, turn store errors into one line and exit code 2."""

    def wrapper(args: argparse.Namespace) -> int:
        if not args.store:
            print("tonecheck: error: --store URL is needed (or set TONECHECK_STORE)", file=sys.stderr)
            return EXIT_ERROR
        try:
            from .db import StoreError, open_store
        except ImportError as exc:
            print(f"tonecheck: error: the store needs extra packages: pip install 'tonecheck[store]' "
                  f"({exc.name} missing)", file=sys.stderr)
            return EXIT_ERROR
        try:
            store = open_store(args.store)
            try:
                return fn(args, store)
            finally:
                store.dispose()
        except (StoreError, CommandError) as exc:
            print(f"tonecheck: error: {exc}", file=sys.stderr)
            return EXIT_ERROR

    return wrapper


def _actor() -> str:
    from .runs import _login

    return f"cli:{_login()}"


def cmd_stats(args: argparse.Namespace, store: Any) -> int:
    from .stats import compute, render_text

    s = compute(store, since=args.since, until=args.until)
    if args.format == "json":
        json.dump(s, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(s, weeks=max(1, args.weeks)))
    return EXIT_OK


def cmd_feedback(args: argparse.Namespace, store: Any) -> int:
    from ..batch.command import UsageError, config_from_args
    from ..batch.runner import cached_checker
    from .feedback import write_feedback

    try:
        cfg = config_from_args(args)
    except UsageError as exc:
        raise CommandError(str(exc)) from None
    checker = cached_checker(cfg.lexicons)   # every rule, enabled or not: the twins copy their definitions
    res = write_feedback(store, checker, args.output, allow=not args.examples_only)
    for line in res.skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{res.path}: {len(res.twins)} rule twin(s), {res.examples_added} new clean example(s)")
    if res.disable:
        print(f"add to tonecheck.toml:  disable = {json.dumps(res.disable)}")
        print(f"then:  tonecheck rules test {args.output}")
    return EXIT_OK


def cmd_users_add(args: argparse.Namespace, store: Any) -> int:
    from .users import add_user

    key = add_user(store, args.name, args.role, agent_id=args.agent_id, actor=_actor())
    print(key)
    print(f"user {args.name} ({args.role}) added; the key above is shown once: hand it over now", file=sys.stderr)
    return EXIT_OK


def cmd_users_key(args: argparse.Namespace, store: Any) -> int:
    from .users import new_key

    print(new_key(store, args.name, actor=_actor()))
    return EXIT_OK


def cmd_users_disable(args: argparse.Namespace, store: Any) -> int:
    from .users import set_disabled

    set_disabled(store, args.name, True, actor=_actor())
    return EXIT_OK


def cmd_users_enable(args: argparse.Namespace, store: Any) -> int:
    from .users import set_disabled

    set_disabled(store, args.name, False, actor=_actor())
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace, store: Any) -> int:
    from .users import list_users

    for u in list_users(store):
        flag = "  (disabled)" if u["disabled"] else ""
        print(f"{u['name']:<20} {u['role']:<9} {u['agent_id'] or '':<12} {u['created_at']:%Y-%m-%d}{flag}")
    return EXIT_OK


def cmd_runs(args: argparse.Namespace, store: Any) -> int:
    import sqlalchemy as sa

    from . import schema as t

    with store.read() as conn:
        if args.run_id is None:
            rows = conn.execute(sa.select(t.runs).order_by(t.runs.c.id.desc()).limit(max(1, args.limit))).all()
            for r in rows:
                end = f"{r.finished_at:%Y-%m-%d %H:%M:%S}" if r.finished_at else "—"
                note = " (interrupted)" if r.interrupted else ""
                print(f"run {r.id:<5} {r.status:<10}{note} started {r.started_at:%Y-%m-%d %H:%M:%S} finished {end} "
                      f"by {r.actor}: {r.conversations} conversations, {r.findings} hits "
                      f"(new {r.new}, gone {r.gone}, changed {r.changed}, unchanged {r.unchanged})")
            return EXIT_OK
        run = conn.execute(sa.select(t.runs).where(t.runs.c.id == args.run_id)).first()
        if run is None:
            raise CommandError(f"no run {args.run_id}")
        E, H, C = t.hit_events, t.hits, t.conversations
        rows = conn.execute(sa.select(E.c.event, E.c.details, H.c.hit_id, H.c.rule_id, H.c.text, C.c.conv_key, H.c.turn)
                            .join(H, H.c.hit_id == E.c.hit_id).join(C, C.c.id == H.c.conversation_id)
                            .where(E.c.run_id == args.run_id).order_by(E.c.event, E.c.id)).all()
    print(f"run {run.id} {run.status}: new {run.new}, gone {run.gone}, changed {run.changed}, unchanged {run.unchanged}")
    for r in rows:
        extra = f"  {r.details}" if r.details else ""
        print(f"{r.event:<8} {r.hit_id} {r.rule_id:<14} {r.conv_key} turn {r.turn}: {r.text}{extra}")
    return EXIT_OK


def check_store_url(url: str) -> str | None:
    """Open (and migrate) a store once, for ``serve --store``: a one-line error, or None when it works."""
    try:
        from .db import StoreError, open_store
    except ImportError as exc:
        return f"--store needs extra packages: pip install 'tonecheck[store]' ({exc.name} missing)"
    try:
        open_store(url).dispose()
    except StoreError as exc:
        return str(exc)
    return None
