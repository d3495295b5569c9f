"""Typed errors of the library.

Every media failure carries a short machine-readable ``status`` that flows record in a
results row instead of crashing a run.
"""

from __future__ import annotations

from difffake_core.status import Status


class DiffFakeError(Exception):
    """Base class of every error raised by difffake_core."""


class MediaError(DiffFakeError):
    """A media file cannot be used. ``status`` names the reason in results tables."""

    status = Status.ERROR

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message if path is None else f"{path}: {message}")
        self.path = path


class EmptyFileError(MediaError):
    status = Status.EMPTY_FILE


class NotAVideoError(MediaError):
    """The file opened but holds no video stream (text, image, audio-only...)."""

    status = Status.NOT_A_VIDEO


class CorruptVideoError(MediaError):
    """The container or stream is damaged or truncated so frames cannot be decoded."""

    status = Status.CORRUPT


class TooFewFramesError(MediaError):
    status = Status.TOO_FEW_FRAMES


class DecodeTimeoutError(MediaError):
    status = Status.TIMEOUT


class FileTooLargeError(MediaError):
    status = Status.TOO_LARGE


class ModelAssetError(DiffFakeError):
    """A model asset is missing, cannot be downloaded, or fails its checksum."""


class UnknownNameError(DiffFakeError, KeyError):
    """A registry lookup failed. The message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"Unknown {kind} {name!r}; valid names: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class UsageError(DiffFakeError, ValueError):
    """A user mistake: a bad setting, or a step run before the one it needs."""


class NotEnoughDataError(UsageError):
    """The input holds too little usable data for the step (e.g. fewer than 2 real videos)."""
