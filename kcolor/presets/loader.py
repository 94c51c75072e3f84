"""Loading: what a user names (a preset, a preset or run folder, a ``.keras`` file) -> a model.

:func:`load` is the one loader behind ``Colorizer.from_preset``, ``kcolor colorize
--model``, ``kcolor evaluate --model`` and ``kcolor serve --model``. It returns the model
with what the :class:`~kcolor.Colorizer` needs to run it (input size, size multiple,
embedder, decoding temperature, vividness).

Example:
    >>> from kcolor.presets import loader
    >>> loaded = loader.load("beta-photos")
    >>> loaded.model.name, loaded.input_size
    ('beta', 128)
    >>> sorted(loaded.colorizer_kwargs())
    ['embedder', 'input_size', 'multiple']
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.presets import vividness_record
from kcolor.presets.build import build_model
from kcolor.presets.format import CONFIG, is_preset_folder, legacy_kind, legacy_message, read_config
from kcolor.presets.registry import (
    DEFAULT_PRESET,
    WEIGHTS_DIR,
    is_installed,
    is_remote,
    locate,
    preset_names,
    unknown_preset_message,
)

__all__ = ["Loaded", "check_spec", "load"]


@dataclasses.dataclass
class Loaded:
    """A loaded model and how to run it.

    Attributes:
        model: the Keras model.
        name: the preset name or the path it came from.
        input_size: the side the model runs at (``None``: the photo's own size).
        multiple: model-side sizes are rounded to a multiple of this.
        embedder: the embedder name a two-input (fusion) model needs, or ``None``.
        temperature: the default annealed-mean temperature of a colour-class model.
        prior_correction: how much of a colour-class model's rebalancing its decoding undoes.
        vividness: the preset's recorded default vividness (``None``: none recorded, 0.5).
        vividness_anchors: the preset's recorded ``[[V, T, alpha], ...]``, or ``None``
            (derived from ``temperature`` and ``prior_correction``; :mod:`kcolor.inference.vividness`).
        folder: the preset folder, when there is one.
    """

    model: object
    name: str
    input_size: int | None = None
    multiple: int = 8
    embedder: str | None = None
    temperature: float | None = None
    prior_correction: float = 0.0
    vividness: float | None = None
    vividness_anchors: list | None = None
    folder: Path | None = None

    def colorizer_kwargs(self) -> dict:
        """Keyword arguments for :class:`kcolor.Colorizer`."""
        kwargs = {
            "input_size": self.input_size,
            "multiple": self.multiple,
            "embedder": self.embedder,
        }
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.prior_correction:
            kwargs["prior_correction"] = self.prior_correction
        if self.vividness is not None:
            kwargs["vividness"] = self.vividness
        if self.vividness_anchors is not None:
            kwargs["vividness_anchors"] = self.vividness_anchors
        return kwargs


def check_spec(spec) -> None:
    """Fail fast, before Keras loads, when ``spec`` names nothing loadable.

    Raises:
        WeightsError: an unknown preset, a missing file or folder, an old run folder
            (saying how to convert it).
    """
    if spec is None or not isinstance(spec, (str, os.PathLike)):
        return
    text = os.fspath(spec)
    path = Path(text).expanduser()
    if text in preset_names() and os.sep not in text:
        if is_installed(text) or not is_remote(text):
            locate(text)  # a local preset: its folder must be whole (hash checked)
        return
    if path.is_dir():
        if is_preset_folder(path):
            return
        kind = legacy_kind(path)
        if kind is not None:
            raise WeightsError(path, legacy_message(path, kind))
        locate(path)  # raises with the reason
        return
    if path.is_file():
        if path.suffix == ".keras":
            return
        raise WeightsError(
            path,
            "a bare weights file does not say which network it belongs to: build the model "
            "with kcolor.models.<builder>(weights=path) and pass it to Colorizer, or pass a "
            "preset folder (`kcolor train` writes one), a .keras file or a preset name.",
        )
    raise WeightsError(None, unknown_preset_message(text))


def load(spec=None, *, safe_mode: bool = True) -> Loaded:
    """Load ``spec``: a preset name (``None``: the default), a preset folder, or a ``.keras`` file.

    Args:
        spec: what to load.
        safe_mode: refuse a ``.keras`` file holding Python code (a ``Lambda`` layer), which
            loading would run; ``False`` only for files you trust.

    Raises:
        WeightsError: naming the preset, folder or file at fault and what to do.
    """
    if spec is None:
        spec = DEFAULT_PRESET
    text = os.fspath(spec)
    path = Path(text).expanduser()
    named = text in preset_names() and os.sep not in text  # a name wins over a file
    if path.is_file() and not named:
        check_spec(spec)  # a bare weights file is refused with its own message
        return _load_keras_file(path, safe_mode=safe_mode)
    folder = locate(spec)
    config = read_config(folder)
    try:
        model = build_model(folder)
    except WeightsError as err:
        shipped = folder.parent == WEIGHTS_DIR
        hint = " Reinstall kcolor or choose another preset." if shipped else ""
        raise WeightsError(err.path, f"{err.reason}{hint}") from err
    default, anchors = _vividness_record(folder, config)
    return Loaded(
        model=model,
        name=text,
        input_size=config["input_size"],
        multiple=int(config["multiple"]),
        embedder=config["embedder"],
        temperature=config["temperature"],
        prior_correction=float(config["prior_correction"]),
        vividness=default,
        vividness_anchors=anchors,
        folder=folder,
    )


def _vividness_record(folder: Path, config: dict):
    """``(default or None, anchors or None)`` of a preset's ``"vividness"`` record, checked:
    its anchors must decode the default vividness at the preset's temperature and prior
    correction (what kcolor versions without vividness use)."""
    record = config.get("vividness")
    if record is None:
        return None, None
    try:
        default, anchors = vividness_record.read_record(record)
        if anchors is not None:
            t, a = vividness_record.class_decoding(default, anchors)
            t0, a0 = config["temperature"], float(config["prior_correction"])
            if t0 is None or abs(t - float(t0)) > 1e-6 or abs(a - a0) > 1e-6:
                raise ValueError(
                    f"its vividness anchors decode the default vividness {default:g} at "
                    f'T={t:g}, alpha={a:g}, but "temperature" is {t0} and '
                    f'"prior_correction" {a0:g}: make them agree'
                )
    except ValueError as err:
        raise WeightsError(folder / CONFIG, str(err)) from None
    return default, anchors


def _load_keras_file(path: Path, *, safe_mode: bool) -> Loaded:
    import keras

    if not zipfile.is_zipfile(path):
        raise WeightsError(
            path,
            "corrupt or truncated .keras file (not a readable zip archive); save it again "
            "with model.save(), or train again",
        )
    config = {}
    beside = path.parent / CONFIG
    if beside.is_file():
        try:
            config = json.loads(beside.read_text())
        except (OSError, ValueError):
            config = {}
    try:
        import kcolor.layers  # noqa: F401  (registers kcolor's layers)
        import kcolor.models  # noqa: F401  (registers the models' layers)

        model = keras.saving.load_model(path, compile=False, safe_mode=safe_mode)
    except Exception as err:  # noqa: BLE001 - every failure becomes one message naming the file
        raise WeightsError(path, _load_failure(path, err)) from err
    embedder = config.get("embedder")
    if len(getattr(model, "inputs", None) or []) == 2:
        embedder = embedder or "efficientnet_lite0"
    return Loaded(
        model=model,
        name=os.fspath(path),
        input_size=config.get("input_size"),
        multiple=int(config.get("multiple", 8)),
        embedder=embedder,
    )


def _load_failure(path, err: Exception) -> str:
    """One line saying why a ``.keras`` file did not load, and what to do."""
    text = str(err)
    if "safe_mode" in text:
        what = "holds a Lambda layer, i.e. Python code" if "Lambda" in text else "holds code"
        return (
            f"refused: this .keras file {what} that loading would run. If you trust the "
            "file, allow it with `kcolor colorize --unsafe ...` or "
            "`Colorizer.load(path, safe_mode=False)`."
        )
    first = (text.strip().splitlines() or [""])[0][:300]
    if _is_zip_error(err):
        return f"corrupt or truncated .keras file (not a readable zip archive: {first})"
    return f"cannot load this model ({type(err).__name__}: {first})"


def _is_zip_error(err: BaseException) -> bool:
    while err is not None:
        if isinstance(err, zipfile.BadZipFile) or "zip" in str(err).lower():
            return True
        err = err.__cause__ or err.__context__
    return False
