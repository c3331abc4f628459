"""Schema migrations (alembic), shipped inside the package.

Owns: upgrading a database to the newest schema and telling whether it is
behind. Must not hold table definitions (those are in `db`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mailintake.adapters import db

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: sa.Engine) -> None:
    """Apply every pending migration; a current schema is only read (no write lock taken)."""
    if not pending(engine):
        return
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def pending(engine: sa.Engine) -> list[str]:
    """Revisions not yet applied to the database, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with db.for_reading(engine).connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = script.get_revisions("heads")
    missing = []
    for head in heads:
        for revision in script.iterate_revisions(head.revision, "base"):
            if revision.revision in current:
                break
            missing.append(revision.revision)
    return list(reversed(missing))
