"""Writing presets: ``save_to_preset`` (keras-hub style), float16 weights, shipping and converting.

:func:`save_to_preset` writes a model as a preset folder (:mod:`kcolor.presets.format`)
that :func:`kcolor.presets.build_model` and ``Colorizer.from_preset`` read back;
``kcolor train`` writes every run folder with it. :func:`export_preset` copies a run for
shipping (float16 weights), :func:`convert_legacy` converts an old run folder.

Example:
    >>> import tempfile
    >>> from kcolor import models
    >>> from kcolor.presets import save, build
    >>> folder = save.save_to_preset(models.alpha(), tempfile.mkdtemp() + "/mine",
    ...                              builder="alpha", args={}, input_size=64)
    >>> build.build_model(folder).name
    'alpha'
"""

from __future__ import annotations

import datetime
import math
import os
import shutil
from pathlib import Path

from kcolor.errors import WeightsError
from kcolor.presets import vividness_record
from kcolor.presets.build import build_model, get_builder
from kcolor.presets.format import (
    CONFIG,
    FORMAT,
    FORMAT_VERSION,
    LEGACY_MODEL,
    METADATA,
    WEIGHTS,
    legacy_kind,
    read_config,
    read_metadata,
    sha256sum,
    write_json,
)
from kcolor.presets.registry import locate
from kcolor.presets.run_folder import RunFolder
from kcolor.presets.weights import load_weights

__all__ = ["convert_legacy", "export_preset", "save_to_preset", "save_weights"]


def save_weights(model, path: str | os.PathLike, *, float16: bool = True) -> str:
    """Save ``model``'s weights to a ``.weights.h5`` file, as float16 by default (half the size).

    Keras casts the stored values back to the model's dtype when loading. Only the
    model's own weights are written, never a compiled model's optimizer state.

    Returns:
        The file's SHA-256.
    """
    import h5py
    import numpy as np

    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"{path}: weights files must end in .weights.h5")
    if getattr(model, "optimizer", None) is not None:
        bare = type(model).from_config(model.get_config())  # an uncompiled twin
        bare.set_weights(model.get_weights())
        model = bare
    model.save_weights(path, overwrite=True)
    if float16:
        with h5py.File(path, "r+") as f:
            names = []
            f.visititems(lambda k, v: names.append(k) if isinstance(v, h5py.Dataset) else None)
            for key in names:
                data = f[key][()]
                if isinstance(data, np.ndarray) and data.dtype == np.float32:
                    attrs = dict(f[key].attrs)
                    del f[key]
                    f.create_dataset(key, data=data.astype(np.float16)).attrs.update(attrs)
        _repack(path)  # h5py keeps freed space: rewrite compactly
    return sha256sum(path)


def _repack(path: str) -> None:
    import h5py

    from kcolor.io import atomic_path

    with atomic_path(path, suffix=".h5") as tmp:
        with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
            for k, v in src.attrs.items():
                dst.attrs[k] = v
            for key in src:
                src.copy(src[key], dst, name=key)


def save_to_preset(
    model,
    folder: str | os.PathLike,
    *,
    builder: str,
    args: dict,
    input_size: int | None = None,
    multiple: int = 8,
    embedder: str | None = None,
    temperature: float | None = None,
    prior_correction: float = 0.0,
    vividness: float | dict | None = None,
    metadata: dict | None = None,
    float16: bool = False,
    overwrite: bool = False,
    export: bool = True,
) -> Path:
    """Write ``model`` as a preset folder that :func:`build_model` reads back.

    Args:
        model: the trained Keras model.
        folder: the preset folder (created; an existing preset there is replaced only
            with ``overwrite=True``; other files in it are kept).
        builder: the ``kcolor.models`` function that builds the network.
        args: its keyword arguments (JSON-serialisable).
        input_size: the side the model runs at in the Colorizer (``None``: the photo's own).
        multiple: model-side height and width are multiples of this (the network's stride).
        embedder: the frozen classifier a two-input (fusion) model needs, or ``None``.
        temperature: for colour-class models, the default annealed-mean temperature.
        prior_correction: for colour-class models, how much of the class rebalancing the
            decoding undoes (:class:`kcolor.models.color_classes.AnnealedMeanDecode`).
        vividness: the preset's colour-strength record (:mod:`kcolor.inference.vividness`): its
            default vividness (a number in [0, 1]; what ``Colorizer.from_preset`` uses when
            none is asked for), or ``{"default": V, "anchors": [[V, T, alpha], ...]}`` to
            give a colour-class model its own anchors. With anchors and no ``temperature``,
            ``temperature`` and ``prior_correction`` are written as the anchors' decoding at
            the default (kcolor versions without vividness use those); given, they must
            agree with it. ``None``: no record (default 0.5, anchors derived from
            ``temperature`` and ``prior_correction``).
        metadata: how it was made (command, config, data, metrics, ...); the weights'
            SHA-256, kcolor version and date are added.
        float16: store the weights as float16 (half the size; for shipping).
        overwrite: replace a preset already in ``folder``.
        export: also write ``model.onnx``, the exported inference graph that
            :mod:`kcolor.fast` runs (1-18 s on a CPU; ``kcolor train`` saves its best
            epochs without one and exports once at the end).

    Returns:
        The folder.
    """
    import kcolor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and (folder / WEIGHTS).exists():
        raise WeightsError(folder, "holds a preset already; pass overwrite=True to replace it")
    get_builder(builder)  # fail early on a typo
    record = None
    if vividness is not None:
        record, temperature, prior_correction = _vividness_record(
            vividness, temperature, prior_correction
        )
    from kcolor.io import atomic_path

    with atomic_path(folder / WEIGHTS, suffix=".weights.h5") as tmp:
        digest = save_weights(model, tmp, float16=float16)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "builder": builder,
        "args": args,
        "input_size": input_size,
        "multiple": int(multiple),
        "embedder": embedder,
        "temperature": temperature,
        "prior_correction": float(prior_correction),
    }
    if record is not None:
        config["vividness"] = record
    write_json(folder / CONFIG, config)
    meta = dict(metadata or {})
    meta["weights_sha256"] = digest
    meta["weights_dtype"] = "float16" if float16 else "float32"
    meta.setdefault("kcolor_version", kcolor.__version__)
    meta["saved"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    write_json(folder / METADATA, meta)
    from kcolor.presets.export import EXPORT_FILE, after_save

    if export:  # model.onnx for the fast path (docs/export.md)
        after_save(model, folder)
    else:  # a graph of older weights would be refused anyway: leave none behind
        (folder / EXPORT_FILE).unlink(missing_ok=True)
    return folder


def _vividness_record(value, temperature, prior_correction):
    """``(record, temperature, prior_correction)`` for :func:`save_to_preset`'s ``vividness``."""
    default, anchors = vividness_record.read_record(value)
    if anchors is not None:
        t, a = vividness_record.class_decoding(default, anchors)
        if temperature is None:
            temperature, prior_correction = t, a
        elif not (math.isclose(t, temperature) and math.isclose(a, prior_correction, abs_tol=1e-9)):
            raise ValueError(
                f"the vividness anchors decode the default vividness {default:g} at T={t:g}, "
                f"alpha={a:g}, not at temperature={temperature}, prior_correction="
                f"{prior_correction}: leave temperature out to take both from the anchors"
            )
    return vividness_record.make_record(default, anchors), temperature, prior_correction


def export_preset(src, dst, *, float16: bool = True, overwrite: bool = False, **metadata) -> Path:
    """Copy preset folder ``src`` (e.g. a ``kcolor train`` run) to ``dst`` for shipping:
    the weights as float16, the training history kept, ``metadata`` keys added."""
    src = locate(src)
    config = read_config(src)
    meta = {**read_metadata(src), **metadata}
    meta.pop("run", None)
    model = build_model(src)
    out = save_to_preset(
        model,
        dst,
        builder=config["builder"],
        args=config["args"],
        input_size=config["input_size"],
        multiple=config["multiple"],
        embedder=config["embedder"],
        temperature=config["temperature"],
        prior_correction=config["prior_correction"],
        vividness=config.get("vividness"),
        metadata=meta,
        float16=float16,
        overwrite=overwrite,
    )
    _copy_history(src, out)
    return out


def _copy_history(src, dst) -> None:
    """Copy run folder ``src``'s training history into ``dst``; without one, remove any that
    ``dst`` held (a replaced preset's history is not the new weights')."""
    history = RunFolder(src).history
    if history.is_file():
        shutil.copyfile(history, RunFolder(dst).history)
    else:
        RunFolder(dst).history.unlink(missing_ok=True)


def convert_legacy(src, dst, *, safe_mode: bool = True) -> Path:
    """Convert an old run folder (``kcolor train`` before presets were folders: model.keras +
    config.json; or examples 05/06: model.weights.h5 + config.json) into a preset folder."""
    import json

    import keras

    src, dst = Path(src), Path(dst)
    kind = legacy_kind(src)
    if kind is None:
        raise WeightsError(src, "not an old kcolor run folder (nothing to convert)")
    old = json.loads((src / CONFIG).read_text())
    if kind == "train-run":
        import kcolor.layers  # noqa: F401  (registers kcolor's layers)
        import kcolor.models  # noqa: F401

        model = keras.saving.load_model(src / LEGACY_MODEL, compile=False, safe_mode=safe_mode)
        builder, args = old["architecture"], dict(old.get("config") or {})
        size, embedder = old.get("input_size"), old.get("embedder")
    else:
        builder = old.get("model", "beta")
        args = {"input_shape": [None, None, 1]}
        embedder = "efficientnet_lite0" if builder == "fusion" else None
        if builder == "fusion":
            from kcolor.models.embedders import get_embedder

            args["embedding_dim"] = int(get_embedder(embedder).embedding_dim)
        model = get_builder(builder)(**args)
        load_weights(model, src / WEIGHTS)
        size = old.get("size")
    meta = {
        "description": f"converted from the old run folder {src}",
        "converted_from": str(src),
        "legacy_config": old,
    }
    out = save_to_preset(
        model, dst, builder=builder, args=args, input_size=size, embedder=embedder, metadata=meta
    )
    _copy_history(src, out)
    return out
