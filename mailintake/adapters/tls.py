"""TLS client contexts for the mail servers (IMAP and SMTP alike)."""

from __future__ import annotations

import ssl


def client_context(verify: bool) -> ssl.SSLContext:
    """The system's defaults; `verify=False` (MAILINTAKE_IMAP_TLS_VERIFY) skips certificate checks."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
