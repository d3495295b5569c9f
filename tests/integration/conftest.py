"""Fixtures shared by the flow tests: a tiny synthetic corpus and a detector trained on it
(once per session, so every module that scores reuses the same detector)."""

from __future__ import annotations

from pathlib import Path

import pytest

from difffake_core.detector import PairSettings
from difffake_core.ingest import IngestParams
from difffake_core.signals import SIGNALS

TINY_TRAINING = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "input_size": 128,
                 "num_workers": 0}  # fmt: skip


@pytest.fixture(scope="session")
def demo_corpus(face_model, tmp_path_factory) -> dict[str, Path]:
    from difffake_core.faces.analyzer import FaceAnalyzer
    from flows.demo_corpus import make_demo_corpus

    out = tmp_path_factory.mktemp("demo")
    with FaceAnalyzer(face_model) as analyzer:
        return make_demo_corpus(out, analyzer, train_per_identity=2, test_real_per_identity=1,
                                fakes_per_identity=1, n_frames=16)  # fmt: skip


@pytest.fixture(scope="session")
def trained(demo_corpus, prefect_harness, tmp_path_factory):
    from flows.retrain_detector import RetrainConfig, retrain_detector

    catalog = str(tmp_path_factory.mktemp("catalog"))
    config = RetrainConfig(
        root=str(demo_corpus["train"]),
        corpus="tiny",
        catalog=catalog,
        ingest=IngestParams(n_frames=10, neighbour_offsets=(1,)),
        train_overrides=TINY_TRAINING,
        pairs=PairSettings(images_to_pair=4, min_pairs=2),
        min_calibration=2,  # a tiny corpus: 8 reals, 2 held out
        signals=sorted(SIGNALS.names()),  # the defaults and the opt-in ones, all scored
    )
    return config, retrain_detector(config), catalog
