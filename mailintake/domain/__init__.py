"""The procedure's rules as pure functions and values (SPEC sections 2 to 8).

Owns: statuses and transitions, required fields, the business calendar,
deadlines and the SLA, mail classification, the client's intents, staff
command tags and the staff sender check. Must not do I/O, read the clock
(`now` is passed in), read configuration, or import `adapters`, `services`,
sqlmodel, jinja2, imapclient or mail-parser (tests/unit/test_domain_purity.py
checks every import against an allow-list; `lint-imports` checks the layer).
"""
