"""Thin Prefect tasks, one per pipeline stage. They order and persist; difffake_core computes."""

from tasks import _env  # noqa: F401  (must run before prefect is imported)
