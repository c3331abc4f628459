"""Use cases: what happens to a message, a ticket, a deadline, a notice (SPEC sections 1 to 9).

Owns: one module per use case — intake (`intake`, `clientmail`, `staff`,
`staffcommands`, `registration`, `duplicates`), tickets over time (`lifecycle`,
`sweeps`), mail out (`outbox`, `outboxclaims`, `outboxops`, `notices`, `staffnotice`, `alerts`),
reading (`reports`, `reportfmt`, `digest`, `trend`, `views`, `export`) and held
mail (`quarantine`) — and the steps they share (`guard`, `seen`, `holding`, `deployment`,
`threads`, `completion`, `tickets`, `staffjob`, `outcome`). Entry points called by
the daemon or the CLI open their own transactions; shared steps work inside the
caller's session. Services get an `App` (`mailintake.app`) and must not import
`bootstrap`, `cli` or `daemon` (`lint-imports` checks), build adapters, or talk to
the mailbox (the daemon does; only `quarantine` fetches held mail back and
releases it) or the mail server (only `outbox` does).
"""
