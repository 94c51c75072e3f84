"""Colour MNIST: the course's warm-up task, where colour follows from shape alone.

Each digit is painted with its own colour from an *iso-luminant* palette:
every colour has the same CIELAB lightness ``L* = 60`` and chroma ``C* = 30``,
and only the hue differs (``36°`` per digit). The black-and-white input
therefore carries no trace of the colour; a network can only colour a digit
correctly by recognising which digit it is.

A pixel of MNIST intensity ``m`` in ``[0, 1]`` gets ``L = 60 m`` and
``ab = palette[digit] * m``; the background (``m = 0``) is black. The network
input is ``encode_l(L)`` and the target ``encode_ab(ab)``
(see :mod:`kcolor.color`).

Example:
    >>> from kcolor.datasets import colored_mnist
    >>> train = colored_mnist("train", limit=256)            # doctest: +SKIP
    >>> train.x.shape, train.y.shape                          # doctest: +SKIP
    ((256, 28, 28, 1), (256, 28, 28, 2))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kcolor import color
from kcolor.errors import DataError
from kcolor.palette import MNIST_CHROMA, MNIST_HUE_STEP, MNIST_L, MNIST_PALETTE_AB

_KEYS = {"x_train": 3, "y_train": 1, "x_test": 3, "y_test": 1}

_HOW_TO_SUPPLY = (
    "Supply MNIST as a local mnist.npz (arrays x_train, y_train, x_test, y_test, as "
    "keras.datasets.mnist uses): pass path=..., or set KCOLOR_DATA to a folder holding "
    "mnist/mnist.npz or mnist.npz, or let keras download it once to ~/.keras/datasets/mnist.npz "
    "(needs internet)."
)


class ColoredMNIST(NamedTuple):
    """One split of colour MNIST, as numpy arrays.

    Attributes:
        x: ``(N, 28, 28, 1)`` float32, the encoded L (network input, in ``[-1, 0.2]``).
        y: ``(N, 28, 28, 2)`` float32, the encoded ab (network target).
        labels: ``(N,)`` uint8, the digit 0-9 (which is also its colour's index in
            :data:`MNIST_PALETTE_AB`).
        intensity: ``(N, 28, 28)`` float32, the MNIST intensity ``m`` in ``[0, 1]``
            (``m >= 0.5`` marks the digit's pixels for the metrics).
    """

    x: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    intensity: np.ndarray

    def rgb(self, index=slice(None)) -> np.ndarray:
        """The true colour images ``[index]`` as float RGB in ``[0, 1]``."""
        return color.merge_lab(self.x[index], self.y[index])

    def __repr__(self) -> str:
        return f"ColoredMNIST(n={len(self.labels)}, x={self.x.shape}, y={self.y.shape})"


def colorize_digits(images: np.ndarray, labels: np.ndarray) -> ColoredMNIST:
    """Paint MNIST digits with the iso-luminant palette.

    Args:
        images: ``(N, 28, 28)`` uint8 (0-255) or float (0-1) MNIST intensities.
        labels: ``(N,)`` integer digits 0-9.

    Returns:
        A :class:`ColoredMNIST`.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        raise DataError(
            f"colorize_digits expects images (N, H, W) and labels (N,), got {images.shape} "
            f"and {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"MNIST labels must be digits 0-9, got {labels.min()}..{labels.max()}")
    if images.dtype == np.uint8:
        m = images.astype(np.float32) / np.float32(255.0)
    else:
        m = np.clip(images.astype(np.float32), 0.0, 1.0)
    x = color.encode_l(np.float32(MNIST_L) * m)[..., None].astype(np.float32)
    y = color.encode_ab(m[..., None] * MNIST_PALETTE_AB[labels.astype(np.intp)][:, None, None, :])
    return ColoredMNIST(x, y.astype(np.float32), labels.astype(np.uint8), m)


def _candidate_files(path) -> list[Path]:
    if path is not None:
        return [Path(path)]
    out = []
    data = os.environ.get("KCOLOR_DATA")
    if data:
        out += [Path(data) / "mnist" / "mnist.npz", Path(data) / "mnist.npz"]
    repo = Path(__file__).resolve().parents[2]
    for base in (Path.cwd(), repo):
        out.append(base.parent / "shared" / "data" / "mnist" / "mnist.npz")
    return out


def _read_npz(file: Path):
    try:
        with np.load(file, allow_pickle=False) as f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise DataError(
                    f"{file}: not an MNIST npz: missing arrays {missing} (has {sorted(f.files)}). "
                    + _HOW_TO_SUPPLY
                )
            arrays = {k: f[k] for k in _KEYS}
    except DataError:
        raise
    except Exception as exc:  # zip/pickle/OS errors all mean "unreadable"
        raise DataError(
            f"{file}: cannot read it as an npz file ({exc}). " + _HOW_TO_SUPPLY
        ) from exc
    _validate(arrays, file)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _validate(arrays, file) -> None:
    for key, ndim in _KEYS.items():
        a = arrays[key]
        if a.ndim != ndim:
            raise DataError(f"{file}: {key} should have {ndim} dimensions, has shape {a.shape}")
        if key.startswith("x") and (a.shape[1:] != (28, 28) or a.dtype != np.uint8):
            raise DataError(f"{file}: {key} should be uint8 (N, 28, 28), is {a.dtype} {a.shape}")
        if key.startswith("y") and not np.issubdtype(a.dtype, np.integer):
            raise DataError(f"{file}: {key} should hold integer labels, is {a.dtype}")
    for split in ("train", "test"):
        nx, ny = len(arrays[f"x_{split}"]), len(arrays[f"y_{split}"])
        if nx != ny:
            raise DataError(f"{file}: x_{split} has {nx} images but y_{split} has {ny} labels")
        if nx == 0:
            raise DataError(f"{file}: the {split} split is empty")
        labels = arrays[f"y_{split}"]
        if labels.min() < 0 or labels.max() > 9:
            raise DataError(
                f"{file}: y_{split} should hold digits 0-9, has {labels.min()}..{labels.max()}"
            )


def load_mnist(path=None):
    """The raw MNIST arrays ``((x_train, y_train), (x_test, y_test))``.

    Looks for, in order: ``path``; ``$KCOLOR_DATA/mnist/mnist.npz`` and
    ``$KCOLOR_DATA/mnist.npz``; ``../shared/data/mnist/mnist.npz`` next to the
    current folder or the kcolor checkout; and finally
    ``keras.datasets.mnist.load_data()`` (downloads once, then caches).

    Raises:
        DataError: the given file is missing or malformed, or no copy is found
            and the download fails; the message says how to supply the file.
    """
    for file in _candidate_files(path):
        if file.is_file():
            return _read_npz(file)
        if path is not None:
            raise DataError(f"{file}: no such file. " + _HOW_TO_SUPPLY)
    import keras

    try:
        (xa, ya), (xb, yb) = keras.datasets.mnist.load_data()
    except Exception as exc:  # offline: URLError, OSError, ...
        raise DataError(
            f"MNIST not found locally and the download failed ({type(exc).__name__}: {exc}). "
            + _HOW_TO_SUPPLY
        ) from exc
    arrays = {"x_train": xa, "y_train": ya, "x_test": xb, "y_test": yb}
    _validate(arrays, "keras.datasets.mnist")
    return (xa, ya), (xb, yb)


def colored_mnist(split: str = "train", path=None, limit: int | None = None):
    """Colour MNIST with the iso-luminant palette :data:`MNIST_PALETTE_AB`.

    Args:
        split: ``"train"`` (60,000 digits), ``"test"`` (10,000, never train on
            them) or ``"both"``.
        path: a local ``mnist.npz``; by default see :func:`load_mnist`.
        limit: keep only the first ``limit`` digits of each split (for quick runs).

    Returns:
        A :class:`ColoredMNIST` ``(x, y, labels, intensity)``, or for
        ``"both"`` a tuple ``(train, test)`` of them.

    Example:
        >>> train, test = colored_mnist("both", limit=64)    # doctest: +SKIP
        >>> model.fit(train.x, train.y, validation_data=(test.x, test.y))  # doctest: +SKIP
    """
    if split not in ("train", "test", "both"):
        raise ValueError(f"split must be 'train', 'test' or 'both', got {split!r}")
    if limit is not None and int(limit) < 1:
        raise ValueError(f"limit must be a positive number of digits, got {limit!r}")
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    sl = slice(None) if limit is None else slice(int(limit))
    if split == "train":
        return colorize_digits(x_train[sl], y_train[sl])
    if split == "test":
        return colorize_digits(x_test[sl], y_test[sl])
    return colorize_digits(x_train[sl], y_train[sl]), colorize_digits(x_test[sl], y_test[sl])


__all__ = [
    "MNIST_CHROMA",
    "MNIST_HUE_STEP",
    "MNIST_L",
    "MNIST_PALETTE_AB",
    "ColoredMNIST",
    "colored_mnist",
    "colorize_digits",
    "load_mnist",
]
