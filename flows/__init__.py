"""Prefect flows, one per user-facing job."""

from tasks import _env  # noqa: F401  (Prefect defaults before prefect is imported)
