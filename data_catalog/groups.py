"""Datasets of one stage published together, and the staging folders writers leave behind.

A :class:`PublishGroup` stages every member (parts and manifest in its own ``.staging-*``
folder), then renames each into its version folder, then writes one record,
``_groups/{id}.json``: that record is the single commit point. A member's manifest names its
group, and readers list a grouped version only once its record exists, so a crash or a full
disk at any step leaves none of the group's datasets visible.

Every staging folder holds ``.owner.json`` (pid, host, boot id, time). A staging folder, or a
grouped version whose record never came, is *stale* when its writer has exited (same host:
the pid is gone or the machine rebooted) or, for writers elsewhere, when it is older than
:data:`STALE_AFTER_S`. Opening a local catalog removes stale ones once per process;
``difffake catalog verify`` reports them and those still in progress.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import posixpath
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from data_catalog.catalog import Catalog, DatasetWriter

GROUPS = "_groups"
OWNER = ".owner.json"
STAGING_PREFIX = ".staging-"
STALE_AFTER_S = 6 * 3600  # writers on other machines: no pid to check, only the age


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


def owner_record() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "boot_id": _boot_id(),
        "created_at": time.time(),
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def stale_reason(owner: dict[str, Any] | None, age_s: float | None) -> str | None:
    """Why a staging folder (or unfinished group member) is abandoned, or None if its writer
    may still be working."""
    if owner and owner.get("host") == socket.gethostname():
        boot = _boot_id()
        if owner.get("boot_id") and boot and owner["boot_id"] != boot:
            return "its writer's machine has rebooted since"
        if not _pid_alive(int(owner.get("pid", -1))):
            return f"its writer (pid {owner.get('pid')}) has exited"
        return None
    if age_s is not None and age_s > STALE_AFTER_S:
        return f"untouched for {age_s / 3600:.1f} h"
    return None


@dataclass
class Leftover:
    """A staging folder or an unfinished group member: ``stale`` is the reason it is
    abandoned (None while its writer may still be at work); ``removed`` once cleaned."""

    path: str
    kind: str  # "staging" or "unfinished group member"
    stale: str | None
    removed: bool = False

    def line(self) -> str:
        if self.stale is None:
            return f"in progress {self.path} ({self.kind}; its writer is still running)"
        done = "removed" if self.removed else "not removed"
        return f"stale       {self.path} ({self.kind}: {self.stale}; {done})"


def _read_json(fs: Any, path: str) -> dict[str, Any] | None:
    try:
        with fs.open(path, "r") as f:
            data = json.loads(f.read())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def _age_s(fs: Any, path: str, owner: dict[str, Any] | None) -> float | None:
    if owner and isinstance(owner.get("created_at"), int | float):
        return time.time() - float(owner["created_at"])
    try:
        modified = fs.modified(path)
    except (OSError, NotImplementedError, ValueError):
        return None
    if modified.tzinfo is None:
        modified = modified.replace(tzinfo=dt.UTC)
    return (dt.datetime.now(dt.UTC) - modified).total_seconds()


def group_committed(catalog: Catalog, group_id: str) -> bool:
    return catalog.fs.exists(catalog._path(GROUPS, f"{group_id}.json"))


def leftovers(catalog: Catalog, remove: bool = False) -> list[Leftover]:
    """Staging folders and unfinished group members in the catalog; stale ones are deleted
    with ``remove``."""
    from data_catalog.catalog import MANIFEST

    fs, found = catalog.fs, []
    if not fs.exists(catalog.root):
        return found
    for dataset in fs.ls(catalog.root, detail=False):
        if posixpath.basename(dataset.rstrip("/")).startswith(("_", ".")) or not fs.isdir(dataset):
            continue
        for entry in fs.ls(dataset, detail=False):
            base = posixpath.basename(entry.rstrip("/"))
            if base.startswith(STAGING_PREFIX):
                kind = "staging"
            else:
                manifest = _read_json(fs, posixpath.join(entry, MANIFEST))
                group = (manifest or {}).get("group")
                if not group or group_committed(catalog, group):
                    continue
                kind = "unfinished group member"
            owner = _read_json(fs, posixpath.join(entry, OWNER))
            item = Leftover(entry, kind, stale_reason(owner, _age_s(fs, entry, owner)))
            if remove and item.stale is not None:
                with contextlib.suppress(OSError):
                    fs.rm(entry, recursive=True)
                    item.removed = True
            found.append(item)
    return found


class PublishGroup:
    """Datasets that become visible together or not at all.

    ``with group.writer(name, ...) as w`` stages one member (its version is known when the
    block ends: ``w.manifest.version``); :meth:`commit` publishes them all. An error inside
    a member's block, or in :meth:`commit`, discards every member. Also a context manager
    that commits on a clean exit.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.id = uuid.uuid4().hex
        self.members: list[DatasetWriter] = []
        self.committed = False

    @contextmanager
    def writer(self, name: str, **kwargs: Any) -> Iterator[DatasetWriter]:
        from data_catalog.catalog import DatasetWriter

        w = DatasetWriter(
            self.catalog, name, kwargs.pop("parents", None) or {},
            kwargs.pop("parameters", None) or {}, kwargs.pop("fingerprint_", None),
            kwargs.pop("metadata", None), group=self.id,
        )  # fmt: skip
        if kwargs:
            raise TypeError(f"unknown writer options: {', '.join(kwargs)}")
        self.members.append(w)
        try:
            yield w
            w.seal()
        except BaseException:
            self.abort()
            raise

    def commit(self) -> dict[str, str]:
        """Publish every member, then the group record (the commit point). ``{name: version}``."""
        fs, published = self.catalog.fs, []
        versions = {w.name: w.manifest.version for w in self.members}
        try:
            for w in self.members:
                w.publish()
                published.append(w)
            record = {"id": self.id, "members": versions,
                      "committed_at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
            self.catalog.write_atomic(
                self.catalog._path(GROUPS, f"{self.id}.json"), json.dumps(record, indent=2)
            )
        except BaseException:
            for w in published:  # invisible without the record; remove them now if we can
                with contextlib.suppress(OSError):
                    fs.rm(w.final, recursive=True)
            self.abort()
            raise
        self.committed = True
        for w in published:  # the record makes them visible; owners are no longer needed
            with contextlib.suppress(OSError):
                fs.rm(posixpath.join(w.final, OWNER))
        return versions

    def abort(self) -> None:
        for w in self.members:
            with contextlib.suppress(OSError):
                w.abort()

    def __enter__(self) -> PublishGroup:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()
