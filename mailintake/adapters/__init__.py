"""One outside system each: mailbox, parser, mail transport, templates, database, blobs.

Owns: talking to IMAP/Maildir, SMTP, SQLite/PostgreSQL, the file system, the
OAuth2 endpoints, systemd and Prometheus, and turning raw mail into
`domain.mail` values and back. Must not hold business rules or import
`services`, `app`, `bootstrap`, `cli` or `daemon` (`lint-imports` checks).
"""
