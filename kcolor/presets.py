"""Presets: ready-to-use colourisation models, keras-hub style (``save_to_preset`` / ``from_preset``).

A preset is a folder (:mod:`kcolor.artifacts` reads and checks it)::

    config.json        {"builder": "beta", "args": {...}, "input_size": 128, "multiple": 8,
                        "embedder": null, "temperature": null,
                        "vividness": {"default": 0.5, "anchors": null}}  (optional)
    model.weights.h5   the weights
    metadata.json      the ``kcolor train`` command, training config, data, seed, epochs,
                       wall time, device, metrics and the weights' SHA-256

The shipped presets are such folders under ``kcolor/weights/``; every ``kcolor train``
run folder is one too, so whatever ``kcolor train`` writes, :func:`build_model`,
``Colorizer.from_preset`` and ``kcolor colorize --model`` read.

Example:
    >>> import kcolor
    >>> from kcolor import presets
    >>> presets.DEFAULT_PRESET
    'beta-photos'
    >>> model = presets.build_model("beta-photos")              # doctest: +SKIP
    >>> presets.save_to_preset(model, "my-preset", builder="beta",
    ...                        args={"input_shape": [None, None, 1]},
    ...                        input_size=128)                  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import os
import shlex
import shutil
from pathlib import Path

from kcolor import artifacts
from kcolor.artifacts import DEFAULT_PRESET, WEIGHTS_DIR, sha256sum
from kcolor.errors import WeightsError

__all__ = [
    "BUILDERS",
    "DEFAULT_PRESET",
    "WEIGHTS_DIR",
    "build_model",
    "convert_legacy",
    "fine_tune_flags",
    "get_builder",
    "get_preset",
    "is_installed",
    "list_presets",
    "register_preset",
    "save_to_preset",
    "save_weights",
    "sha256sum",
    "unregister_preset",
]


# ---------------------------------------------------------------- registry
def list_presets() -> dict[str, str]:
    """Every preset: ``{name: description}``, shipped ones first."""
    out = {}
    for name in artifacts.preset_names():
        try:
            out[name] = artifacts.describe(name)["description"]
        except WeightsError:
            out[name] = "(unreadable preset folder)"
    return out


def get_preset(name: str) -> dict:
    """What preset ``name`` (or a preset folder) is: its config, metadata and folder.

    Raises:
        WeightsError: no such preset (the message lists them), or the folder is broken.
    """
    folder = artifacts.locate(name)
    config = artifacts.read_config(folder)
    meta = artifacts.read_metadata(folder)
    return {
        "name": os.fspath(name),
        "folder": os.fspath(folder),
        "builder": config["builder"],
        "args": config["args"],
        "input_size": config["input_size"],
        "multiple": config["multiple"],
        "embedder": config["embedder"],
        "temperature": config["temperature"],
        "prior_correction": config["prior_correction"],
        "vividness": config.get("vividness"),
        "description": meta.get("description", ""),
        "metadata": meta,
    }


def is_installed(name: str) -> bool:
    """Whether preset ``name``'s weights are on this machine now (shipped or downloaded)."""
    return artifacts.is_installed(name)


def register_preset(name: str, *, folder=None, url=None, sha256=None, overwrite=False) -> None:
    """Add a preset by name: a local preset ``folder``, or the ``url`` of a zip of one
    (``https://`` or ``file://``; fetched once, SHA-256-checked, cached in ``~/.keras/kcolor``)."""
    artifacts.register(name, folder=folder, url=url, sha256=sha256, overwrite=overwrite)


def unregister_preset(name: str) -> None:
    """Forget a preset added with :func:`register_preset`."""
    artifacts.unregister(name)


# ---------------------------------------------------------------- building
#: The builders of :mod:`kcolor.models` that train on photos of any size (``kcolor train
#: --model``); ``linear`` and ``cnn`` are the colour-MNIST course's (28x28 digits).
BUILDERS = ("alpha", "beta", "fusion", "unet")


def fine_tune_flags(name: str) -> list[str]:
    """The ``kcolor train`` options that fine-tune preset ``name``: its network's options
    (``--model``, ``--model-arg``, ``--embedder``, ``--loss``, from the command in its
    ``metadata.json``) and ``--init NAME``. No Keras import.

    Example:
        >>> from kcolor import presets
        >>> " ".join(presets.fine_tune_flags("beta-faces"))
        '--model beta --loss saturation --init beta-faces'
    """
    try:
        info = artifacts.describe(name)
        meta = artifacts.read_metadata(info["folder"]) if info["installed"] else {}
        tokens = shlex.split(str(meta.get("command") or "").split(" && ")[-1])
    except (WeightsError, OSError, ValueError):
        info, tokens = {}, []
    flags = []
    for flag, value in zip(tokens, tokens[1:], strict=False):
        if flag in ("--model", "--model-arg", "--embedder") or (
            flag == "--loss" and value != "mse"
        ):
            flags += [flag, value]
    if "--model" not in flags:
        flags = ["--model", info.get("builder") or "BUILDER", *flags]
    return [*flags, "--init", name]


def get_builder(name: str):
    """The model builder ``kcolor.models.<name>`` (``"beta"``, ``"fusion"``, ``"unet"``, ...).

    Raises:
        WeightsError: no such builder, listing :data:`BUILDERS` (and, for a preset's name,
            how to fine-tune that preset instead).
    """
    import kcolor.models as models

    fn = getattr(models, name, None) if not name.startswith("_") else None
    if fn is None or not callable(fn) or isinstance(fn, type):
        builders = f"the builders are {', '.join(BUILDERS)} (and linear, cnn for colour MNIST)"
        if name in artifacts.preset_names():
            flags = " ".join(shlex.quote(f) for f in fine_tune_flags(name))
            raise WeightsError(
                None,
                f"unknown builder {name!r}: that is a preset, not a "
                f"builder; {builders}. A preset is fine-tuned from its weights, "
                f"with init={name!r} and its own network: kcolor train "
                f"{flags}",
            )
        raise WeightsError(
            None, f"unknown builder {name!r}: kcolor.models has no such function; {builders}"
        )
    return fn


def build_model(spec, *, weights: bool = True):
    """Build the network of preset ``spec`` (a name or a preset folder) and load its weights.

    Returns:
        A Keras model: encoded L (and, for fusion, an embedding) in, the head's output out.

    Raises:
        WeightsError: naming the folder or file at fault (missing, corrupt, wrong hash,
            weights of another network).
    """
    folder = artifacts.locate(spec)
    config = artifacts.read_config(folder)
    builder = get_builder(config["builder"])
    try:
        model = builder(**config["args"])
    except TypeError as err:
        raise WeightsError(
            folder / artifacts.CONFIG,
            f"arguments do not fit kcolor.models.{config['builder']}: {err}",
        ) from err
    if weights:
        from kcolor.models import load_weights

        load_weights(model, folder / artifacts.WEIGHTS)
    return model


# ---------------------------------------------------------------- saving
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

    Returns:
        The folder.
    """
    import kcolor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not overwrite and (folder / artifacts.WEIGHTS).exists():
        raise WeightsError(folder, "holds a preset already; pass overwrite=True to replace it")
    get_builder(builder)  # fail early on a typo
    record = None
    if vividness is not None:
        record, temperature, prior_correction = _vividness_record(
            vividness, temperature, prior_correction
        )
    from kcolor.io import atomic_path

    with atomic_path(folder / artifacts.WEIGHTS, suffix=".weights.h5") as tmp:
        digest = save_weights(model, tmp, float16=float16)
    config = {
        "format": artifacts.FORMAT,
        "format_version": artifacts.FORMAT_VERSION,
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
    artifacts.write_json(folder / artifacts.CONFIG, config)
    meta = dict(metadata or {})
    meta["weights_sha256"] = digest
    meta["weights_dtype"] = "float16" if float16 else "float32"
    meta.setdefault("kcolor_version", kcolor.__version__)
    meta["saved"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    artifacts.write_json(folder / artifacts.METADATA, meta)
    return folder


def _vividness_record(value, temperature, prior_correction):
    """``(record, temperature, prior_correction)`` for :func:`save_to_preset`'s ``vividness``."""
    import math

    from kcolor.inference import vividness

    default, anchors = vividness.read_record(value)
    if anchors is not None:
        t, a = vividness.class_decoding(default, anchors)
        if temperature is None:
            temperature, prior_correction = t, a
        elif not (math.isclose(t, temperature) and math.isclose(a, prior_correction, abs_tol=1e-9)):
            raise ValueError(
                f"the vividness anchors decode the default vividness {default:g} at T={t:g}, "
                f"alpha={a:g}, not at temperature={temperature}, prior_correction="
                f"{prior_correction}: leave temperature out to take both from the anchors"
            )
    return vividness.make_record(default, anchors), temperature, prior_correction


def export_preset(src, dst, *, float16: bool = True, overwrite: bool = False, **metadata) -> Path:
    """Copy preset folder ``src`` (e.g. a ``kcolor train`` run) to ``dst`` for shipping:
    the weights as float16, history.csv kept, ``metadata`` keys added."""
    src = artifacts.locate(src)
    config = artifacts.read_config(src)
    meta = {**artifacts.read_metadata(src), **metadata}
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
    if (src / "history.csv").is_file():
        shutil.copyfile(src / "history.csv", out / "history.csv")
    return out


def convert_legacy(src, dst, *, safe_mode: bool = True) -> Path:
    """Convert an old run folder (``kcolor train`` before presets were folders: model.keras +
    config.json; or examples 05/06: model.weights.h5 + config.json) into a preset folder."""
    import json

    import keras

    src, dst = Path(src), Path(dst)
    kind = artifacts.legacy_kind(src)
    if kind is None:
        raise WeightsError(src, "not an old kcolor run folder (nothing to convert)")
    old = json.loads((src / artifacts.CONFIG).read_text())
    if kind == "train-run":
        import kcolor.layers  # noqa: F401  (registers kcolor's layers)
        import kcolor.models  # noqa: F401

        model = keras.saving.load_model(src / "model.keras", compile=False, safe_mode=safe_mode)
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
        from kcolor.models import load_weights

        load_weights(model, src / artifacts.WEIGHTS)
        size = old.get("size")
    meta = {
        "description": f"converted from the old run folder {src}",
        "converted_from": str(src),
        "legacy_config": old,
    }
    out = save_to_preset(
        model, dst, builder=builder, args=args, input_size=size, embedder=embedder, metadata=meta
    )
    if (src / "history.csv").is_file():
        shutil.copyfile(src / "history.csv", out / "history.csv")
    return out
