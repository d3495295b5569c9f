"""The real ``cpu-small`` recipe on real faces (slow: minutes on 2 cores)."""

from __future__ import annotations

import pytest

from difffake_core.training import get_preset, load_extractor, train_extractor
from tests.unit.training.real_crops import dev_data_missing, dev_video_records


@pytest.mark.slow
@pytest.mark.shared
def test_cpu_small_separates_pseudo_fakes_of_held_out_videos(tmp_path):
    reason = dev_data_missing()
    if reason:
        pytest.skip(reason)
    records = dev_video_records(n_videos=15, frames=16, size=224)
    assert len({r.video_id for r in records}) == 15
    config = get_preset("cpu-small")
    result = train_extractor(records, config, tmp_path, training_data={"crops": "shared/dev real"})
    print(f"cpu-small: best val AUC {result.val_auc:.4f} in {result.seconds:.0f} s", result.history)
    assert result.val_auc >= 0.90
    model, card = load_extractor(result.best_dir)
    assert card["preset"] == "cpu-small" and card["metrics"]["val_auc"] == result.val_auc
    assert card["training_data"] == {"crops": "shared/dev real"} and model.embed_dim == 1280
