from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from safetensors.torch import save_file

from difffake_core.errors import ModelAssetError
from difffake_core.models import weights as W
from difffake_core.models.backbones import create_extractor


def test_map_by_position_renames_and_reports_first_mismatch():
    target = OrderedDict(a=torch.zeros(2, 3), b=torch.zeros(4))
    source = OrderedDict(x=torch.ones(2, 3), y=torch.ones(4))
    mapped = W.map_by_position(source, target, "src")
    assert list(mapped) == ["a", "b"] and mapped["b"] is source["y"]
    with pytest.raises(ModelAssetError, match=r"'y' has shape \(5,\).*'b'.*\(4,\)"):
        W.map_by_position(OrderedDict(x=torch.ones(2, 3), y=torch.ones(5)), target, "src")
    with pytest.raises(ModelAssetError, match="3 tensors"):
        W.map_by_position(
            OrderedDict(x=torch.ones(1), y=torch.ones(1), z=torch.ones(1)), target, "src"
        )


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_local_weight_file_round_trip(tmp_path, tiny_name, suffix):
    torch.manual_seed(0)
    source = create_extractor(tiny_name, weights="none", num_classes=7)
    state = {f"backbone.{k}": v for k, v in source.backbone.state_dict().items()}
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save(state, path)  # a plain tensor dict: readable with weights_only=True
    # same head size: weights kept entirely
    same = create_extractor(tiny_name, weights=path, num_classes=7)
    for key, value in source.backbone.state_dict().items():
        assert torch.equal(same.backbone.state_dict()[key], value), key
    # different head size: body kept, head re-initialised
    two = create_extractor(tiny_name, weights=path, num_classes=2)
    assert two.num_classes == 2
    assert torch.equal(two.backbone.conv_head.weight, source.backbone.conv_head.weight)


def test_weight_file_errors(tmp_path, tiny_name):
    with pytest.raises(ModelAssetError, match="not found"):
        create_extractor(tiny_name, weights=tmp_path / "missing.safetensors")
    wrong = tmp_path / "wrong.safetensors"
    save_file({"conv_stem.weight": torch.zeros(1)}, str(wrong))
    with pytest.raises(ModelAssetError, match="missing keys"):
        create_extractor(tiny_name, weights=wrong)


def test_hub_weights_offline_error_suggests_a_local_file(monkeypatch, tiny_name):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelAssetError) as err:
        create_extractor("resnet50", weights="resnet50.a1_in1k")
    assert "resnet50.a1_in1k" in str(err.value) and "local file" in str(err.value)


def test_hub_weights_of_another_architecture_are_refused(monkeypatch):
    import timm

    monkeypatch.setattr(W, "create_hub_model", lambda name: timm.create_model("resnet18"))
    with pytest.raises(ValueError, match="architecture 'resnet18'"):
        create_extractor("resnet50", weights="resnet18.a1_in1k")


def test_unknown_pretrained_tag_lists_the_architectures_weights():
    from difffake_core.errors import UnknownNameError

    with pytest.raises(UnknownNameError) as err:
        create_extractor("resnet50", weights="resnet50.bogus_in1k")
    assert "resnet50.a1_in1k" in str(err.value) and "resnet50.bogus_in1k" in str(err.value)


def test_weights_argument_kinds():
    assert W.looks_like_file("/models/extractor.safetensors")
    assert W.looks_like_file("weights.pth")
    assert not W.looks_like_file("resnet50.a1_in1k")
    assert not W.looks_like_file("hf-hub:timm/resnet50.a1_in1k")
