"""Backend set-up: kcolor runs Keras on PyTorch, on the GPU whenever torch sees one.

Importing :mod:`kcolor` calls :func:`ensure_torch_backend` before anything
imports Keras.
"""

from __future__ import annotations

import os
import sys

from kcolor.errors import BackendError

_FIX = (
    "kcolor needs Keras on the torch backend. Either import kcolor before keras, "
    "or set the environment variable KERAS_BACKEND=torch before starting Python "
    "(e.g. `KERAS_BACKEND=torch python script.py`), or set \"backend\": \"torch\" in ~/.keras/keras.json."
)


def ensure_torch_backend() -> None:
    """Make Keras use the torch backend, or explain why it cannot.

    If Keras is not imported yet, sets ``KERAS_BACKEND=torch``. If it was
    imported already with another backend, raises :class:`BackendError`.
    """
    if "keras" not in sys.modules:
        current = os.environ.get("KERAS_BACKEND")
        if current not in (None, "", "torch"):
            raise BackendError(f"KERAS_BACKEND is set to {current!r}. " + _FIX)
        os.environ["KERAS_BACKEND"] = "torch"
        return
    import keras

    backend = keras.config.backend()
    if backend != "torch":
        raise BackendError(f"Keras was already imported with the {backend!r} backend. " + _FIX)


def device():
    """The ``torch.device`` that kcolor trains and infers on: CUDA when torch sees a GPU, else CPU.

    Keras on the torch backend places new tensors and models on this device too.

    Example:
        >>> import kcolor
        >>> kcolor.device().type in ("cpu", "cuda")
        True
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def to_torch(x, dtype=None):
    """A torch tensor on :func:`device` from a numpy array, a Keras tensor or a torch tensor."""
    import numpy as np
    import torch

    if isinstance(x, torch.Tensor):
        t = x.to(device())
    else:
        t = torch.as_tensor(np.asarray(x), device=device())
    if dtype is not None:
        t = t.to(dtype)
    return t
