"""Migration 0004 (issue 12) on SQLite and PostgreSQL: old tickets keep working, models match."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from mailintake.adapters import db, migrate


def _upgrade(engine: sa.Engine, revision: str) -> None:
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_a_ticket_from_before_the_upgrade_has_no_owner_and_no_copies(database_url):
    """A ticket stored by schema 0001 reads back after the upgrade: owner null, cc empty."""
    engine = db.make_engine(database_url)
    try:
        _upgrade(engine, "0001")
        now = datetime(2026, 11, 26, 10, tzinfo=UTC).replace(tzinfo=None)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO ticket (key, status, client_email, client_name, client_org, "
                    "language, subject, created_at, updated_at, attempts, reminders_sent, "
                    "awaiting_client, suspended, sla_paused, eta_accepted, flagged, fields, "
                    "linked, survey_thanked) VALUES ('LOG-000001', 'NOWY', 'jan@example.pl', "
                    "'', '', 'pl', 'Błąd', :now, :now, 0, 0, false, false, '[]', false, false, "
                    "'{}', '[]', false)"
                ),
                {"now": now},
            )
        migrate.upgrade(engine)
        with db.transaction(engine) as session:
            ticket = db.ticket_by_key(session, "LOG-000001")
            assert ticket is not None
            assert (ticket.owner, ticket.cc, ticket.duplicate_of) == (None, [], None)
            ticket.cc = ["ewa@example.pl"]
        with db.transaction(engine) as session:
            assert db.ticket_by_key(session, "LOG-000001").cc == ["ewa@example.pl"]
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(database_url):
    """After every migration the tables and columns are exactly those the models declare."""
    engine = db.make_engine(database_url)
    try:
        migrate.upgrade(engine)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
        assert [d for d in diff if d[0] in ("add_table", "remove_table", "add_column",
                                            "remove_column")] == []  # fmt: skip
    finally:
        engine.dispose()
