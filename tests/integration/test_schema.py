"""The alembic migrations build exactly the schema the SQLModel models describe (issue 11).

`alembic.autogenerate.compare_metadata` between the migrated database and
`SQLModel.metadata`, on SQLite and PostgreSQL: a column, index or type added
to a model without a migration (or the other way round) fails here.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from mailintake.adapters import db, migrate


def test_the_migrated_schema_matches_the_models(database_url):
    """After `db upgrade` autogenerate finds nothing to add, drop or change."""
    engine = db.make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == []
