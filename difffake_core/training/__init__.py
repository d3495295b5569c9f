"""Training of the face feature extractor on real crops vs self-blended pseudo-fakes."""

from difffake_core.training.checkpoint import load_extractor, save_extractor
from difffake_core.training.config import PRESETS, TrainConfig, get_preset
from difffake_core.training.data import CropRecord, PseudoFakePairs, collate_pairs, split_by_video
from difffake_core.training.loop import TrainResult, train_extractor
from difffake_core.training.progress import ConsoleProgress, TrainEvent
from difffake_core.training.sam import SAM, linear_decay

__all__ = [
    "PRESETS",
    "SAM",
    "ConsoleProgress",
    "CropRecord",
    "PseudoFakePairs",
    "TrainConfig",
    "TrainEvent",
    "TrainResult",
    "collate_pairs",
    "get_preset",
    "linear_decay",
    "load_extractor",
    "save_extractor",
    "split_by_video",
    "train_extractor",
]
