"""Face thresholds and track gates have one declaration; IngestParams follows them."""

import dataclasses

from difffake_core.faces.quality import QualityThresholds
from difffake_core.faces.tracks import TrackParams
from difffake_core.ingest import IngestParams


def test_default_ingest_params_hand_on_the_default_face_thresholds_and_track_gates():
    params = IngestParams()
    assert params.quality() == QualityThresholds()
    assert params.tracking() == TrackParams()


def test_a_changed_threshold_reaches_the_quality_check():
    params = dataclasses.replace(IngestParams(), max_abs_yaw=30.0, track_max_gap=7)
    assert params.quality().max_abs_yaw == 30.0 and params.tracking().max_gap == 7
