"""mailintake: the e-mail ticket intake daemon of LOG Systems support (docs/procedure.md).

Layers, imports pointing one way (checked by `lint-imports`, contracts in
pyproject.toml, and tests/unit/test_import_graph.py; `domain` is kept free of I/O
and the clock by tests/unit/test_domain_purity.py):
`domain` (pure rules) ← `services` (use cases) ← `daemon` and `cli` (entry
points); `adapters` are the outside systems services use; `bootstrap` is the
composition root that builds the `App` (`mailintake.app`) from `config`.
"""
