"""Issue 9, case 4: every file of a detector folder is checksummed, loading verifies it, and
the version comes from the content (so one version never has two thresholds)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from data_catalog import Catalog
from difffake_core.detector import CHECKSUMS_FILE, Detector, PairSettings, write_checksums
from difffake_core.detector_fit import FitSettings, fit_detector
from difffake_core.errors import ModelAssetError
from difffake_core.signals import build_faceset


def _faces(rng, i: int, n: int = 6, dim: int = 16):
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return build_faceset(f"v{i}", np.arange(n), np.zeros(n, np.int64), vectors=vectors)


def _save(folder: Path) -> Detector:
    rng = np.random.default_rng(0)
    settings = FitSettings(pairs=PairSettings(images_to_pair=2, min_pairs=2),
                           signals=("pairs", "frame"), min_calibration=2)  # fmt: skip
    fitted = fit_detector([_faces(rng, i) for i in range(12)],
                          [_faces(rng, i) for i in range(12, 16)], settings)  # fmt: skip
    ext = folder.parent / "extractor-src"
    ext.mkdir(exist_ok=True)
    save_file({"w": np.arange(64, dtype=np.float32)}, str(ext / "model.safetensors"))
    (ext / "card.json").write_text(json.dumps({"input_size": 128}))
    fitted.detector.save(folder, extractor_dir=ext)
    return fitted.detector


@pytest.fixture
def detector(tmp_path) -> tuple[Path, Detector]:
    folder = tmp_path / "det"
    return folder, _save(folder)


def _flip(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_file_is_listed_and_the_version_is_the_content(detector):
    folder, det = detector
    listed = json.loads((folder / CHECKSUMS_FILE).read_text())["files"]
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {CHECKSUMS_FILE}
    for needed in ("detector.json", "extractor/model.safetensors", "extractor/card.json",
                   "fusion.json", "fusion.safetensors"):  # fmt: skip
        assert needed in listed
    assert any(k.startswith("signals/pairs/") and k.endswith(".safetensors") for k in listed)
    assert re.fullmatch(r"[0-9a-f]{16}", det.version)
    assert Detector.load(folder).version == det.version
    copy = folder.parent / "copy"
    shutil.copytree(folder, copy)
    assert Detector.load(copy).version == det.version  # from the bytes, not the path


def test_a_flipped_byte_in_any_file_is_refused_naming_the_file(detector):
    folder, _ = detector
    listed = sorted(json.loads((folder / CHECKSUMS_FILE).read_text())["files"])
    for rel in listed:
        original = (folder / rel).read_bytes()
        _flip(folder / rel)
        with pytest.raises(ModelAssetError, match=re.escape(str(folder / rel))):
            Detector.load(folder)
        (folder / rel).write_bytes(original)
    Detector.load(folder)  # restored: accepted again


def test_an_edited_threshold_is_refused_and_resealing_changes_the_version(detector):
    folder, det = detector
    card = json.loads((folder / "detector.json").read_text())
    card["threshold"] = 0.999
    (folder / "detector.json").write_text(json.dumps(card))
    with pytest.raises(ModelAssetError, match="detector.json: content differs"):
        Detector.load(folder)
    assert write_checksums(folder) != det.version  # re-sealed: a different version


def test_missing_unlisted_and_old_detectors(detector):
    folder, _ = detector
    (folder / "signals" / "extra.json").write_text("{}")
    with pytest.raises(ModelAssetError, match="extra.json: not listed"):
        Detector.load(folder)
    (folder / "signals" / "extra.json").unlink()
    (folder / "fusion.json").rename(folder / "fusion.bak")
    with pytest.raises(ModelAssetError, match="fusion.json: listed in checksums.json but missing"):
        Detector.load(folder)
    (folder / "fusion.bak").rename(folder / "fusion.json")
    (folder / CHECKSUMS_FILE).unlink()
    with pytest.raises(ModelAssetError, match="before detectors were checksummed.*retrain"):
        Detector.load(folder)


def test_a_catalog_version_only_ever_holds_its_published_content(detector, tmp_path):
    from tasks.score import _detectors, resolve_detector

    folder, det = detector
    catalog = Catalog(tmp_path / "cat")
    with catalog.writer("t.detector", metadata={"content_version": det.version}) as w:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                w.add_file(p, p.relative_to(folder).as_posix())
    name, version, published = resolve_detector(catalog, "t.detector")
    assert (name, version) == ("t.detector", w.manifest.version)
    _detectors.clear()
    card_path = Path(published) / "detector.json"
    text = card_path.read_text()
    value = re.search(r'"threshold": (\d\.\d)', text)
    digit = value.group(1)[-1]
    edited = text[: value.end() - 1] + ("1" if digit != "1" else "2") + text[value.end() :]
    card_path.write_text(edited)  # same size: only a hash would see it
    write_checksums(published)  # tampered and re-sealed in place
    with pytest.raises(ModelAssetError, match="not the ones published"):
        resolve_detector(catalog, "t.detector")
    _detectors.clear()
    assert resolve_detector(catalog, str(folder))[1] == det.version  # a folder: its content
