"""Alembic schema migrations (`mailintake db upgrade`); `versions/` holds one file per step.

Owns: the migration environment (`env.py`) and the steps, which only move forward.
Must not import services; a step describes tables as they were then, not through
the current models (only `env.py` reads those, for autogenerate).
"""
