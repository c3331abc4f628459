"""Shared pytest fixtures: the real servers live in tests/servers.py and are registered here."""

import pytest

pytest_plugins = ["tests.servers"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """The same test on both databases the product supports (SPEC section 11)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailintake.db'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'mailintake.db'}"
