"""Named, versioned, immutable datasets: Parquet parts (or artifact files) plus a manifest.

Layout under the storage root (a local folder or an fsspec URL such as ``s3://bucket/difffake``)::

    {name}/{version}/manifest.json      # written last: a version exists only once it is there
    {name}/{version}/part-00000.parquet
    {name}/.staging-{uuid}/             # in-progress writes, never listed
    _work/{stage}/{key}/{item}.parquet  # per-item results of interrupted runs (see WorkArea)

Versions sort by creation time; ``latest`` is the newest published one. A version's manifest
records its schema, row count, bytes, parents (name -> version), parameters, code version and a
fingerprint of its inputs, so an up-to-date dataset can be found and reused instead of rebuilt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from data_catalog import groups, integrity
from data_catalog.errors import (
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    VersionNotFoundError,
)
from data_catalog.preflight import writing
from data_catalog.schemas import LAYERS, conform, kind_of, schema_for, schema_to_json
from data_catalog.versioning import code_version

MANIFEST = "manifest.json"
DEFAULT_ROOT_ENV = "DIFFFAKE_CATALOG"
log = logging.getLogger("data_catalog")


def default_root() -> str:
    return os.environ.get(DEFAULT_ROOT_ENV) or os.path.join(os.getcwd(), ".difffake", "catalog")


def fingerprint(*parts: Any) -> str:
    """Stable sha256 of JSON-serialisable parts (dict keys sorted)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Manifest:
    name: str
    version: str
    kind: str
    layer: str
    schema: list[dict[str, str]]
    row_count: int
    bytes: int
    files: list[str]
    parents: dict[str, str]
    parameters: dict[str, Any]
    code_version: str
    created_at: str
    fingerprint: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # {relpath: {"sha256", "size"}} of each file; empty in manifests older than checksums.
    checksums: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Id of the PublishGroup this version was published with: visible once the group is.
    group: str | None = None

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


class Catalog:
    """A dataset catalog rooted at a local path or fsspec URL."""

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root_url = str(root) if root is not None else default_root()
        self.fs, self.root = fsspec.core.url_to_fs(self.root_url)
        self.local = "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )
        with writing(self.root, "creating the catalog", "nothing was written"):
            self.fs.makedirs(self.root, exist_ok=True)
        self._seen: set[str] = set()
        self.cleaned: list[groups.Leftover] = []  # stale staging removed when opened
        if self.local and self.root not in _CLEANED_ROOTS:
            _CLEANED_ROOTS.add(self.root)
            self.cleaned = [x for x in groups.leftovers(self, remove=True) if x.removed]

    # -- paths ----------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    # -- listing ----------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.fs.exists(self.root):
            return []
        out = []
        for entry in self.fs.ls(self.root, detail=False):
            base = posixpath.basename(entry.rstrip("/"))
            if base.startswith(("_", ".")):
                continue
            if self.versions(base):
                out.append(base)
        return sorted(out)

    def versions(self, name: str) -> list[str]:
        """Published versions of ``name``, oldest first."""
        path = self._path(name)
        if not self.fs.exists(path):
            return []
        found = []
        for entry in self.fs.ls(path, detail=False):
            base = posixpath.basename(entry.rstrip("/"))
            if base.startswith(".") or not self.fs.exists(posixpath.join(entry, MANIFEST)):
                continue
            if self._visible(entry):
                found.append(base)
        return sorted(found)

    def _visible(self, folder: str) -> bool:
        """A version is visible unless it belongs to a group whose record is missing."""
        if folder in self._seen:
            return True
        try:
            with self.fs.open(posixpath.join(folder, MANIFEST), "r") as f:
                group = json.loads(f.read()).get("group")
        except (OSError, ValueError, AttributeError):
            group = None  # an unreadable manifest is listed, and reported when read
        if group and not groups.group_committed(self, group):
            return False
        self._seen.add(folder)  # published versions never become invisible again
        return True

    def resolve(self, name: str, version: str | None = "latest") -> str:
        versions = self.versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise DatasetNotFoundError(f"dataset {name!r} not found (known datasets: {known})")
        if version in (None, "latest"):
            return versions[-1]
        matches = [v for v in versions if v == version or v.startswith(version)]
        if len(matches) != 1:
            raise VersionNotFoundError(
                f"dataset {name!r} has no unique version {version!r} "
                f"(versions: {', '.join(versions[-5:])})"
            )
        return matches[0]

    def manifest(self, name: str, version: str | None = "latest") -> Manifest:
        version = self.resolve(name, version)
        path = self._path(name, version, MANIFEST)
        try:
            with self.fs.open(path, "r") as f:
                return Manifest.from_json(f.read())
        except (ValueError, TypeError) as exc:  # JSON damaged or not a manifest
            raise CorruptDatasetError(
                f"dataset {name}@{version}: manifest {path} is unreadable ({exc})", [path]
            ) from exc

    def find(self, name: str, fp: str) -> Manifest | None:
        """The newest intact version of ``name`` whose fingerprint is ``fp`` (an up-to-date
        dataset). Candidates are checked file by file (size and sha256): a corrupt one is
        marked, logged and passed over, so the caller rebuilds it."""
        for version in reversed(self.versions(name)):
            try:
                m = self.manifest(name, version)
            except CorruptDatasetError as exc:
                log.warning("%s (not reused)", exc)
                continue
            if m.fingerprint != fp:
                continue
            folder = self._path(name, m.version)
            found = integrity.read_marker(self.fs, folder) or self.integrity_problems(m, True)
            if not found:
                return m
            integrity.write_marker(self.fs, folder, found, by="reuse")
            log.warning(
                "dataset %s@%s is corrupt and will be rebuilt: %s",
                name,
                m.version,
                "; ".join(found),
            )
        return None

    # -- integrity --------------------------------------------------------------------------
    def integrity_problems(self, m: Manifest, hashes: bool = False) -> list[str]:
        """What is wrong with the files of version ``m`` (sizes; sha256 too with ``hashes``)."""
        folder = self._path(m.name, m.version)
        return integrity.problems(self.fs, folder, m.files, m.checksums or {}, hashes)

    def _intact(self, m: Manifest) -> Manifest:
        """``m`` after the cheap checks (corrupt marker, file sizes); else a clear error."""
        folder = self._path(m.name, m.version)
        found = integrity.read_marker(self.fs, folder) or self.integrity_problems(m)
        if found:
            raise CorruptDatasetError(
                f"dataset {m.name}@{m.version} is corrupt: {'; '.join(found)} "
                f"(check with `difffake catalog verify {m.name}@{m.version}`; rerunning the "
                "stage that made it builds a new version)",
                found,
            )
        return m

    def verify(self, name: str, version: str | None = "latest") -> integrity.Verification:
        """Check every file of a version against its manifest (size and sha256). A corrupt
        version is marked so readers and reuse refuse it; an intact one is unmarked."""
        try:
            m = self.manifest(name, version)
        except CorruptDatasetError as exc:
            return integrity.Verification(
                name, self.resolve(name, version), "corrupt", exc.problems
            )
        folder = self._path(name, m.version)
        found = self.integrity_problems(m, hashes=True)
        if found:
            integrity.write_marker(self.fs, folder, found, by="verify")
            state = "corrupt"
        else:
            integrity.clear_marker(self.fs, folder)
            state = "ok" if m.checksums or not m.files else "unverified"
        return integrity.Verification(name, m.version, state, found, len(m.files), m.bytes)

    # -- reading ----------------------------------------------------------------------------
    def files(self, name: str, version: str | None = "latest") -> list[str]:
        """Paths of a version's files (sizes checked against the manifest)."""
        m = self._intact(self.manifest(name, version))
        return [self._path(name, m.version, f) for f in m.files]

    def read_table(
        self, name: str, version: str | None = "latest", columns: list[str] | None = None
    ) -> pa.Table:
        m = self._intact(self.manifest(name, version))
        if m.kind != "table":
            raise DatasetError(f"dataset {name!r} is an artifact, not a table")
        paths = [self._path(name, m.version, f) for f in m.files]
        schema = pa.schema([])
        if not paths:
            expected = schema_for(name)
            schema = expected if expected is not None else schema
            table = schema.empty_table()
            return table.select(columns) if columns else table
        tables = []
        for p in paths:
            try:
                tables.append(pq.read_table(p, columns=columns, filesystem=self.fs))
            except (OSError, pa.ArrowInvalid) as exc:
                raise CorruptDatasetError(
                    f"dataset {name}@{m.version}: cannot read {p}: {exc} (check with "
                    f"`difffake catalog verify {name}@{m.version}`)",
                    [p],
                ) from exc
        return pa.concat_tables(tables)

    def read_pandas(self, name: str, version: str | None = "latest", columns=None):
        return self.read_table(name, version, columns).to_pandas()

    def artifact_path(self, name: str, version: str | None = "latest") -> str:
        """Folder holding an artifact dataset's files (local catalogs only; sizes checked)."""
        m = self._intact(self.manifest(name, version))
        return self._path(name, m.version)

    def lineage(self, name: str, version: str | None = "latest", depth: int = 8) -> dict:
        """Nested ``{"name", "version", "parents": [...]}`` tree of a dataset's inputs."""
        m = self.manifest(name, version)
        node: dict[str, Any] = {"name": name, "version": m.version, "parents": []}
        if depth > 0:
            for pname, pversion in sorted(m.parents.items()):
                try:
                    node["parents"].append(self.lineage(pname, pversion, depth - 1))
                except (DatasetNotFoundError, VersionNotFoundError):
                    node["parents"].append({"name": pname, "version": pversion, "missing": True})
        return node

    # -- writing ----------------------------------------------------------------------------
    @contextmanager
    def writer(
        self,
        name: str,
        *,
        parents: dict[str, str] | None = None,
        parameters: dict[str, Any] | None = None,
        fingerprint_: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Iterator[DatasetWriter]:
        """Write a new version; it becomes visible only when the block exits cleanly."""
        w = DatasetWriter(self, name, parents or {}, parameters or {}, fingerprint_, metadata)
        try:
            yield w
        except BaseException:
            w.abort()
            raise
        w.commit()

    def write_table(self, name: str, table: pa.Table, **kwargs: Any) -> Manifest:
        with self.writer(name, **kwargs) as w:
            w.write(table)
        return w.manifest

    def publish_together(self) -> groups.PublishGroup:
        """A group of new versions that become visible together or not at all (see
        :class:`~data_catalog.groups.PublishGroup`)."""
        return groups.PublishGroup(self)

    def leftovers(self) -> list[groups.Leftover]:
        """Staging folders and unfinished groups still in the catalog (none removed)."""
        return groups.leftovers(self)

    def write_atomic(self, path: str, text: str) -> None:
        """Write a small file so readers see all of it or nothing."""
        with writing(path, "committing to the catalog", self.unchanged_note()):
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            if self.local:
                tmp = f"{path}.tmp-{uuid.uuid4().hex}"
                try:
                    with open(tmp, "w") as f:
                        f.write(text)
                    os.replace(tmp, path)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
            else:  # object stores: a single put is atomic
                with self.fs.open(path, "w") as f:
                    f.write(text)

    def unchanged_note(self) -> str:
        """What a failed publication leaves: the catalog as it was, the work area kept."""
        return (
            "nothing was published (the catalog is unchanged); finished per-video work is kept "
            f"in the work area {self._path('_work')}, so the same command resumes once the "
            "catalog has room and is writable"
        )

    def work_area(self, stage: str, key: str) -> WorkArea:
        return WorkArea(self, stage, key)


_CLEANED_ROOTS: set[str] = set()  # local roots whose stale staging this process removed


def _new_version(fp: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S.%fZ") + "-" + fp[:8]


class DatasetWriter:
    """Collects parts in a staging folder and publishes them atomically."""

    def __init__(self, catalog, name, parents, parameters, fp, metadata, group=None) -> None:
        self.catalog, self.name = catalog, name
        self.parents, self.parameters = dict(parents), dict(parameters)
        self.schema = schema_for(name)
        self.kind = "table" if self.schema is not None else "artifact"
        self.fp = fp or fingerprint(name, parents, parameters)
        self.metadata = dict(metadata or {})
        self.group = group
        self.staging = catalog._path(name, f"{groups.STAGING_PREFIX}{uuid.uuid4().hex}")
        self.final: str | None = None
        with self._guard(self.staging):
            catalog.fs.makedirs(self.staging, exist_ok=True)
            with catalog.fs.open(posixpath.join(self.staging, groups.OWNER), "w") as f:
                f.write(json.dumps(groups.owner_record()))
        self.files: list[str] = []
        self.rows = 0
        self.manifest: Manifest | None = None

    def _guard(self, path: str):
        """Full disk / read-only / no access while writing ``path``: a clear error."""
        return writing(path, f"writing dataset {self.name}", self.catalog.unchanged_note())

    def _next_part(self) -> str:
        return f"part-{len(self.files):05d}.parquet"

    def write(self, table: pa.Table) -> None:
        """Append a Parquet part, checked against the dataset's schema."""
        if self.schema is None:
            raise DatasetError(f"dataset {self.name!r} is an artifact; use add_file")
        table = conform(table, self.schema, self.name)
        part = self._next_part()
        path = posixpath.join(self.staging, part)
        with self._guard(path):
            pq.write_table(table, path, filesystem=self.catalog.fs)
        self.files.append(part)
        self.rows += table.num_rows

    def add_file(self, src: str | os.PathLike, relpath: str | None = None) -> None:
        """Add a file to an artifact dataset."""
        relpath = relpath or os.path.basename(src)
        dest = posixpath.join(self.staging, relpath)
        with self._guard(dest):
            self.catalog.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
            self.catalog.fs.put_file(str(src), dest)
        self.files.append(relpath)

    def write_bytes(self, relpath: str, data: bytes) -> None:
        dest = posixpath.join(self.staging, relpath)
        with self._guard(dest):
            self.catalog.fs.makedirs(posixpath.dirname(dest), exist_ok=True)
            with self.catalog.fs.open(dest, "wb") as f:
                f.write(data)
        self.files.append(relpath)

    def abort(self) -> None:
        if self.catalog.fs.exists(self.staging):
            self.catalog.fs.rm(self.staging, recursive=True)

    def commit(self) -> Manifest:
        """Publish this version now (a single atomic rename on local catalogs)."""
        self.seal()
        self.publish()
        return self.manifest

    def seal(self) -> Manifest:
        """Checksum the staged files and build the manifest (the version is known from now
        on); on local catalogs the manifest is written into the staging folder."""
        fs = self.catalog.fs
        version = _new_version(self.fp)
        checksums = integrity.record(fs, self.staging, self.files)
        size = sum(c["size"] for c in checksums.values())
        kind = kind_of(self.name)
        self.manifest = Manifest(
            name=self.name,
            version=version,
            kind=self.kind,
            layer=LAYERS.get(kind, "intermediate"),
            schema=schema_to_json(self.schema) if self.schema is not None else [],
            row_count=self.rows,
            bytes=int(size),
            files=list(self.files),
            parents=self.parents,
            parameters=self.parameters,
            code_version=code_version(),
            created_at=dt.datetime.now(dt.UTC).isoformat(),
            fingerprint=self.fp,
            metadata=self.metadata,
            checksums=checksums,
            group=self.group,
        )
        self.final = self.catalog._path(self.name, version)
        if self.catalog.local:
            path = posixpath.join(self.staging, MANIFEST)
            with self._guard(path), open(path, "w") as f:
                f.write(self.manifest.to_json())
        return self.manifest

    def publish(self) -> None:
        """Move the sealed version into place. Alone, it is visible at once; a group member
        becomes visible with its group's record."""
        fs = self.catalog.fs
        with self._guard(self.final):
            if self.group is None:  # the owner record only matters while unpublished
                fs.rm(posixpath.join(self.staging, groups.OWNER))
            if self.catalog.local:
                # Manifest inside staging, then one atomic rename publishes the whole version.
                os.rename(self.staging, self.final)
            else:
                # Object stores have no atomic rename: copy, then write the manifest last.
                fs.mv(self.staging, self.final, recursive=True)
                with fs.open(posixpath.join(self.final, MANIFEST), "w") as f:
                    f.write(self.manifest.to_json())


class WorkArea:
    """Per-item results of a stage, so an interrupted run resumes without redoing work.

    ``key`` fingerprints the stage's parameters and code version: changing either starts a
    fresh area. Each item (a video, identified by its content hash) is one Parquet file per
    table, written to a temporary name and renamed, so a crash never leaves a half item.
    """

    def __init__(self, catalog: Catalog, stage: str, key: str) -> None:
        self.catalog, self.stage, self.key = catalog, stage, key
        self.path = catalog._path("_work", stage, key)
        with writing(self.path, "creating the work area", "no per-video work was lost"):
            catalog.fs.makedirs(self.path, exist_ok=True)

    def _item(self, item: str, table: str) -> str:
        return posixpath.join(self.path, f"{item}.{table}.parquet")

    def has(self, item: str, tables: Iterable[str]) -> bool:
        return all(self.catalog.fs.exists(self._item(item, t)) for t in tables)

    def put(self, item: str, tables: dict[str, pa.Table]) -> None:
        """Store all tables of one item; the ``done`` marker table is written last."""
        fs = self.catalog.fs
        kept = (
            f"the videos finished before it are kept in the work area {self.path}; the same "
            "command resumes from them once there is room"
        )
        for tname, table in tables.items():
            final = self._item(item, tname)
            tmp = final + f".tmp-{uuid.uuid4().hex}"
            try:
                with writing(tmp, "storing per-video results", kept):
                    pq.write_table(table, tmp, filesystem=fs)
                    if self.catalog.local:
                        os.replace(tmp, final)
                    else:
                        fs.mv(tmp, final)
            finally:
                if fs.exists(tmp):
                    fs.rm(tmp)

    def get(self, item: str, table: str) -> pa.Table:
        return pq.read_table(self._item(item, table), filesystem=self.catalog.fs)
