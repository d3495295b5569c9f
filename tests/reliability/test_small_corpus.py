"""Issue 9, case 10: retrain on a corpus too small to calibrate fails before any training,
saying what it found and what it needs."""

from __future__ import annotations

import pandas as pd
import pytest

from difffake_core.detector import PairSettings
from difffake_core.detector_fit import check_training_data, split_real_videos
from difffake_core.errors import NotEnoughDataError
from tests.support.media import astronaut, moving_frames, write_video


def _videos(n: int, bad: int = 0) -> pd.DataFrame:
    rows = [{"video_id": f"v{i}", "status": "ok", "label": "real", "split": None}
            for i in range(n)]  # fmt: skip
    rows += [{"video_id": f"b{i}", "status": "corrupt", "label": "real", "split": None}
             for i in range(bad)]  # fmt: skip
    return pd.DataFrame(rows)


def test_six_clips_are_refused_with_counts_and_what_is_needed():
    videos = _videos(6, bad=1)
    fit, cal = split_real_videos(videos, 0.3, 0)
    with pytest.raises(NotEnoughDataError) as err:
        check_training_data(videos, {v: 8 for v in fit + cal}, fit, cal, PairSettings(), 8, 0.3)
    text = str(err.value)
    assert "7 videos listed (1 corrupt, 6 ok)" in text and "6 usable real videos" in text
    assert f"{len(cal)} of the {len(cal)} held-out" in text and "at least 8 are needed" in text
    assert "at least 27 usable real videos" in text


def test_short_tracks_do_not_count_and_a_big_enough_corpus_passes():
    videos = _videos(40)
    fit, cal = split_real_videos(videos, 0.3, 0)
    frames = {v: 8 for v in fit + cal}
    counts = check_training_data(videos, frames, fit, cal, PairSettings(), 8, 0.3)
    assert counts["calibrate_scorable"] == len(cal) == 12 and counts["fit_pairs"] == 28 * 4
    frames.update({v: 3 for v in cal[:6]})  # 3 frames: 1 pair, below min_pairs=4
    with pytest.raises(NotEnoughDataError, match="6 of the 12 held-out"):
        check_training_data(videos, frames, fit, cal, PairSettings(), 8, 0.3)


def test_retrain_cli_on_six_clips_fails_before_training(face_model, prefect_harness, tmp_path,
                                                        capfd, caplog):  # fmt: skip
    from data_catalog import Catalog
    from flows.cli import main

    root = tmp_path / "six"
    root.mkdir()
    for i in range(6):
        write_video(root / f"clip{i}.mp4", moving_frames(astronaut(), 10, seed=i))
    catalog = tmp_path / "catalog"
    code = main(["retrain", str(root), "--catalog", str(catalog), "--frames", "8"])
    err = capfd.readouterr().err
    assert code == 2, err
    assert "error: too little usable footage to retrain: 6 videos listed (6 ok)" in err
    assert "Traceback" not in err
    assert "PydanticSerializationUnexpectedValue" not in err  # the CLI's settings are typed
    # Prefect's run records of the user error (with its traceback) are dropped: its console
    # handler writes to the stream it was set up with, so they are looked for in the records
    assert not [r for r in caplog.records if r.name.startswith("prefect") and r.exc_info]
    names = Catalog(catalog).names()
    assert "six.videos" in names and "six.extractor" not in names  # stopped before training
