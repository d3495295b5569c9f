"""Corpus adapters: one per corpus layout, behind the ``ADAPTERS`` registry.

>>> adapter = get_adapter("ffpp", "/data/FaceForensics++", compression="c23")  # doctest: +SKIP
>>> table = adapter.to_frame()  # video_id, path, label, split, method, source
"""

from data_catalog.adapters import (
    celebdf,
    deeperforensics,
    dfdc,
    ffpp,
    folder,
    forgerynet,
    pattern,
)
from data_catalog.adapters.base import (
    ADAPTERS,
    COLUMNS,
    VIDEO_EXTENSIONS,
    CorpusAdapter,
    CorpusError,
    CorpusRootError,
    DuplicateVideoError,
    ManifestError,
    PathEscapeError,
    VideoEntry,
    get_adapter,
    list_adapters,
    normalise_label,
    normalise_split,
    unique_video_ids,
)
from data_catalog.adapters.celebdf import CelebDFAdapter
from data_catalog.adapters.deeperforensics import DeeperForensicsAdapter
from data_catalog.adapters.dfdc import DFDCAdapter
from data_catalog.adapters.ffpp import FaceForensicsAdapter
from data_catalog.adapters.folder import FolderAdapter
from data_catalog.adapters.forgerynet import ForgeryNetAdapter
from data_catalog.adapters.pattern import GlobAdapter, is_pattern

__all__ = [
    "ADAPTERS",
    "COLUMNS",
    "VIDEO_EXTENSIONS",
    "CelebDFAdapter",
    "CorpusAdapter",
    "CorpusError",
    "CorpusRootError",
    "DFDCAdapter",
    "DeeperForensicsAdapter",
    "DuplicateVideoError",
    "FaceForensicsAdapter",
    "FolderAdapter",
    "ForgeryNetAdapter",
    "GlobAdapter",
    "ManifestError",
    "PathEscapeError",
    "VideoEntry",
    "celebdf",
    "deeperforensics",
    "dfdc",
    "ffpp",
    "folder",
    "forgerynet",
    "get_adapter",
    "is_pattern",
    "list_adapters",
    "normalise_label",
    "normalise_split",
    "unique_video_ids",
    "pattern",
]
