"""Temporal extractor training: track partners, two-frame items, the pair loss, a tiny run."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from difffake_core.training import CropRecord, TrainConfig, load_extractor, train_extractor
from difffake_core.training.loop import build_model, sam_train_step, temporal_loss, to_input
from difffake_core.training.temporal import (
    DriftingPseudoFakeSequences,
    collate_sequences,
    pair_changes,
    temporal_pair_loss,
    track_partners,
)


def _tracked(records, frames_per_video: int):
    """The fixture's records with track ids and frame indices (one track per video)."""
    return [
        dataclasses.replace(r, track_id=0, frame_index=10 * (i % frames_per_video))
        for i, r in enumerate(records)
    ]


def test_track_partners_pair_each_frame_with_the_next_of_its_track():
    lms = np.zeros((68, 2), np.float32)
    img = np.zeros((8, 8, 3), np.uint8)

    def rec(video, track, frame):
        return CropRecord(image=img, landmarks=lms, video_id=video, track_id=track,
                          frame_index=frame)  # fmt: skip

    records = [rec("a", 0, 30), rec("a", 0, 10), rec("a", 1, 20), rec("a", 0, 20),
               rec("b", 0, 10), rec("b", 0, 40), rec("c", None, None)]  # fmt: skip
    # track a/0 in frame order: 1 (10) -> 3 (20) -> 0 (30); the last pairs back with 3
    assert track_partners(records).tolist() == [3, 3, 2, 0, 5, 4, 6]


def test_pair_changes_and_loss_on_known_tensors():
    e = torch.zeros(8, 3)
    e[0:2, 0] = 1.0  # real a: x
    e[2:4, 0] = 2.0  # real b: same direction (norm removed) -> change 0
    e[4:6, 0] = 1.0  # fake a: x
    e[6:8, 1] = 3.0  # fake b: y -> change |x - y|^2 = 2
    d_real, d_fake = pair_changes(e)
    assert torch.allclose(d_real, torch.zeros(2)) and torch.allclose(d_fake, torch.full((2,), 2.0))
    loss = temporal_pair_loss(e, temperature=0.5)
    assert math.isclose(float(loss), math.log1p(math.exp(-4.0)), rel_tol=1e-6)
    swapped = torch.cat([e[4:], e[:4]])  # the fake pair now changes less: a large loss
    assert math.isclose(float(temporal_pair_loss(swapped, 0.5)), math.log1p(math.exp(4.0)),
                        rel_tol=1e-6)  # fmt: skip
    equal = torch.cat([e[:4], e[:4]])
    assert math.isclose(float(temporal_pair_loss(equal, 0.1)), math.log(2.0), rel_tol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(4n, D\)"):
        pair_changes(torch.zeros(6, 3))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        temporal_pair_loss(e, 0.0)


def test_sequence_items_hold_a_frame_and_its_partner_with_one_drifting_blend(records):
    tracked = _tracked(records, 4)
    ds = DriftingPseudoFakeSequences(tracked, 48, seed=5, drift=0.25, augment=False)
    reals, fakes = ds[0]
    assert reals.shape == fakes.shape == (2, 48, 48, 3) and reals.dtype == np.uint8
    assert not np.array_equal(reals[0], reals[1])  # two different frames of the track
    assert not np.array_equal(reals, fakes)
    again = DriftingPseudoFakeSequences(tracked, 48, seed=5, drift=0.25, augment=False)
    assert all(np.array_equal(a, b) for a, b in zip(ds[0], again[0], strict=True))
    ds.set_epoch(1)
    assert not np.array_equal(ds[0][1], again[0][1])  # a new epoch draws new blends
    images, labels = collate_sequences([again[0], again[1], again[2]])
    assert images.shape == (12, 48, 48, 3) and labels.tolist() == [0] * 6 + [1] * 6
    r0, f0 = again[0]
    assert np.array_equal(images[0].numpy(), r0[0]) and np.array_equal(images[3].numpy(), r0[1])
    assert np.array_equal(images[6].numpy(), f0[0]) and np.array_equal(images[9].numpy(), f0[1])


def test_config_validates_and_round_trips_the_temporal_fields():
    config = TrainConfig(batch_size=8, temporal_weight=0.5, temporal_drift=0.1,
                         temporal_temperature=0.2)  # fmt: skip
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig().temporal_weight == 0.0  # the frame-only recipe by default
    old_card = {k: v for k, v in config.to_dict().items() if not k.startswith("temporal_")}
    assert TrainConfig.from_dict(old_card).temporal_weight == 0.0  # cards made before the option
    with pytest.raises(ValueError, match="divisible by 4"):
        TrainConfig(batch_size=6, temporal_weight=1.0)
    with pytest.raises(ValueError, match="temporal_drift"):
        TrainConfig(temporal_drift=2.0)
    with pytest.raises(ValueError, match="temporal_weight"):
        TrainConfig(temporal_weight=-1.0)


def test_the_pair_term_changes_the_update(tiny_name, records):
    tracked = _tracked(records, 4)
    ds = DriftingPseudoFakeSequences(tracked, 32, seed=0, drift=0.3, augment=False)
    images, labels = collate_sequences([ds[i] for i in range(2)])
    params = []
    for weight in (1e-9, 5.0):
        config = TrainConfig(backbone=tiny_name, weights="none", batch_size=8, input_size=32,
                             temporal_weight=weight, lr=0.1, seed=1)  # fmt: skip
        model, sam = build_model(config)
        x = to_input(model, images, config.channels_last)
        loss = sam_train_step(model, sam, x, labels, temporal_loss(weight, 0.05))
        assert math.isfinite(loss)
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert not torch.allclose(params[0], params[1])


def test_tiny_temporal_training_run_records_the_option_in_the_card(tmp_path, tiny_name, records):
    config = TrainConfig(backbone=tiny_name, weights="none", epochs=2, batch_size=8,
                         steps_per_epoch=2, input_size=48, top_k=1, seed=3, threads=1, lr=0.01,
                         temporal_weight=1.0, temporal_drift=0.2)  # fmt: skip
    tracked = _tracked(records, 4)
    result = train_extractor(tracked, config, tmp_path / "run")
    assert all(math.isfinite(h["train_loss"]) for h in result.history)
    model, card = load_extractor(result.best_dir)
    assert card["config"]["temporal_weight"] == 1.0
    assert TrainConfig.from_dict(card["config"]) == config
    again = train_extractor(tracked, config, tmp_path / "again")
    a = load_file(str(result.last_dir / "model.safetensors"))
    b = load_file(str(again.last_dir / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # seeded: the same weights
    frame_only = train_extractor(tracked, dataclasses.replace(config, temporal_weight=0.0),
                                 tmp_path / "frame")  # fmt: skip
    c = load_file(str(frame_only.last_dir / "model.safetensors"))
    assert any(not torch.equal(a[k], c[k]) for k in a)
