import hashlib
from pathlib import Path

import pytest

from difffake_core.errors import ModelAssetError
from difffake_core.faces import assets


def test_explicit_path_wins_and_is_verified(face_model, monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV_VAR, str(tmp_path / "nowhere.task"))
    assert str(assets.resolve_face_model(face_model)) == face_model


def test_env_var_then_cache(face_model, monkeypatch, tmp_path):
    monkeypatch.setenv(assets.ENV_VAR, face_model)
    assert str(assets.resolve_face_model()) == face_model
    monkeypatch.delenv(assets.ENV_VAR)
    monkeypatch.setenv("DIFFFAKE_CACHE", str(tmp_path))
    with pytest.raises(ModelAssetError, match="not found"):
        assets.resolve_face_model(download=False)
    cached = assets.cache_dir() / assets.FACE_MODEL_FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(Path(face_model).read_bytes())
    assert assets.resolve_face_model(download=False) == cached


def test_wrong_file_is_refused_with_its_checksum(tmp_path):
    bad = tmp_path / "face_landmarker.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelAssetError) as info:
        assets.resolve_face_model(bad)
    assert hashlib.sha256(b"not a model").hexdigest() in str(info.value)
    assert "expected" in str(info.value)


def test_download_verifies_and_is_atomic(face_model, monkeypatch, tmp_path):
    # The real download path, fed from a local URL (no internet here).
    monkeypatch.delenv(assets.ENV_VAR, raising=False)
    monkeypatch.setenv("DIFFFAKE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(assets, "FACE_MODEL_URL", "file://" + face_model)
    got = assets.resolve_face_model()
    assert got == assets.cache_dir() / assets.FACE_MODEL_FILENAME
    assert assets.sha256_of(got) == assets.FACE_MODEL_SHA256

    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(b"x" * 1000)
    dest = tmp_path / "dl" / "model.task"
    with pytest.raises(ModelAssetError):
        assets.download_asset("file://" + str(wrong), dest, assets.FACE_MODEL_SHA256)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial file left behind


def test_download_failure_explains_offline_workaround(tmp_path):
    with pytest.raises(ModelAssetError, match=assets.ENV_VAR):
        assets.download_asset("file:///definitely/missing", tmp_path / "m.task", "0" * 64)
