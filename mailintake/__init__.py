"""mailintake: the e-mail ticket intake daemon of LOG Systems support (SPEC.md).

Layers, imports pointing one way (checked by tests/unit/test_import_graph.py):
`domain` (pure rules) ← `services` (use cases) ← `daemon` and `cli` (entry
points); `adapters` are the outside systems services use; `bootstrap` is the
composition root that builds the `App` (`mailintake.app`) from `config`.
"""
