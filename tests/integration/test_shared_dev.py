"""Real faces: the shared dev clips (skipped with a reason when ../shared is absent)."""

import pytest

from data_catalog.adapters import get_adapter
from difffake_core.faces.analyzer import FaceAnalyzer
from difffake_core.ingest import IngestParams, process_video


@pytest.mark.shared
def test_every_dev_clip_yields_face_crops_on_90_percent_of_frames(shared_dev, face_model):
    entries = get_adapter("folder", shared_dev).to_frame()
    assert len(entries) == 40
    params = IngestParams(n_frames=16)
    rates = {}
    with FaceAnalyzer(face_model) as analyzer:
        for e in entries.itertuples():
            vf = process_video(e.path, params, analyzer)
            assert vf.status == "ok", (e.video_id, vf.error)
            rates[e.video_id] = vf.frames_with_face / vf.frames_sampled
    low = {k: v for k, v in rates.items() if v < 0.9}
    assert not low, f"clips with face crops on < 90% of sampled frames: {low}"
