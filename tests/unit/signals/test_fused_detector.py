"""A fused detector: fit signals on reals, calibrate, score, save and load bit-identically."""

import numpy as np
import pytest

from difffake_core.detector import Detector
from difffake_core.signals import CalibrationError, calibrate_signals, fit_signals
from tests.unit.signals.test_signals import SMALL, make_video

NAMES = ["pairs", "adjacent_pairs", "sbi_head", "landmark_dynamics", "frame"]


@pytest.fixture(scope="module")
def fused():
    rng = np.random.default_rng(11)
    reals = [make_video(f"r{i}", rng) for i in range(14)]
    cal = [make_video(f"c{i}", rng) for i in range(10)]
    fitted, skipped = fit_signals(reals, NAMES, SMALL)
    assert not skipped
    fusion = calibrate_signals(fitted, cal, "sidak_max", target_fpr=0.1)
    return Detector(anomaly=None, threshold=fusion.threshold, signals=fitted, fusion=fusion), rng


def test_fused_scores_flag_fakes_and_name_the_driving_signal(fused):
    det, rng = fused
    fake = det.score_faces(make_video("f", rng, fake=True))
    real = det.score_faces(make_video("r", rng))
    assert 0 <= real.fake_score < fake.fake_score <= 1
    assert fake.verdict == "fake" and fake.driving_signal in NAMES
    assert set(fake.percentiles) == set(NAMES) and set(fake.raw) == set(NAMES)
    assert set(fake.pair_table["signal"]) == set(NAMES)


def test_fused_detector_round_trips_bit_identically(fused, tmp_path):
    det, rng = fused
    det.save(tmp_path / "d")
    loaded = Detector.load(tmp_path / "d")
    assert loaded.is_fused and loaded.threshold == det.threshold
    for v in [make_video("x", rng, fake=True), make_video("y", rng)]:
        a, b = det.score_faces(v), loaded.score_faces(v)
        assert np.float64(a.fake_score).tobytes() == np.float64(b.fake_score).tobytes()
        assert a.raw == b.raw and a.driving_signal == b.driving_signal


def test_missing_signal_inputs_leave_it_out_of_the_fusion(fused):
    det, rng = fused
    v = make_video("n", rng, neighbours=False)
    out = det.score_faces(v)
    assert np.isnan(out.percentiles["adjacent_pairs"]) and np.isfinite(out.fake_score)


def test_signal_that_cannot_fit_is_left_out_with_its_reason():
    rng = np.random.default_rng(0)
    reals = [make_video(f"r{i}", rng, neighbours=False) for i in range(6)]
    with pytest.warns(UserWarning, match="adjacent_pairs"):
        fitted, skipped = fit_signals(reals, ["pairs", "adjacent_pairs"], SMALL)
    assert list(fitted) == ["pairs"] and "adjacent_pairs" in skipped
    with pytest.raises(CalibrationError):
        calibrate_signals(fitted, reals[:3])
