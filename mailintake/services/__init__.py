"""Use cases: what happens to a message, a ticket, a deadline, a notice (SPEC sections 1 to 9).

Owns: one module per use case (`intake`, `clientmail`, `staff`,
`registration`, `lifecycle`, `sweeps`, `outbox`, `outboxops`, `reports`,
`views`, `quarantine`, `alerts`) and the steps they share (`guard`, `holding`,
`deployment`, `threads`, `completion`, `notices`, `tickets`); each public entry
runs one transaction. Services get an `App` (`mailintake.app`) and must not
import `bootstrap`, `cli` or `daemon` (`lint-imports` checks), build adapters,
or talk to the mailbox (the daemon does; only `quarantine` fetches held mail
back and releases it) or the mail server (only `outbox` does).
"""
