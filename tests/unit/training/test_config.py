from __future__ import annotations

import pytest

from difffake_core.errors import UnknownNameError
from difffake_core.models.backbones import BACKBONES
from difffake_core.training.config import PRESETS, TrainConfig, get_preset


def test_presets_follow_the_documented_recipes():
    paper = get_preset("paper")
    assert paper.backbone == "tf_efficientnet_b4.ap_in1k" and paper.backbone in BACKBONES
    assert (paper.epochs, paper.batch_size, paper.lr, paper.momentum) == (100, 32, 1e-3, 0.9)
    assert paper.decay_start == 0.75 and paper.input_size == 380
    small = get_preset("cpu-small")
    assert small.backbone == "efficientnet_lite0" and small.input_size == 224
    assert small.freeze_groups > 0 and small.weights == "default"
    assert small.temporal_weight == 0.0 and paper.temporal_weight == 0.0  # frame-only recipes
    medium = get_preset("cpu-medium")
    assert medium.backbone == "efficientnet_lite1" and medium.backbone in BACKBONES
    assert medium.freeze_groups < small.freeze_groups  # more of the network trains
    # bounded: a fixed number of SAM steps whatever the corpus size
    assert medium.steps_per_epoch is not None and medium.epochs * medium.steps_per_epoch <= 600


def test_cpu_medium_trains_more_of_its_network_than_cpu_small():
    from difffake_core.training.loop import build_model
    from difffake_core.training.sam import trainable

    counts = {}
    for name in ("cpu-small", "cpu-medium"):
        model, _ = build_model(get_preset(name, weights="none"))  # only the shapes matter
        counts[name] = sum(p.numel() for p in trainable(model.parameters()))
        assert model.input_size == get_preset(name).input_size
    assert counts["cpu-medium"] > counts["cpu-small"]


def test_overrides_and_unknown_presets():
    assert get_preset("cpu-small", epochs=1).epochs == 1
    with pytest.raises(UnknownNameError, match="cpu-medium, cpu-small, paper"):
        get_preset("gpu-huge")
    assert set(PRESETS.names()) == {"cpu-medium", "cpu-small", "paper"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("batch_size", 7, "even"),
        ("epochs", 0, "epochs"),
        ("val_fraction", 0.0, "val_fraction"),
        ("lr", 0, "lr"),
    ],
)
def test_invalid_configs_name_the_wrong_value(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_dict_round_trip_and_unknown_fields():
    config = get_preset("cpu-small", seed=3)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict({"learning_rate": 1.0})
