"""The embedding stage decodes each stored crop once for the embedding and the texture
features: the same numbers as embedding and measuring the encoded crops separately."""

from __future__ import annotations

import numpy as np
import pandas as pd

from difffake_core.embedding import embed_crops
from difffake_core.faces.crop import encode_crop
from difffake_core.faces.texture import crop_textures
from difffake_core.runtime import create_runtime
from tests.unit.torch_fixtures import tiny_extractor_with_bn_stats
from tests.unit.training.faces_fixture import template68


def test_embed_and_measure_matches_separate_passes(tmp_path, tiny_name, photos):
    from tasks.embed import embed_and_measure

    crops = [encode_crop(p) for p in photos] * 3  # 15 crops: batches of 4 end mid-batch
    lm = (template68() * [40, 44] + [12, 10]).reshape(-1)
    anchors = [None if i % 2 == 0 else i - 1 for i in range(len(crops))]
    part = pd.DataFrame({"crop": crops, "landmarks": [lm] * len(crops), "anchor_frame": anchors})
    model = tiny_extractor_with_bn_stats(tiny_name, seed=3)
    runtime = create_runtime("onnx", model=model, onnx_path=tmp_path / "e.onnx", threads=1)

    vectors, texture = embed_and_measure(runtime, part, 64, batch_size=4)

    sampled = part["anchor_frame"].isna().to_numpy()
    np.testing.assert_array_equal(vectors, embed_crops(runtime, crops, 64, 4))
    np.testing.assert_array_equal(
        texture, crop_textures(crops, np.stack(part["landmarks"]), measure=sampled)
    )
    assert np.isnan(texture[~sampled]).all() and np.isfinite(texture[sampled]).any()
