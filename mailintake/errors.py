"""The error kinds of mailintake.

`Refusal` is the sender's mistake: it is answered to the sender and changes
nothing. `TransientError` is a fault worth retrying (server down, database
locked): the message stays where it is. `Unprocessable` is a message that
cannot be handled safely as it stands: it is quarantined. `ConfigError` stops
the program at start with a message naming the bad variable.
"""


class MailintakeError(Exception):
    """Base of every error this package raises on purpose."""


class Refusal(MailintakeError):
    """A request we will not carry out; the text is shown to the person who sent it."""


class ConfigError(MailintakeError):
    """A bad configuration value; the message names the variable."""


class Unprocessable(MailintakeError):
    """A message we will not handle as it stands (no sender, poison): kept aside with the reason."""


class TransientError(MailintakeError):
    """A fault that may go away by itself: retry later, lose nothing."""
