"""The results store: every run kept, every hit reviewed, every rule measured by its reviewers.

    from tonecheck.store import open_store
    store = open_store("qa.db")                  # or "postgresql://qa@db.internal/qa"

Needs ``pip install 'tonecheck[store]'`` (SQLAlchemy 2, Alembic, psycopg 3). Modules:
:mod:`.db` (URL, engine, migrations, audit), :mod:`.schema` (tables), :mod:`.hitid` (stable
hit ids), :mod:`.runs` (storing a batch run), :mod:`.users` (roles, API keys),
:mod:`.review` (queue, claims, verdicts, appeals), :mod:`.stats` (precision per rule,
violations per agent), :mod:`.feedback` (rejected hits back into lexicon files),
:mod:`.commands` (the CLI) and :mod:`.router` (the review API and page in ``tonecheck serve``).
"""
from __future__ import annotations

from typing import Any

__all__ = ["Store", "StoreError", "open_store"]


def __getattr__(name: str) -> Any:
    # Lazy: the CLI imports tonecheck.store.commands without needing SQLAlchemy installed.
    if name in __all__:
        from . import db

        return getattr(db, name)
    raise AttributeError(name)
