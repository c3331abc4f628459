"""What the database may be handed, and what its errors mean (issue 10, SPEC section 11).

Owns: `normalise_rows`, run before every flush, so SQLite and PostgreSQL accept
exactly the same mail: NUL characters removed (PostgreSQL text cannot hold
them), strings cut to their column's size (SQLite does not check it,
PostgreSQL refuses), indexed strings cut to what a B-tree entry holds
(PostgreSQL: about 2,700 bytes; a 950-character non-ASCII Message-ID is
3,000), the same inside JSON values; and `clean_parameters`, run before every statement,
so no value reaches SQL with a NUL in it — a lookup (`WHERE message_id = ...`)
as little as a row (PostgreSQL refuses the statement, SQLite would match on
it). And `is_transient`: which database
errors are worth retrying — connection loss, deadlock, serialisation failure,
lock timeout, server shutting down, resources exhausted (PostgreSQL SQLSTATE
classes 08, 53 and 57P, 40001, 40P01, 55P03; SQLite "database is locked"/"busy"
and "database or disk is full") — while any other error (bad data, a bug)
concerns one message only. `is_outage` tells the transients that are no fault
of the message in hand (connection lost, server away, disk, memory or
connection slots exhausted) from contention (locks, deadlocks, serialisation),
which a message may cause itself.

Must not: know the tables (it reads each row's own column types) or decide
what happens to a message whose error is not transient (the intake does).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

INDEX_BYTES = 2000  # under PostgreSQL's B-tree limit (a third of an 8 kB page) with room
TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03")  # contention: serialisation, deadlock, lock
OUTAGE_SQLSTATE_CLASSES = ("08", "53", "57P")  # connection, insufficient resources, shutdown
TRANSIENT_SQLITE = ("database is locked", "database is busy", "database table is locked")
OUTAGE_SQLITE = ("database or disk is full", "disk i/o error")


def normalise_rows(session: Session, _context: Any, _instances: Any) -> None:
    """`before_flush` hook: every new or changed row's values made storable everywhere."""
    for row in (*session.new, *session.dirty):
        table = getattr(type(row), "__table__", None)
        if table is None:
            continue
        for column in table.columns:
            value = getattr(row, column.key, None)
            cleaned = _clean(value, column)
            if cleaned is not value and cleaned != value:
                setattr(row, column.key, cleaned)


def clean_parameters(
    _conn: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """`before_cursor_execute` hook (retval): every string parameter without NUL characters.

    The one place every lookup and write passes on both databases; `parameters` is a
    tuple, list or dict, or a sequence of those for `executemany`. Bytes stay as they are.
    """
    if executemany and isinstance(parameters, list | tuple):
        return statement, type(parameters)(_nul_free_params(p) for p in parameters)
    return statement, _nul_free_params(parameters)


def _nul_free_params(parameters: Any) -> Any:
    if isinstance(parameters, dict):
        return {k: _no_nul(v) for k, v in parameters.items()}
    if isinstance(parameters, list | tuple):
        return type(parameters)(_no_nul(v) for v in parameters)
    return parameters


def _no_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) and "\x00" in value else value


def _clean(value: Any, column: sa.Column[Any]) -> Any:
    if isinstance(value, str):
        return _fit(value.replace("\x00", ""), column)
    if isinstance(value, dict | list):
        return _without_nul(value)
    return value


def _fit(text: str, column: sa.Column[Any]) -> str:
    length = getattr(column.type, "length", None)
    if length is not None and len(text) > length:
        text = text[:length]
    if column.index or column.unique:
        data = text.encode("utf-8", errors="surrogatepass")
        if len(data) > INDEX_BYTES:
            text = data[:INDEX_BYTES].decode("utf-8", errors="ignore")
    return text


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def is_transient(exc: BaseException) -> bool:
    """Is this database error worth retrying later (see the module docstring)?"""
    if is_outage(exc):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return any(phrase in str(orig).lower() for phrase in TRANSIENT_SQLITE)
    return getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def is_outage(exc: BaseException) -> bool:
    """Is the database away or out of resources: transient, and no fault of the message?"""
    if isinstance(exc, sa.exc.DisconnectionError | sa.exc.TimeoutError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return any(phrase in str(orig).lower() for phrase in OUTAGE_SQLITE)
    state = getattr(orig, "sqlstate", None)
    if state is None:  # psycopg: no SQLSTATE means the connection itself failed
        return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return bool(state.startswith(OUTAGE_SQLSTATE_CLASSES))
