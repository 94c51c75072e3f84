"""kcolor: colourise black-and-white photos with Keras 3 on PyTorch.

Importing kcolor makes Keras run on the torch backend (see :mod:`kcolor.backend`).

Quickstart:
    >>> import kcolor
    >>> colorizer = kcolor.Colorizer.from_preset("beta-photos")   # doctest: +SKIP
    >>> colour = colorizer.colorize("old_photo.jpg")                # doctest: +SKIP
"""

from kcolor.backend import device, ensure_torch_backend

ensure_torch_backend()

from kcolor._lazy import lazy_getattr  # noqa: E402
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

# Heavy modules load on first use so `import kcolor` stays quick: {name: (module, attribute
# or None for the module itself)}; the deprecated ones warn when first used.
_LAZY = {
    name: (f"kcolor.{name}", None)
    for name in (
        "color",
        "io",
        "datasets",
        "models",
        "losses",
        "metrics",
        "callbacks",
        "report",
        "reports",
        "presets",
        "artifacts",
        "loading",
        "training",
    )
}
_LAZY["Colorizer"] = ("kcolor.inference.colorizer", "Colorizer")

__getattr__ = lazy_getattr(__name__, _LAZY)


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
