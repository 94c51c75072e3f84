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


class WeightsError(KcolorError, ValueError):
    """A weights file is missing, corrupt, of the wrong architecture or fails its hash check."""

    def __init__(self, path: str | os.PathLike | None, reason: str):
        self.path = None if path is None else os.fspath(path)
        self.reason = reason
        super().__init__(reason if path is None else f"{self.path}: {reason}")


class DataError(KcolorError, ValueError):
    """A dataset is empty, unreadable or mislabelled."""
