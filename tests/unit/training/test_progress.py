from __future__ import annotations

import io
import math

import numpy as np

from difffake_core.training.loop import roc_auc
from difffake_core.training.progress import ConsoleProgress, TrainEvent


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_progress_prints_loss_and_auc_per_epoch():
    out = io.StringIO()  # not a terminal: plain lines
    progress = ConsoleProgress(file=out)
    progress(TrainEvent("step", 0, 3, 0, 5, loss=0.9))
    progress(TrainEvent("epoch", 0, 3, 4, 5, loss=0.75, val_auc=0.8125, lr=1e-3))
    progress(TrainEvent("end", 0, 3))
    assert out.getvalue().splitlines() == ["epoch 1/3  loss 0.7500  val AUC 0.8125  lr 1.00e-03"]


def test_rich_progress_bar_shows_loss_and_auc():
    out = _Terminal()
    progress = ConsoleProgress(file=out)
    for step in range(3):
        progress(TrainEvent("step", 1, 2, step, 3, loss=0.5 - 0.1 * step))
    progress(TrainEvent("epoch", 1, 2, 2, 3, loss=0.4, val_auc=0.9375, lr=0.0))
    progress(TrainEvent("end", 0, 2))
    text = out.getvalue()
    assert "epoch 2/2" in text and "loss 0.4000" in text and "AUC 0.9375" in text
    assert "3/3" in text  # the bar reached the end of the epoch


def test_roc_auc_direction_and_single_class():
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert math.isnan(roc_auc(np.zeros(3), np.arange(3.0)))
