"""The procedure's rules as pure functions and values (SPEC sections 2 to 8).

Owns: statuses and transitions, required fields, the business calendar,
deadlines and the SLA, mail classification, staff command tags. Must not do
I/O, read the clock (`now` is passed in), read configuration, or import
`adapters`, `services`, sqlmodel, jinja2, imapclient or mail-parser.
"""
