"""Alembic environment: migrates the database named in the Alembic config.

The URL comes from `config.attributes["connection"]` or the main option
`sqlalchemy.url`, set by `mailintake.adapters.migrate`; no alembic.ini needed.
"""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import mailintake.adapters.db  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from mailintake.adapters.db import make_engine

    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("no database: set sqlalchemy.url or the connection attribute")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
