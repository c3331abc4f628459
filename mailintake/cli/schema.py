"""`mailintake db upgrade`: bring the database schema up to date (alembic).

Owns: the one command that migrates a PostgreSQL database (SQLite is migrated
by `run` itself). Must not build an `App`: the schema may be too old for one.
"""

from __future__ import annotations

import argparse

from mailintake.adapters import db, migrate
from mailintake.config import Settings


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND", help="what to do with the schema"
    )
    group.add_parser(
        "upgrade",
        help="apply schema migrations",
        description="Bring the database schema up to date (`run` does it itself on SQLite).",
    ).set_defaults(func=cmd_db_upgrade)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    print("database schema is up to date")
    return 0
