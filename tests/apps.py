"""Building a real `App` for tests: real database, real blob store, real templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from mailintake.app import App
from mailintake.bootstrap import build_app
from mailintake.config import Settings, settings_from

REPO = Path(__file__).resolve().parents[1]


def make_settings(state_dir: Path, **env: str) -> Settings:
    """Settings as the daemon would read them; `env` keys without the MAILINTAKE_ prefix."""
    values = {
        "MAILINTAKE_STATE_DIR": str(state_dir),
        "MAILINTAKE_CLIENTS_FILE": str(REPO / "config" / "clients.toml"),
        "MAILINTAKE_STAFF": "anna.nowak@log-systems.com",
    }
    values.update({f"MAILINTAKE_{k.upper()}": v for k, v in env.items()})
    return settings_from(values)


def make_app(
    state_dir: Path,
    *,
    database_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
    **env: str,
) -> App:
    if database_url:
        env["DATABASE_URL"] = database_url
    settings = make_settings(state_dir, **env)
    kwargs = {"clock": clock} if clock else {}
    return build_app(settings, migrate_db=True, **kwargs)
