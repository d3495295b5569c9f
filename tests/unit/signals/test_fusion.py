"""Percentile, combination and calibration math of the fused score on known inputs."""

import numpy as np
import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.signals import (
    CalibrationError,
    FusionRule,
    calibrate_fusion,
    combine_percentiles,
    driving_signal,
    percentile,
)


def test_percentile_plotting_positions_and_interpolation():
    ref = np.array([3.0, 1.0, 2.0])  # sorted 1, 2, 3 at 1/4, 2/4, 3/4
    p = percentile(np.array([1.0, 2.0, 3.0, 1.5, 2.5]), ref)
    np.testing.assert_allclose(p, [0.25, 0.5, 0.75, 0.375, 0.625])


def test_percentile_tails_are_strictly_monotone_inside_zero_one():
    ref = np.array([0.0, 1.0, 2.0, 3.0])
    tau = np.std(ref)
    x = np.array([-10.0, -1.0, 4.0, 5.0, 50.0])
    p = percentile(x, ref)
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))
    z = 1 / tau
    np.testing.assert_allclose(p[2], 0.8 + 0.2 * z / (1 + z))
    np.testing.assert_allclose(p[1], 0.2 / (1 + z))
    assert np.isnan(percentile(np.nan, ref))


def test_percentile_ties_take_the_mean_position():
    p = percentile(np.array([1.0]), np.array([1.0, 1.0, 2.0]))
    np.testing.assert_allclose(p, [(0.25 + 0.5) / 2])


def test_combination_rules_on_known_rows():
    p = np.array([[0.9, 0.5, np.nan], [0.2, 0.4, 0.6], [np.nan, np.nan, np.nan]])
    np.testing.assert_allclose(combine_percentiles(p, "sidak_max")[:2], [0.81, 0.6**3])
    np.testing.assert_allclose(combine_percentiles(p, "top2_mean")[:2], [0.7, 0.5])
    np.testing.assert_allclose(combine_percentiles(p, "mean")[:2], [0.7, 0.4])
    assert np.isnan(combine_percentiles(p, "mean")[2])
    one = np.array([[0.3]])
    assert combine_percentiles(one, "top2_mean")[0] == pytest.approx(0.3)
    assert driving_signal(p, ["a", "b", "c"]) == ["a", "c", None]
    with pytest.raises(UnknownNameError, match="sidak_max"):
        combine_percentiles(p, "median")


def test_single_signal_fusion_keeps_the_order_of_raw_scores():
    rng = np.random.default_rng(0)
    cal = rng.normal(size=20)
    fusion = calibrate_fusion({"pairs": cal}, FusionRule.SIDAK_MAX, 0.1)
    x = np.sort(rng.normal(scale=3, size=50))
    fused = fusion.score({"pairs": x})["fake_score"]
    assert np.all(np.diff(fused) > 0)


def test_calibration_uses_leave_one_out_and_meets_target_fpr():
    rng = np.random.default_rng(1)
    cal = {"a": rng.normal(size=40), "b": rng.normal(size=40)}
    fusion = calibrate_fusion(cal, "sidak_max", target_fpr=0.1)
    assert fusion.info["calibration_videos"] == 40
    assert fusion.info["calibration_fpr_loo"] <= 0.1
    # a real beyond every calibration score in both signals is flagged
    out = fusion.score({"a": np.array([10.0, 0.0]), "b": np.array([10.0, np.nan])})
    assert out["verdict"][0] == "fake" and out["driving"][1] == "a"
    assert out["percentiles"].shape == (2, 2) and np.isnan(out["percentiles"][1, 1])


def test_too_few_calibration_reals_is_a_clear_error():
    with pytest.raises(CalibrationError, match="at least 8"):
        calibrate_fusion({"a": np.arange(10.0), "b": np.r_[np.arange(5.0), [np.nan] * 5]})


def test_fusion_round_trips_bit_identically(tmp_path):
    from difffake_core.signals import load_fusion, save_fusion

    rng = np.random.default_rng(2)
    fusion = calibrate_fusion({"a": rng.normal(size=12), "b": rng.gamma(2.0, size=12)}, "top2_mean")
    save_fusion(fusion, tmp_path)
    loaded = load_fusion(tmp_path)
    assert loaded.rule is fusion.rule and loaded.threshold == fusion.threshold
    x = {"a": rng.normal(size=30) * 3, "b": rng.gamma(2.0, size=30)}
    assert fusion.score(x)["fake_score"].tobytes() == loaded.score(x)["fake_score"].tobytes()
