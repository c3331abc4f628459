"""The error kinds of mailintake.

`Refusal` is the sender's mistake: it is answered to the sender and changes
nothing. `TransientError` is a fault worth retrying (server down, database
locked): the message stays where it is. `Unprocessable` is a message that
cannot be handled safely as it stands: it is quarantined. `ConfigError` stops
the program at start with a message naming the bad variable. `StateError`
stops a command whose database is missing or not migrated.
"""


class MailintakeError(Exception):
    """Base of every error this package raises on purpose."""


class Refusal(MailintakeError):
    """A request we will not carry out; the text is shown to the person who sent it."""


class ConfigError(MailintakeError):
    """A bad configuration value; the message names the variable."""


class Unprocessable(MailintakeError):
    """A message we will not handle as it stands (no sender, poison): kept aside with the reason."""


class StateError(MailintakeError):
    """The state this command needs is not there: no database, or its schema is behind."""


class TransientError(MailintakeError):
    """A fault that may go away by itself: retry later, lose nothing."""


class InHandElsewhere(TransientError):
    """Another live process is handling this very message: leave it, try it on a later pass."""


def first_line(exc: BaseException) -> str:
    """An error in one line, for a log field, a status line or stderr (its type when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
