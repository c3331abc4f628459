"""Address lists in the settings are read as people write them, and a list that would
leave staff blind stops the program at start (docs/operations.md, Configuration)."""

from __future__ import annotations

import pytest

from mailintake.config import settings_from
from mailintake.errors import ConfigError

ANNA = "anna.nowak@log-systems.com"
PIOTR = "piotr.zielinski@log-systems.com"


@pytest.mark.parametrize("written", [f"{ANNA};{PIOTR}", f"{ANNA}; {PIOTR}", f"{ANNA},{PIOTR}",
                                     f" {ANNA} ,\t{PIOTR}; ", f"{ANNA.upper()};{PIOTR}"])  # fmt: skip
def test_a_staff_list_is_split_on_commas_and_semicolons(written: str) -> None:
    """Outlook joins addresses with `;`: the list is the same two people however joined."""
    settings = settings_from({"MAILINTAKE_STAFF": written})
    assert settings.staff == {ANNA, PIOTR}


@pytest.mark.parametrize(
    "value",
    ["not-an-address", "anna@@log-systems.com", "anna@log-systems", "Anna <anna@log-systems.com>",
     "anna@log-systems.com\x1b", "a@b.pl:c@d.pl"],
)  # fmt: skip
def test_a_list_entry_that_is_no_address_stops_the_program(value: str) -> None:
    with pytest.raises(ConfigError, match="MAILINTAKE_STAFF"):
        settings_from({"MAILINTAKE_STAFF": value})


def test_notices_go_only_to_staff_who_can_answer_them() -> None:
    """A notice's reader answers it into the ticket: one outside MAILINTAKE_STAFF would
    open a ticket as a client instead, and our own support address would drop it as a loop."""
    with pytest.raises(ConfigError, match="MAILINTAKE_STAFF_NOTIFY.*team@log-systems.com"):
        settings_from({"MAILINTAKE_STAFF": ANNA, "MAILINTAKE_STAFF_NOTIFY": "team@log-systems.com"})
    with pytest.raises(ConfigError, match="MAILINTAKE_STAFF_NOTIFY"):
        settings_from({"MAILINTAKE_STAFF_NOTIFY": "support@log-systems.com"})
    fine = settings_from({"MAILINTAKE_STAFF": f"{ANNA},{PIOTR}", "MAILINTAKE_STAFF_NOTIFY": PIOTR})
    assert fine.staff_notify == {PIOTR}
