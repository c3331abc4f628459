"""The mailbox lock: one reader per mailbox on PostgreSQL, free again when its holder goes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mailintake.adapters import db
from mailintake.adapters.leader import mailbox_lock

pytestmark = pytest.mark.postgres


def test_only_one_instance_holds_the_lock_until_it_releases(fresh_pg_url):
    """A second instance is refused while the first holds the lock, and gets it after release."""
    engines = [db.make_engine(fresh_pg_url), db.make_engine(fresh_pg_url)]
    first, second = (mailbox_lock(e, "imap://support@mail/INBOX") for e in engines)
    try:
        assert first.acquire() and first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()
        for engine in engines:
            engine.dispose()


def test_a_dead_holder_loses_the_lock(fresh_pg_url):
    """When the holder's session ends (the process died), another instance takes over."""
    engines = [db.make_engine(fresh_pg_url), db.make_engine(fresh_pg_url)]
    first, second = (mailbox_lock(e, "imap://support@mail/INBOX") for e in engines)
    try:
        assert first.acquire()
        with engines[1].connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
        assert second.acquire()
        assert not first.acquire()
    finally:
        first.release()
        second.release()
        for engine in engines:
            engine.dispose()


def test_different_mailboxes_do_not_share_a_lock(fresh_pg_url):
    """Two instances reading different mailboxes both read."""
    engine = db.make_engine(fresh_pg_url)
    one, other = mailbox_lock(engine, "imap://a@mail/INBOX"), mailbox_lock(engine, "imap://b@m/X")
    try:
        assert one.acquire() and other.acquire()
    finally:
        one.release()
        other.release()
        engine.dispose()


def test_sqlite_always_reads(sqlite_url):
    """SQLite serves a single instance: the lock is always granted."""
    engine = db.make_engine(sqlite_url)
    try:
        assert mailbox_lock(engine, "maildir:///x").acquire()
    finally:
        engine.dispose()
