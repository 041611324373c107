"""Users, roles and API keys.

A key looks like ``tck_<key id>_<secret>``: the key id (12 hex digits) finds the user, the secret
(32 random bytes, URL-safe) is stored only as its SHA-256 and compared in constant time. Keys are
random and long, so a fast hash is the right one (a slow password hash guards guessable secrets);
the key itself is shown once, when it is made, and never stored or logged.

Roles: ``reviewer`` (queue, claim, verdicts), ``lead`` (a reviewer who also decides appeals and
reads the audit log), ``agent`` (sees only the calls whose agent_id is theirs and may appeal a
confirmed hit on them).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from . import schema as t
from .db import Store, StoreError, audit, utcnow

_KEY_RE = re.compile(r"^tck_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})$")
_DUMMY = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who is asking: a user of the store."""

    id: int
    name: str
    role: str
    agent_id: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_key() -> tuple[str, str, str]:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"tck_{key_id}_{secret}", key_id, _hash(secret)


def add_user(store: Store, name: str, role: str, *, agent_id: str | None = None, actor: Any = "cli") -> str:
    """Create a user and return their API key (shown once)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise StoreError("a user name must have 1 to 100 characters")
    if role not in t.ROLES:
        raise StoreError(f"unknown role {role!r} (use {', '.join(t.ROLES)})")
    if role == "agent" and not (agent_id or "").strip():
        raise StoreError("an agent needs --agent-id: the agent_id (工号) their calls carry")
    key, key_id, key_hash = _new_key()
    with store.write() as conn:
        if conn.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).first():
            raise StoreError(f"user {name!r} already exists (use 'tonecheck users key {name}' for a new key)")
        uid = conn.execute(t.users.insert().values(
            name=name, role=role, agent_id=(agent_id or "").strip() or None, key_id=key_id, key_hash=key_hash,
            disabled=False, created_at=utcnow())).inserted_primary_key[0]
        audit(conn, actor, "user.add", "user", uid, name=name, role=role, agent_id=agent_id)
    return key


def new_key(store: Store, name: str, *, actor: Any = "cli") -> str:
    """Replace a user's key (the old one stops working at once)."""
    key, key_id, key_hash = _new_key()
    with store.write() as conn:
        uid = conn.execute(sa.update(t.users).where(t.users.c.name == name)
                           .values(key_id=key_id, key_hash=key_hash).returning(t.users.c.id)).scalar()
        if uid is None:
            raise StoreError(f"no user {name!r}")
        audit(conn, actor, "user.key", "user", uid, name=name)
    return key


def set_disabled(store: Store, name: str, disabled: bool, *, actor: Any = "cli") -> None:
    with store.write() as conn:
        uid = conn.execute(sa.update(t.users).where(t.users.c.name == name)
                           .values(disabled=disabled).returning(t.users.c.id)).scalar()
        if uid is None:
            raise StoreError(f"no user {name!r}")
        audit(conn, actor, "user.disable" if disabled else "user.enable", "user", uid, name=name)


def list_users(store: Store) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(sa.select(t.users.c.name, t.users.c.role, t.users.c.agent_id, t.users.c.disabled,
                                      t.users.c.created_at).order_by(t.users.c.name)).mappings().all()
    return [dict(r) for r in rows]


def authenticate(store: Store, key: str | None) -> Actor | None:
    """The active user holding ``key``, else None. Time does not depend on how much of the key was right."""
    m = _KEY_RE.match(key or "")
    with store.read() as conn:
        row = conn.execute(sa.select(t.users).where(t.users.c.key_id == (m.group(1) if m else ""))).first()
    stored = row.key_hash if row is not None and row.key_hash else _DUMMY
    ok = hmac.compare_digest(stored, _hash(m.group(2) if m else (key or "")))
    if not ok or row is None or m is None or row.disabled:
        return None
    return Actor(id=row.id, name=row.name, role=row.role, agent_id=row.agent_id)
