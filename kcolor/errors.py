"""kcolor's exception types: every error a user can cause names the thing at fault."""

from __future__ import annotations

import os


class KcolorError(Exception):
    """Base class of every error kcolor raises on purpose."""


class BackendError(KcolorError, ImportError):
    """Keras was imported with a backend other than torch before kcolor."""


class ImageReadError(KcolorError, ValueError):
    """An image file could not be read.

    Args:
        path: the file at fault.
        reason: what is wrong with it, in words a user can act on.
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageWriteError(KcolorError, OSError):
    """An output image could not be written (exists already, or the disk refused it)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class VideoReadError(ImageReadError):
    """A video file could not be read: no video stream, truncated or corrupt, too large
    (:mod:`kcolor.video`). A kind of :class:`ImageReadError`, so folder jobs report it per file."""


class VideoWriteError(ImageWriteError):
    """A colour video could not be written (exists already, or the encoder/muxer refused it)."""


class WeightsError(KcolorError, ValueError):
    """A weights file is missing, corrupt, of the wrong architecture or fails its hash check."""

    def __init__(self, path: str | os.PathLike | None, reason: str):
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(reason if path is None else f"{self.path}: {reason}")


class DataError(KcolorError, ValueError):
    """A dataset is empty, unreadable or mislabelled."""


class RunComplete(KcolorError):
    """``--resume`` (``train(..., resume=True)``) of a run that has all its epochs already:
    nothing was trained or written. The message says how to train it longer.

    Args:
        folder: the run folder.
        done: the epochs it has.
        epochs: the epochs asked for.
    """

    def __init__(self, folder: str | os.PathLike, done: int, epochs: int):
        self.folder, self.done, self.epochs = os.fspath(folder), int(done), int(epochs)
        state = (
            f"{self.done} of {self.epochs} epochs"
            if self.done == self.epochs
            else f"{self.done} epochs, more than the {self.epochs} asked for"
        )
        super().__init__(
            f"{self.folder} is complete ({state}): nothing to resume, nothing written. To train "
            f"longer, run the same command with a larger --epochs (e.g. --epochs "
            f"{2 * self.done}) and --resume, which continues it; or start a new run from its "
            f"best weights with --init {self.folder} -o NEW_RUN_DIR (same --model and "
            "--model-arg)."
        )


class HintError(KcolorError, ValueError):
    """Colour hints that cannot be used: a point outside the photo, a colour that cannot be
    parsed, too many points, a scribble of the wrong size. The message names the hint."""
