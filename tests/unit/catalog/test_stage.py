"""The one find-or-build stage step: fingerprint, reuse, parents, atomic build."""

import pytest

from data_catalog import Catalog, DatasetError, DatasetRef, dataset_name, run_stage


def _build(rows):
    def build(w):
        w.write_bytes("x.txt", str(rows).encode())
        w.metadata["rows"] = rows

    return build


def test_dataset_names_follow_one_pattern_and_refs_parse(tmp_path):
    assert dataset_name("dev", "face_crops") == "dev.face_crops"
    with pytest.raises(DatasetError, match="face_crops"):
        dataset_name("dev", "facecrops")
    ref = DatasetRef.of("dev", "videos", "v1")
    assert str(ref) == "dev.videos@v1" and DatasetRef.parse("dev.videos@v1") == ref
    with pytest.raises(DatasetError):
        DatasetRef.parse("dev.videos")


def test_run_stage_builds_once_then_reuses_and_records_every_input(tmp_path):
    cat = Catalog(tmp_path)
    a = DatasetRef("dev.videos", "v1")
    b = DatasetRef("dev.extractor", "e1")
    first = run_stage(cat, "dev.detector", "s-1", [a, b], {"k": 1}, _build(3))
    assert not first.reused and first.metadata == {"rows": 3}
    assert cat.manifest("dev.detector", first.ref.version).parents == {
        "dev.videos": "v1", "dev.extractor": "e1",
    }  # fmt: skip
    again = run_stage(cat, "dev.detector", "s-1", [b, a], {"k": 1}, _build(99))
    assert again.reused and again.ref == first.ref and again.metadata == {"rows": 3}
    for changed in [
        ("s-2", [a, b], {"k": 1}),
        ("s-1", [a, DatasetRef("dev.extractor", "e2")], {"k": 1}),
        ("s-1", [a, b], {"k": 2}),
    ]:
        out = run_stage(cat, "dev.detector", *changed, _build(1))
        assert not out.reused and out.ref != first.ref


def test_a_failed_build_publishes_nothing(tmp_path):
    cat = Catalog(tmp_path)

    def boom(w):
        w.write_bytes("half", b"x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_stage(cat, "dev.detector", "s-1", [], {}, boom)
    assert cat.versions("dev.detector") == []
