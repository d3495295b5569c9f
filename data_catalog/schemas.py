"""Schemas of the catalog's named datasets, defined in code and checked on every write.

Dataset names are ``{corpus}.{kind}`` (``dev.videos``, ``archive.scores``); the kind picks the
schema. Layers follow kedro's convention: raw -> intermediate -> model input -> models ->
model output -> reporting.
"""

from __future__ import annotations

import pyarrow as pa

from data_catalog.errors import SchemaMismatchError

N_LANDMARKS = 68
# One percentile and one raw-score column per registered signal, in this order (fixed, so the
# scores schema does not depend on which signals a detector uses; unused ones stay null).
SIGNAL_COLUMNS = ("pairs", "adjacent_pairs", "sbi_head", "landmark_dynamics", "frame", "texture")

VIDEOS = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("content_sha256", pa.string()),
        ("size_bytes", pa.int64()),
        ("duration_s", pa.float64()),
        ("fps", pa.float64()),
        ("frame_count", pa.int64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("codec", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("method", pa.string()),
        ("source", pa.string()),
        ("backend", pa.string()),
        ("frames_sampled", pa.int32()),
        ("frames_with_face", pa.int32()),
        ("status", pa.string()),
        ("error", pa.string()),
    ]
)

FACE_CROPS = pa.schema(
    [
        ("video_id", pa.string()),
        ("content_sha256", pa.string()),
        ("frame_index", pa.int64()),
        ("timestamp_s", pa.float64()),
        ("face_index", pa.int16()),
        ("track_id", pa.int32()),
        ("status", pa.string()),
        ("crop", pa.binary()),
        ("crop_size", pa.int32()),
        ("bbox", pa.list_(pa.float32(), 4)),
        ("face_box", pa.list_(pa.float32(), 4)),
        ("landmarks", pa.list_(pa.float32(), 2 * N_LANDMARKS)),
        ("confidence", pa.float32()),
        ("faces_seen", pa.int16()),
        ("face_height_frac", pa.float32()),
        ("yaw", pa.float32()),
        ("pitch", pa.float32()),
        ("roll", pa.float32()),
        # neighbour rows (decoded next to a sampled frame): the sampled frame; null otherwise
        ("anchor_frame", pa.int64()),
    ]
)

EMBEDDINGS = pa.schema(
    [
        ("video_id", pa.string()),
        ("frame_index", pa.int64()),
        ("track_id", pa.int32()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("method", pa.string()),
        ("extractor_version", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("logit", pa.float32()),  # the extractor's fake-vs-real logit (sbi_head signal)
        ("anchor_frame", pa.int64()),  # null for sampled frames (see face_crops)
        ("texture", pa.list_(pa.float32())),  # difffake_core.faces.texture; null on neighbours
    ]
)

EMBEDDING_PAIRS = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("frame_a", pa.int64()),
        ("frame_b", pa.int64()),
        ("op", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("method", pa.string()),
        ("vector", pa.list_(pa.float32())),
    ]
)

SCORES = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("content_sha256", pa.string()),
        ("label", pa.string()),
        ("method", pa.string()),
        ("fake_score", pa.float64()),
        ("baseline_score", pa.float64()),
        ("verdict", pa.string()),
        ("threshold", pa.float64()),
        ("driving_signal", pa.string()),
        *[(f"pct_{s}", pa.float64()) for s in SIGNAL_COLUMNS],
        *[(f"raw_{s}", pa.float64()) for s in SIGNAL_COLUMNS],
        ("frames_used", pa.int32()),
        ("pairs_used", pa.int32()),
        ("tracks", pa.int32()),
        ("detector_version", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("evidence_path", pa.string()),  # absolute path of the evidence sheet PNG, or null
    ]
)

PAIR_SCORES = pa.schema(
    [
        ("video_id", pa.string()),
        ("track_id", pa.int32()),
        ("frame_a", pa.int64()),
        ("frame_b", pa.int64()),
        ("loglik", pa.float64()),
        ("signal", pa.string()),
    ]
)

# The listing of a media archive to score, one part per shard (``shard`` = part index).
# ``size_bytes``/``mtime_ns`` identify a file's content cheaply (null when it cannot be stat'ed).
MEDIA = pa.schema(
    [
        ("video_id", pa.string()),
        ("path", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("method", pa.string()),
        ("source", pa.string()),
        ("size_bytes", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("status", pa.string()),  # set by the listing when a file must not be read
        ("shard", pa.int32()),
    ]
)

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "media": MEDIA,
    "videos": VIDEOS,
    "face_crops": FACE_CROPS,
    "embeddings": EMBEDDINGS,
    "embedding_pairs": EMBEDDING_PAIRS,
    "scores": SCORES,
    "pair_scores": PAIR_SCORES,
}

LAYERS: dict[str, str] = {
    "media": "raw",
    "videos": "raw",
    "face_crops": "intermediate",
    "embeddings": "model_input",
    "embedding_pairs": "model_input",
    "extractor": "models",
    "detector": "models",
    "scores": "model_output",
    "pair_scores": "model_output",
    "evaluation": "reporting",
}


def kind_of(name: str) -> str:
    """``"dev.face_crops"`` -> ``"face_crops"``."""
    return name.rsplit(".", 1)[-1]


def schema_for(name: str) -> pa.Schema | None:
    """The schema a table dataset must have, or None for artifact datasets."""
    return TABLE_SCHEMAS.get(kind_of(name))


def conform(table: pa.Table, schema: pa.Schema, name: str) -> pa.Table:
    """Check ``table`` against ``schema`` (same field names, castable types) and cast to it."""
    missing = [f.name for f in schema if f.name not in table.column_names]
    extra = [c for c in table.column_names if c not in schema.names]
    if missing or extra:
        raise SchemaMismatchError(
            f"dataset {name!r}: columns do not match its schema (missing {missing}, "
            f"unexpected {extra})"
        )
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaMismatchError(f"dataset {name!r}: cannot cast to its schema: {exc}") from exc


def schema_to_json(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]
