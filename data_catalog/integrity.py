"""Checksums of a version's files: recorded when it is published, checked when it is used.

Every manifest records ``checksums``: ``{relpath: {"sha256": hex, "size": bytes}}`` of each
data file. Reads check sizes only (one ``stat`` per file: catches truncation and missing
parts); reuse of a version (find-or-build) and ``difffake catalog verify`` check sha256 too
(catches flipped bytes). A version found corrupt gets a marker file, ``.corrupt.json``, in its
folder, so readers refuse it at once; ``verify`` clears the marker when the files match again.
Manifests written before checksums existed have none: sizes and hashes cannot be checked and
``verify`` says so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

CHUNK = 1 << 20
MARKER = ".corrupt.json"


def sha256_file(fs: Any, path: str) -> str:
    """Hex sha256 of the file at ``path`` on the fsspec filesystem ``fs``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def record(fs: Any, folder: str, files: list[str]) -> dict[str, dict[str, Any]]:
    """``{relpath: {"sha256", "size"}}`` of ``files`` under ``folder`` as they are on disk."""
    out = {}
    for rel in files:
        path = posixpath.join(folder, rel)
        out[rel] = {"sha256": sha256_file(fs, path), "size": int(fs.size(path))}
    return out


def problems(
    fs: Any, folder: str, files: list[str], checksums: dict[str, dict[str, Any]], hashes: bool
) -> list[str]:
    """What is wrong with the files of a version folder, one line per file naming its path:
    missing, wrong size, and (with ``hashes``) wrong sha256. Empty when all is well."""
    found = []
    for rel in files:
        path = posixpath.join(folder, rel)
        try:
            size = int(fs.size(path))
        except OSError as exc:
            found.append(f"{path}: missing or unreadable ({exc.__class__.__name__}: {exc})")
            continue
        expected = checksums.get(rel)
        if not expected:
            continue
        if size != expected["size"]:
            found.append(
                f"{path}: {size} bytes, the manifest records {expected['size']} "
                "(truncated or overwritten)"
            )
        elif hashes:
            try:
                digest = sha256_file(fs, path)
            except OSError as exc:
                found.append(f"{path}: unreadable ({exc})")
                continue
            if digest != expected["sha256"]:
                found.append(
                    f"{path}: sha256 {digest[:12]}… differs from the manifest's "
                    f"{expected['sha256'][:12]}… (content changed)"
                )
    return found


@dataclass
class Verification:
    """Outcome of checking one version: ``state`` is ``ok``, ``corrupt`` or ``unverified``
    (a manifest without checksums)."""

    name: str
    version: str
    state: str
    problems: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def line(self) -> str:
        if self.state == "ok":
            return f"ok          {self.ref}  ({self.files} files, {self.bytes / 1e6:.2f} MB)"
        if self.state == "unverified":
            return f"unverified  {self.ref}  no checksums recorded (manifest predates them)"
        return f"CORRUPT     {self.ref}\n" + "\n".join(f"    {p}" for p in self.problems)


def write_marker(fs: Any, folder: str, found: list[str], by: str) -> None:
    """Mark a version corrupt (best effort: a read-only catalog still reports it)."""
    body = {"problems": found, "found_by": by, "at": dt.datetime.now(dt.UTC).isoformat()}
    try:
        with fs.open(posixpath.join(folder, MARKER), "w") as f:
            f.write(json.dumps(body, indent=2))
    except OSError:
        pass


def read_marker(fs: Any, folder: str) -> list[str] | None:
    """The problems recorded by a corrupt marker, or None when the version is not marked."""
    path = posixpath.join(folder, MARKER)
    if not fs.exists(path):
        return None
    try:
        with fs.open(path, "r") as f:
            return list(json.loads(f.read()).get("problems") or ["marked corrupt"])
    except (OSError, ValueError):
        return ["marked corrupt"]


def clear_marker(fs: Any, folder: str) -> None:
    path = posixpath.join(folder, MARKER)
    if fs.exists(path):
        with contextlib.suppress(OSError):
            fs.rm(path)
