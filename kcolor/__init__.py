"""kcolor: colourise black-and-white photos with Keras 3 on PyTorch.

Importing kcolor makes Keras run on the torch backend (see :mod:`kcolor.backend`).

Quickstart:
    >>> import kcolor
    >>> colorizer = kcolor.Colorizer.from_preset("beta-photos")   # doctest: +SKIP
    >>> colour = colorizer.colorize("old_photo.jpg")                # doctest: +SKIP
"""

from kcolor.backend import device, ensure_torch_backend

ensure_torch_backend()

from kcolor.errors import (  # noqa: E402
    BackendError,
    DataError,
    ImageReadError,
    ImageWriteError,
    KcolorError,
    WeightsError,
)
from kcolor.presets.registry import DEFAULT_PRESET  # noqa: E402

__version__ = "0.1.0"

_LAZY = {
    "color": "kcolor.color",
    "io": "kcolor.io",
    "datasets": "kcolor.datasets",
    "models": "kcolor.models",
    "losses": "kcolor.losses",
    "metrics": "kcolor.metrics",
    "callbacks": "kcolor.callbacks",
    "report": "kcolor.report",
    "reports": "kcolor.reports",
    "presets": "kcolor.presets",
    "artifacts": "kcolor.artifacts",
    "loading": "kcolor.loading",
    "training": "kcolor.training",
    "Colorizer": "kcolor.inference.colorizer",
}


def __getattr__(name):
    # Heavy modules load on first use so `import kcolor` stays quick.
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        value = getattr(module, name) if name[0].isupper() else module
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kcolor' has no attribute {name!r}")


__all__ = [
    "BackendError",
    "Colorizer",
    "DEFAULT_PRESET",
    "DataError",
    "ImageReadError",
    "ImageWriteError",
    "KcolorError",
    "WeightsError",
    "device",
    "ensure_torch_backend",
    *sorted(k for k in _LAZY if k != "Colorizer"),
]
