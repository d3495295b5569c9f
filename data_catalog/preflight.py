"""Write checks: before a job starts (is the catalog, is the output folder writable?) and
while it writes (a full disk or a read-only file system becomes one clear message).

Pre-flight: :func:`check_writable` creates the folder if needed, writes and removes a small
probe file and checks the free space, so a read-only or full catalog is found before any
work instead of after it. While writing, :func:`write_failure` turns ``OSError`` (errno 28,
30, 13, 122) into :class:`~data_catalog.errors.CatalogWriteError`, naming the path and what
was kept: a failed publish never leaves a half-visible version, and the per-video work area
of an interrupted run is kept, so the same command resumes once there is room.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from data_catalog.errors import CatalogWriteError

MIN_FREE_BYTES = 64 * 1024 * 1024  # below this a job would fail part-way: refuse at start
WRITE_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def _probe(folder: str) -> None:
    """Write, flush to disk and remove a small file in ``folder``."""
    path = os.path.join(folder, f".write-check-{uuid.uuid4().hex}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, b"difffake write check\n")
        os.fsync(fd)
    finally:
        os.close(fd)
        if os.path.exists(path):
            os.remove(path)


def check_writable(path: str, what: str = "catalog", create: bool = True) -> None:
    """Raise :class:`CatalogWriteError` unless a job can write under the local folder ``path``
    (created when missing, or with ``create=False`` probed at its nearest existing parent).
    URLs (``s3://...``) are not checked here."""
    if "://" in str(path) and not str(path).startswith("file://"):
        return
    folder = os.path.abspath(str(path).removeprefix("file://"))
    if not create:
        while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
            folder = os.path.dirname(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        _probe(folder)
    except OSError as exc:
        reason = WRITE_ERRNOS.get(exc.errno or -1, exc.strerror or str(exc))
        raise CatalogWriteError(
            f"{what} is not writable ({reason}): {folder}", folder, exc.errno
        ) from exc
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise CatalogWriteError(
            f"{what} has {free / 2**20:.0f} MiB free, at least {MIN_FREE_BYTES // 2**20} MiB "
            f"needed (no space left on device): {folder}",
            folder,
            errno.ENOSPC,
        )


def write_failure(exc: OSError, path: str, doing: str, kept: str) -> CatalogWriteError | None:
    """A :class:`CatalogWriteError` for a full/read-only/forbidden write, else None."""
    reason = WRITE_ERRNOS.get(exc.errno or -1)
    if reason is None:
        return None
    return CatalogWriteError(f"{reason} while {doing}: {path}; {kept}", path, exc.errno)


@contextmanager
def writing(path: str, doing: str, kept: str) -> Iterator[None]:
    """Re-raise write failures of the block as :class:`CatalogWriteError` (see module doc)."""
    try:
        yield
    except CatalogWriteError:
        raise
    except OSError as exc:
        failure = write_failure(exc, path, doing, kept)
        if failure is None:
            raise
        raise failure from exc
