from __future__ import annotations

import json

import numpy as np
import pytest
import timm
import torch

from difffake_core.errors import ModelAssetError
from difffake_core.models.backbones import create_extractor
from difffake_core.training.checkpoint import (
    flatten_optimizer,
    load_extractor,
    save_extractor,
    unflatten_optimizer,
)


def test_reloaded_checkpoint_gives_bit_identical_embeddings(tmp_path, tiny_name, records):
    torch.manual_seed(0)
    model = create_extractor(tiny_name, weights="none").train()
    with torch.no_grad():  # move the batch-norm statistics away from their defaults
        model(torch.randn(8, 3, 64, 64))
    model.eval()
    directory = save_extractor(
        model, {"preset": "unit", "training_data": {"crops": "v3"}}, tmp_path / "ck"
    )
    loaded, card = load_extractor(directory)
    batch = np.stack([r.decode() for r in records[:4]])
    with torch.inference_mode():
        a = model.embed(model.preprocess(batch))
        b = loaded.embed(loaded.preprocess(batch))
    assert torch.equal(a, b)
    assert not loaded.training
    assert card["backbone"] == tiny_name and card["preset"] == "unit"
    assert card["training_data"] == {"crops": "v3"}
    assert card["embed_dim"] == 256 == loaded.embed_dim and card["input_size"] == 64
    assert (
        card["versions"]["timm"] == timm.__version__
        and card["versions"]["torch"] == torch.__version__
    )
    assert len(card["mean"]) == 3 and len(card["std"]) == 3


def test_checkpoint_holds_only_safetensors_and_json(tmp_path, tiny_name):
    directory = save_extractor(create_extractor(tiny_name, weights="none"), None, tmp_path / "ck")
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["card.json", "model.safetensors"]
    json.loads((directory / "card.json").read_text())
    assert (directory / "model.safetensors").read_bytes()[8:9] == b"{"  # safetensors header


def test_loading_something_else_fails_clearly(tmp_path):
    with pytest.raises(ModelAssetError, match="no card.json"):
        load_extractor(tmp_path)
    (tmp_path / "card.json").write_text(json.dumps({"format": "pickle/0"}))
    with pytest.raises(ModelAssetError, match="unsupported checkpoint format"):
        load_extractor(tmp_path)


def test_optimizer_state_round_trips_through_tensors_and_json():
    w = torch.nn.Parameter(torch.randn(3, 2))
    b = torch.nn.Parameter(torch.randn(2))
    opt = torch.optim.SGD([w, b], lr=0.1, momentum=0.9)
    (w.sum() * 2 + b.sum()).backward()
    opt.step()
    tensors, meta = flatten_optimizer(opt.state_dict())
    assert set(tensors) == {"state.0.momentum_buffer", "state.1.momentum_buffer"}
    meta = json.loads(json.dumps(meta))  # must be JSON-able
    fresh = torch.optim.SGD([w, b], lr=0.5, momentum=0.9)
    fresh.load_state_dict(unflatten_optimizer(tensors, meta))
    assert fresh.param_groups[0]["lr"] == 0.1
    assert torch.equal(fresh.state[w]["momentum_buffer"], opt.state[w]["momentum_buffer"])
