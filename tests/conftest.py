"""Shared pytest fixtures: the real servers live in tests/servers.py and are registered here."""

pytest_plugins = ["tests.servers"]

import pytest

from tests.apps import make_app, make_settings  # noqa: E402,F401


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """The same test on both databases the product supports (SPEC section 11)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailintake.db'}"
    return request.getfixturevalue("fresh_pg_url")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'mailintake.db'}"
