from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file

from difffake_core.training import TrainConfig, TrainEvent, load_extractor, train_extractor


def _config(tiny_name, **kw):
    base = dict(
        backbone=tiny_name, weights="none", epochs=3, batch_size=8, val_fraction=0.2, top_k=2,
        seed=11, threads=1, lr=0.01,
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


class _Interrupt(Exception):
    pass


def _comparable(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_resumed_run_reaches_the_uninterrupted_result(tmp_path, tiny_name, records):
    config = _config(tiny_name)
    events: list[TrainEvent] = []
    full = train_extractor(records, config, tmp_path / "full", progress=events.append)

    def stop_after_first_epoch(event: TrainEvent) -> None:
        if event.kind == "epoch" and event.epoch == 0:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        train_extractor(records, config, tmp_path / "cut", progress=stop_after_first_epoch)
    assert (tmp_path / "cut" / "last" / "state.json").is_file()
    resumed = train_extractor(records, config, tmp_path / "cut")

    assert _comparable(resumed.history) == _comparable(full.history)
    a = load_file(str(full.last_dir / "model.safetensors"))
    b = load_file(str(resumed.last_dir / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    # history, progress and top-k bookkeeping
    assert [h["epoch"] for h in full.history] == [0, 1, 2]
    assert full.history[-1]["lr"] == 0.0  # linear decay reaches zero at the end
    epoch_events = [e for e in events if e.kind == "epoch"]
    assert [e.val_auc for e in epoch_events] == [h["val_auc"] for h in full.history]
    assert events[-1].kind == "end" and any(e.kind == "step" for e in events)
    assert len(full.checkpoints) == 2 and full.best_dir == full.checkpoints[0]
    aucs = [h["val_auc"] for h in full.history]
    assert full.val_auc == max(aucs) and not math.isnan(full.val_auc)
    kept_dirs = sorted(p.name for p in (tmp_path / "full" / "checkpoints").iterdir())
    assert len(kept_dirs) == 2
    model, card = load_extractor(full.best_dir)
    assert card["metrics"]["val_auc"] == full.val_auc and card["config"]["seed"] == 11


def test_resume_with_another_config_is_refused(tmp_path, tiny_name, records):
    train_extractor(records, _config(tiny_name, epochs=1), tmp_path)
    with pytest.raises(ValueError, match="different config"):
        train_extractor(records, _config(tiny_name, epochs=1, lr=0.5), tmp_path)


def test_too_few_crops_for_a_batch(tmp_path, tiny_name, records):
    with pytest.raises(ValueError, match="cannot fill one batch"):
        train_extractor(records, _config(tiny_name, batch_size=64), tmp_path)
