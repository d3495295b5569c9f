"""Training progress events and a console reporter (rich progress bar, or plain lines)."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainEvent:
    """One progress report.

    ``kind``: ``"step"`` (after a batch: ``loss`` is the running mean of the epoch),
    ``"epoch"`` (after validation: ``val_auc`` set), or ``"end"`` (training stopped, normally
    or not). ``step`` counts batches within ``epoch`` (both 0-based; ``steps`` per epoch).
    """

    kind: str
    epoch: int
    epochs: int
    step: int = 0
    steps: int = 0
    loss: float = math.nan
    val_auc: float = math.nan
    lr: float = math.nan


ProgressFn = Callable[[TrainEvent], None]


class ConsoleProgress:
    """A :data:`ProgressFn` that draws a ``rich`` progress bar (loss, AUC) when ``rich`` is
    installed and the stream is a terminal, else prints one line per epoch."""

    def __init__(self, file=None, force_plain: bool = False) -> None:
        self.file = file or sys.stderr
        self._plain = force_plain or not _rich_available() or not self.file.isatty()
        self._bar = None
        self._task = None

    def __call__(self, event: TrainEvent) -> None:
        if self._plain:
            self._plain_event(event)
        else:
            self._rich_event(event)

    def _plain_event(self, event: TrainEvent) -> None:
        if event.kind == "epoch":
            print(
                f"epoch {event.epoch + 1}/{event.epochs}  loss {event.loss:.4f}  "
                f"val AUC {event.val_auc:.4f}  lr {event.lr:.2e}",
                file=self.file,
                flush=True,
            )

    def _rich_event(self, event: TrainEvent) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        if event.kind == "end":
            if self._bar is not None:
                self._bar.stop()
                self._bar = None
            return
        if self._bar is None:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  AUC {task.fields[auc]}"),
                TimeElapsedColumn(),
                console=Console(file=self.file),
            )
            self._bar.start()
        if self._task is None or event.step == 0 and event.kind == "step":
            self._task = self._bar.add_task(
                f"epoch {event.epoch + 1}/{event.epochs}", total=event.steps, loss=math.nan, auc="-"
            )
        if event.kind == "step":
            self._bar.update(self._task, completed=event.step + 1, loss=event.loss)
        elif event.kind == "epoch":
            self._bar.update(self._task, loss=event.loss, auc=f"{event.val_auc:.4f}")


def _rich_available() -> bool:
    try:
        import rich.progress  # noqa: F401
    except ImportError:
        return False
    return True
