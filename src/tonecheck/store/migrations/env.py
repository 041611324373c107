"""Alembic environment: migrations run programmatically from :func:`tonecheck.store.db.migrate`
on the connection it passes (``config.attributes["connection"]``), inside its transaction."""
from __future__ import annotations

from alembic import context

from tonecheck.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only the store opens migrations
    raise RuntimeError("tonecheck store migrations run through tonecheck.store.open_store(url)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
