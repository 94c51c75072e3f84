"""Weights files: ``weights=`` of every kcolor model, as in ``keras.applications``.

``weights`` may be

* ``None``: keep the fresh random initialisation;
* a path to a ``.weights.h5`` file (``model.save_weights``), a ``.keras`` archive
  (``model.save``) or a legacy Keras 2 ``.h5`` file;
* a preset name or preset folder, resolved by :func:`kcolor.presets.locate`.

Every failure raises :class:`kcolor.WeightsError` naming the file and saying
what is wrong: missing, corrupt or truncated, not a weights file, or weights of
another architecture (Keras itself loads a file with fewer layers silently, so
the shapes are checked here first).
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import Counter
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.presets.format import read_config, verify
from kcolor.presets.registry import locate

#: Parameter counts of the stock models (default arguments), to tell the user
#: which model a mismatched file seems to be for. Asserted in tests/test_models.py.
KNOWN_PARAM_COUNTS = {
    "linear": 1_468_960,
    "cnn": 638_370,
    "cnn (batch_norm=True)": 640_802,
    "alpha": 32_202,
    "beta": 3_892_194,
    "fusion": 6_541_202,
}

_FORMATS = (".weights.h5", ".keras", ".h5")


def _looks_like_path(weights) -> bool:
    if isinstance(weights, os.PathLike):
        return True
    text = str(weights)
    return (
        os.sep in text
        or (os.altsep is not None and os.altsep in text)
        or text.lower().endswith((".h5", ".keras", ".hdf5"))
        or os.path.exists(text)
    )


def load_weights(model, weights, architecture: str | None = None):
    """Load ``weights`` into ``model`` (in place) and return the model.

    Args:
        model: a built Keras model.
        weights: ``None``, a path (``.weights.h5``, ``.keras``, legacy ``.h5``)
            or a preset name.
        architecture: the builder's name (``"alpha"``, ``"beta"``, ...), passed to
            :func:`kcolor.presets.locate` so a preset of another
            architecture is refused with a clear message.

    Raises:
        WeightsError: the file is missing, corrupt, not a Keras weights file or
            for another architecture; or the preset is unknown.

    Example:
        >>> from kcolor.models import alpha
        >>> model = alpha()
        >>> model.save_weights("/tmp/alpha.weights.h5")
        >>> _ = load_weights(alpha(), "/tmp/alpha.weights.h5")
    """
    if weights is None:
        return model
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(
            None,
            f"weights must be None, a path to a .weights.h5/.keras file or a preset name, "
            f"got {type(weights).__name__}",
        )
    if not _looks_like_path(weights) or Path(weights).expanduser().is_dir():
        path = _resolve_preset(os.fspath(weights), architecture)
    else:
        path = weights
    return load_weights_file(model, path)


def _resolve_preset(name: str, architecture: str | None) -> str:
    folder = locate(name)
    builder = read_config(folder)["builder"]
    if architecture is not None and builder != architecture:
        raise WeightsError(
            None,
            f"Preset {name!r} holds weights for the {builder!r} architecture, not "
            f"{architecture!r}. Use kcolor.models.{builder}(weights={name!r}), or pick a "
            f"{architecture!r} preset (`kcolor models` lists them).",
        )
    return str(verify(folder))


def load_weights_file(model, path):
    """Load a weights file into ``model`` after checking it fits; see :func:`load_weights`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise WeightsError(path, "no such weights file")
    if path.is_dir():
        raise WeightsError(path, "is a folder, not a weights file")
    name = path.name.lower()
    if not name.endswith(_FORMATS):
        raise WeightsError(
            path,
            "unknown weights format: expected a Keras .weights.h5 file (model.save_weights), "
            "a .keras archive (model.save) or a legacy .h5 file",
        )
    shapes = file_weight_shapes(path)
    expected = [tuple(w.shape) for w in model.weights]
    if Counter(shapes) != Counter(expected):
        raise WeightsError(path, _mismatch_message(model, shapes, expected))
    try:
        model.load_weights(os.fspath(path))
    except (ValueError, KeyError, OSError) as error:
        raise WeightsError(
            path, f"does not fit model {model.name!r}: {str(error).splitlines()[0][:300]}"
        ) from error
    return model


def file_weight_shapes(path) -> list[tuple]:
    """The shapes of the model weights stored in a ``.weights.h5``, ``.keras`` or legacy ``.h5``.

    Raises:
        WeightsError: the file cannot be read (corrupt, truncated, not HDF5/zip).
    """
    import h5py

    path = Path(path)
    try:
        if path.name.lower().endswith(".keras"):
            try:
                with zipfile.ZipFile(path) as archive:
                    if "model.weights.h5" not in archive.namelist():
                        raise WeightsError(
                            path,
                            "is a zip file but not a Keras .keras archive (no model.weights.h5)",
                        )
                    data = archive.read("model.weights.h5")
            except zipfile.BadZipFile as error:
                raise WeightsError(
                    path, f"corrupt or truncated .keras archive ({error})"
                ) from error
            with h5py.File(io.BytesIO(data), "r") as handle:
                return _h5_shapes(handle)
        with h5py.File(path, "r") as handle:
            return _h5_shapes(handle)
    except WeightsError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise WeightsError(
            path,
            f"corrupt, truncated or not an HDF5 weights file ({type(error).__name__}: {error})",
        ) from error


def _h5_shapes(handle) -> list[tuple]:
    import h5py

    shapes: list[tuple] = []
    if "layers" in handle:  # Keras 3: layers/<name>/vars/<i>, optimizer state kept apart
        root = handle["layers"]
    elif "model_weights" in handle:  # legacy Keras 2 model file
        root = handle["model_weights"]
    else:  # legacy Keras 2 weights file: one group per layer
        root = handle

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and "optimizer" not in name.split("/")[0]:
            shapes.append(tuple(int(s) for s in obj.shape))

    root.visititems(visit)
    return shapes


def _summary(shapes) -> str:
    kernels = [s for s in shapes if len(s) == 4]
    text = f"{len(shapes)} arrays, {sum(_size(s) for s in shapes):,} parameters"
    if kernels:
        filters = "-".join(str(s[-1]) for s in kernels[:16])
        more = ", ..." if len(kernels) > 16 else ""
        text += f", conv filters {filters}{more}"
    return text


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _mismatch_message(model, shapes, expected) -> str:
    total = sum(_size(s) for s in shapes)
    guess = [name for name, count in KNOWN_PARAM_COUNTS.items() if count == total]
    hint = (
        f" It looks like weights for kcolor.models.{guess[0]}."
        if guess
        else " It matches none of kcolor's stock models (alpha, beta, fusion, linear, cnn) "
        "at their default settings."
    )
    if not shapes:
        return f"holds no model weights; model {model.name!r} needs {_summary(expected)}"
    return (
        f"holds weights for another architecture: the file has {_summary(shapes)}; "
        f"model {model.name!r} needs {_summary(expected)}.{hint}"
    )
