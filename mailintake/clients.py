"""Client organisations from `config/clients.toml`: mail domains, SLA plan, language.

Owns: the `Client`, `SlaPlan` and `Clients` values (SPEC section 4: SLA targets in
business hours) and reading the file, checked, into them; a bad entry raises
`ConfigError` naming `MAILINTAKE_CLIENTS_FILE`. Must not read the environment
(`config` does) or decide anything about a ticket.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailintake.errors import ConfigError


@dataclass(frozen=True)
class SlaPlan:
    """Targets in business hours (SPEC section 4)."""

    name: str = "standard"
    first_response_hours: float = 8.0
    resolution_hours: float = 40.0


@dataclass(frozen=True)
class Client:
    """A client organisation from `clients.toml`."""

    name: str
    domains: tuple[str, ...] = ()
    language: str = "pl"
    sla: SlaPlan = field(default_factory=SlaPlan)


@dataclass(frozen=True)
class Clients:
    """Client organisations by mail domain, with the plan for everyone else."""

    by_domain: Mapping[str, Client] = field(default_factory=dict)
    default: Client = field(default_factory=lambda: Client(name=""))

    def for_address(self, address: str | None) -> Client:
        domain = (address or "").rpartition("@")[2].lower()
        return self.by_domain.get(domain, self.default)


def load_clients(path: Path) -> Clients:
    """Client organisations; a missing file means every client gets the default plan."""
    if not path.is_file():
        return Clients()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"MAILINTAKE_CLIENTS_FILE: {path}: {exc}") from exc
    plans = {name: _plan(name, spec, path) for name, spec in data.get("sla", {}).items()}
    plans.setdefault("standard", SlaPlan())
    default = _client("", data.get("default", {}), plans, path)
    by_domain: dict[str, Client] = {}
    for name, spec in data.get("clients", {}).items():
        client = _client(name, spec, plans, path)
        for domain in client.domains:
            by_domain[domain] = client
    return Clients(by_domain=by_domain, default=default)


def _plan(name: str, spec: Mapping[str, Any], path: Path) -> SlaPlan:
    try:
        return SlaPlan(
            name=name,
            first_response_hours=float(spec.get("first_response_hours", 8)),
            resolution_hours=float(spec.get("resolution_hours", 40)),
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"MAILINTAKE_CLIENTS_FILE: {path}: sla.{name}: {exc}") from exc


def _client(name: str, spec: Mapping[str, Any], plans: Mapping[str, SlaPlan], path: Path) -> Client:
    plan_name = spec.get("sla", "standard")
    if plan_name not in plans:
        raise ConfigError(
            f"MAILINTAKE_CLIENTS_FILE: {path}: client {name!r}: no SLA plan {plan_name!r}"
        )
    language = spec.get("language", "pl")
    if language not in ("pl", "en"):
        raise ConfigError(
            f"MAILINTAKE_CLIENTS_FILE: {path}: client {name!r}: language must be pl or en"
        )
    domains = tuple(d.lower() for d in spec.get("domains", ()))
    return Client(
        name=spec.get("name", name), domains=domains, language=language, sla=plans[plan_name]
    )
