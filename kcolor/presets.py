"""Presets: named, ready-to-use colourisation models (keras-hub style).

A preset is a registry entry ``name -> {description, architecture, config,
input_size, embedder, training, file | url, sha256}``:

* ``architecture`` names a builder in :mod:`kcolor.models` (``"alpha"``, ``"beta"``, ``"fusion"``);
* ``config`` holds the keyword arguments for that builder;
* ``input_size`` is the side the model was trained at (the :class:`~kcolor.Colorizer`
  runs it at that size and upsamples the colour onto the full-resolution photo);
* ``embedder`` is ``None`` or the name of the frozen classifier a fusion model needs;
* ``training`` says how the weights were made (``data``, ``command``);
* ``file`` is a path inside the installed package (under ``kcolor/weights/``), or
  ``url`` an address that :func:`keras.utils.get_file` downloads once and caches in
  ``~/.keras/kcolor/``; either way ``sha256`` is checked before the weights are used.

Weights ship inside the package, so presets work offline.

Adding the real weights (once trained): save them with :func:`save_weights` (float16,
half the size; Keras casts back on load) into ``kcolor/weights/<name>.weights.h5``, then
fill the entry's ``file`` and the ``sha256`` that :func:`save_weights` returns. Keep the
total under 40 MB. Until then the entries below are listed as "not available".

Example:
    >>> import kcolor
    >>> from kcolor import presets
    >>> sorted(presets.list_presets())[:2]
    ['alpha-woman', 'beta-faces']
    >>> model = presets.build_model("beta-photos")   # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import os
from pathlib import Path

from kcolor.errors import WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

#: The default preset of the ``Colorizer`` and ``kcolor colorize`` / ``kcolor demo``.
DEFAULT_PRESET = "beta-photos"

_REQUIRED = ("description", "architecture", "config", "input_size")

# The real presets. Their weights come from training on real photos (a later
# issue); until a weights file (or url) and its sha256 are filled in, an entry
# is listed as "not available" and asking for it raises a WeightsError that says so.
_PRESETS: dict[str, dict] = {
    "alpha-woman": {
        "description": "Alpha: the article's first network, overfitted on one portrait of a woman "
        "(a teaching example; it only colours that photo well).",
        "architecture": "alpha",
        "config": {"input_shape": [None, None, 1]},
        "input_size": 128,
        "embedder": None,
        "training": {
            "data": "../shared/data/article/alpha/woman.jpg (the article's single portrait, "
            "400x400, resized to 128x128)",
            "command": "python examples/04_alpha.py --save-preset "
            "(400 steps, Adam 3e-3 cosine, MSE, 128x128)",
            "hardware": "2-core CPU shared with other jobs",
            "wall_seconds": 499,
            "final_loss": {"mse": 0.000396},
            "result": "PSNR 35.03 dB on woman.jpg (grey 22.59); 26.19 dB on the unseen "
            "man.jpg (grey 25.34)",
        },
        "file": "alpha-woman.weights.h5",
        "url": None,
        "sha256": "c8728475f80d368c5643774e1b6628ede9b829343624e69caae9ec3866d89758",
    },
    "beta-faces": {
        "description": "Beta: the article's encoder/decoder network fine-tuned on face photos (128 px, SaturationMSE penalty 1.5); good skin tones on face crops.",
        "architecture": "beta",
        "config": {"input_shape": [None, None, 1]},
        "input_size": 128,
        "embedder": None,
        "training": {
            "data": "../shared/data/photos/faces (750 face crops, 128 px; 38 held out), fine-tuned from beta-photos",
            "command": "python examples/05_beta.py --data ../shared/data/photos/faces --size 128 --epochs 2 --batch-size 16 --loss saturation --penalty 1.5 --init kcolor/weights/beta-photos.weights.h5 --lr 5e-4 --val-max 38 --out runs/beta-faces --save-preset beta-faces  (fine-tuned from beta-photos)",
            "hardware": "2-core CPU (no GPU)",
            "images": 712,
            "epochs": 2,
            "loss": "saturation (penalty 1.5)",
            "wall_seconds": 186,
            "final_loss": {"loss": 0.00204, "val_loss": 0.00262},
            "held_out": "held-out split of the training data (38 photos, 128 px): PSNR 31.96 dB (grey 22.28), AuC 0.9577 (grey 0.8840), dCF 0.34, chroma ratio 1.081",
        },
        "file": "beta-faces.weights.h5",
        "url": None,
        "sha256": "6f8c3a1bc3ee2b6148c0b8ee40ceba39803029d2724bdad4a0b36c6821c0144b",
    },
    "beta-photos": {
        "description": "Beta: the article's encoder/decoder network trained on general photos (Tiny ImageNet val + BSDS500 train, 128 px, SaturationMSE penalty 1.5, 9 epochs on a GPU); the default.",
        "architecture": "beta",
        "config": {"input_shape": [None, None, 1]},
        "input_size": 128,
        "embedder": None,
        "training": {
            "data": "../shared/data/photos/tiny-imagenet-val/images + ../shared/data/photos/bsds500/train (210 grey photos dropped; 128 held out; 9586 trained on, each twice per epoch, augmented); never bsds500/test",
            "command": "python examples/05_beta.py --data ../shared/data/photos/tiny-imagenet-val/images ../shared/data/photos/bsds500/train --size 128 --batch-size 64 --epochs 200 --repeat 2 --lr 1e-3 --loss saturation --penalty 1.5 --val-max 128 --minutes 3.5 --workers 3 --out runs/beta-photos --save-preset beta-photos  (run by tools/train_photo_presets.sh beside three other runs; the 3.5-minute budget gave 9 epochs: --epochs 9 without --minutes gives the same schedule)",
            "hardware": "NVIDIA H200 (shared by 4 concurrent runs), 16 CPU cores; torch 2.11.0+cu130, Keras 3.15.1",
            "images": 9586,
            "epochs": 9,
            "images_seen": 172548,
            "loss": "saturation (penalty 1.5)",
            "wall_seconds": 199,
            "final_loss": {"loss": 0.02879, "val_loss": 0.02927},
            "held_out": "held-out split of the training data (128 photos, 128 px): PSNR 21.04 dB (grey 22.76), AuC 0.8613 (grey 0.8768), dCF 5.49, chroma ratio 1.149",
            "bsds500_test": "200 photos, 256 px: PSNR 20.84 (grey 21.41), SSIM 0.917, AuC 0.860, colourfulness 33.28 (truth 42.49), dCF 9.21, chroma ratio 1.112",
        },
        "file": "beta-photos.weights.h5",
        "url": None,
        "sha256": "dbfb370752f988f443130297efda32cabed53da5c815c41566015a15442687f0",
    },
    "fusion-lite0-photos": {
        "description": "Full version: encoder/decoder fused with EfficientNet-Lite0 ImageNet class probabilities, trained on general photos (128 px, SaturationMSE penalty 1.5; 9 epochs on a GPU, then 1 epoch embedding every augmented batch).",
        "architecture": "fusion",
        "config": {"input_shape": [None, None, 1]},
        "input_size": 128,
        "embedder": "efficientnet_lite0",
        "training": {
            "data": "../shared/data/photos/tiny-imagenet-val/images + ../shared/data/photos/bsds500/train (210 grey photos dropped; 128 held out; 9586 trained on, augmented); never bsds500/test",
            "command": "stage 1 (GPU): python examples/06_full.py --data ../shared/data/photos/tiny-imagenet-val/images ../shared/data/photos/bsds500/train --size 128 --batch-size 64 --epochs 200 --repeat 2 --lr 1e-3 --loss saturation --penalty 1.5 --val-max 128 --minutes 3.5 --workers 3 --embedder efficientnet_lite0 --out runs/fusion-lite0-photos --save-preset fusion-lite0-photos  (9 epochs, each photo twice, with one cached embedding per un-augmented photo; run by tools/train_photo_presets.sh beside three other runs); stage 2 (CPU): python examples/06_full.py --data ../shared/data/photos/tiny-imagenet-val/images ../shared/data/photos/bsds500/train --size 128 --batch-size 16 --epochs 3 --minutes 30 --val-max 128 --loss saturation --penalty 1.5 --no-cache --init kcolor/weights/fusion-lite0-photos.weights.h5 --lr 3e-4 --out runs/fusion-nocache-ft --save-preset fusion-lite0-photos  (1 epoch fitted the 30 minutes; every augmented batch embedded)",
            "hardware": "stage 1: NVIDIA H200 (shared by 4 concurrent runs), 16 CPU cores, torch 2.11.0+cu130; stage 2: 2-core CPU, torch 2.13.0+cpu; Keras 3.15.1",
            "images": 9586,
            "epochs": 10,
            "images_seen": 182134,
            "loss": "saturation (penalty 1.5)",
            "wall_seconds": 1545,
            "final_loss": {"loss": 0.02375, "val_loss": 0.02592},
            "held_out": "held-out split of the training data (128 photos, 128 px): PSNR 21.92 dB (grey 22.76), AuC 0.8737 (grey 0.8768), dCF 7.51, chroma ratio 1.151",
            "bsds500_test": "200 photos, 256 px: PSNR 21.33 (grey 21.41), SSIM 0.913, AuC 0.867, colourfulness 30.01 (truth 42.49), dCF 12.48, chroma ratio 1.056",
            "note": "stage 1 alone trained to loss 0.013 against 0.029 held out: with one cached embedding per photo the network partly memorised photos by their embedding; stage 2 embeds every augmented crop, which closed the gap (0.024 / 0.026) and raised bsds500/test PSNR 21.18 -> 21.33, AuC 0.865 -> 0.867, dCF 13.88 -> 12.48",
        },
        "file": "fusion-lite0-photos.weights.h5",
        "url": None,
        "sha256": "4ac504570a1c3a9391a90bf4c6d282f94d1bf4c4ac3190b8f9d16d6e5d18eee1",
    },
}


# ---------------------------------------------------------------- registry
def list_presets() -> dict[str, str]:
    """All registered presets: ``{name: description}``, in registration order."""
    return {name: entry["description"] for name, entry in _PRESETS.items()}


def get_preset(name: str) -> dict:
    """A copy of the registry entry of preset ``name``.

    Raises:
        WeightsError: if there is no such preset; the message lists the available names.
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise WeightsError(
            None,
            f"Unknown preset {name!r}. Available presets: {', '.join(_PRESETS)}. "
            "(`kcolor models` lists them with descriptions.)",
        )
    entry = copy.deepcopy(_PRESETS[name])
    entry["name"] = name
    return entry


def is_available(name: str) -> bool:
    """Whether preset ``name`` has weights to load: a file in the package or a url."""
    entry = get_preset(name)
    if entry.get("url"):
        return True
    return bool(entry.get("file")) and _packaged_path(entry["file"]).is_file()


def is_installed(name: str) -> bool:
    """Whether the weights of ``name`` are on this machine now (packaged, or downloaded and cached)."""
    entry = get_preset(name)
    if entry.get("file"):
        return _packaged_path(entry["file"]).is_file()
    if entry.get("url"):
        return _cache_path(entry).is_file()
    return False


def register_preset(
    name: str,
    *,
    description: str,
    architecture: str,
    config: dict | None = None,
    input_size: int | None = None,
    embedder: str | None = None,
    training: dict | None = None,
    file: str | os.PathLike | None = None,
    url: str | None = None,
    sha256: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Add a preset to the registry (for your own weights, or for tests).

    Args:
        name: the preset's name.
        description: one line for ``kcolor models``.
        architecture: a builder in :mod:`kcolor.models` (``"alpha"``, ``"beta"``, ``"fusion"``).
        config: keyword arguments for the builder.
        input_size: the side the model runs at (``None`` for the photo's own size).
        embedder: ``None``, or the name of the embedder a fusion model needs.
        training: ``{"data": ..., "command": ...}``, how the weights were made.
        file: the weights file: relative paths are inside ``kcolor/weights/``.
        url: where to download the weights from (``http(s)://`` or ``file://``).
        sha256: the weights' SHA-256 hex digest; required with ``url``, checked whenever set.
        overwrite: replace an existing preset of the same name.

    Returns:
        The registered entry.

    Example:
        >>> register_preset("my-beta", description="mine", architecture="beta",
        ...                 input_size=256, file="/path/to/my.weights.h5")  # doctest: +SKIP
    """
    if name in _PRESETS and not overwrite:
        raise ValueError(
            f"A preset named {name!r} exists already; pass overwrite=True to replace it."
        )
    if file and url:
        raise ValueError("Give a preset either `file` or `url`, not both.")
    if url and not sha256:
        raise ValueError(
            f"Preset {name!r}: a `url` needs its `sha256` so the download can be checked."
        )
    entry = {
        "description": description,
        "architecture": architecture,
        "config": dict(config or {}),
        "input_size": input_size,
        "embedder": embedder,
        "training": dict(training or {}),
        "file": None if file is None else os.fspath(file),
        "url": url,
        "sha256": sha256,
    }
    _PRESETS[name] = entry
    return get_preset(name)


def unregister_preset(name: str) -> None:
    """Remove preset ``name`` from the registry (no error if absent)."""
    _PRESETS.pop(name, None)


# ---------------------------------------------------------------- weights
def sha256sum(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _packaged_path(file) -> Path:
    path = Path(file)
    return path if path.is_absolute() else WEIGHTS_DIR / path


def _fname(entry) -> str:
    name = os.path.basename(entry["url"].split("?")[0].rstrip("/"))
    return name or f"{entry['name']}.weights.h5"


def _cache_dir() -> Path:
    """Where downloads go: ``$KERAS_HOME`` (default ``~/.keras``); weights in its ``kcolor/``."""
    return Path(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"))


def _cache_path(entry) -> Path:
    return _cache_dir() / "kcolor" / _fname(entry)


def resolve_weights(name_or_path: str | os.PathLike, architecture: str | None = None) -> str:
    """The local path of a weights file, given a preset name or a path.

    A packaged preset is looked up under ``kcolor/weights/`` and its SHA-256 checked;
    a preset with a ``url`` is downloaded once with :func:`keras.utils.get_file`
    (checked against its hash, cached under ``~/.keras/kcolor/``). A path to an
    existing file is returned as it is.

    Args:
        name_or_path: a preset name (see :func:`list_presets`) or a weights file path.
        architecture: if given, the preset must be of this architecture.

    Raises:
        WeightsError: unknown preset (listing the available ones), preset without
            weights yet, mismatched architecture, missing file, failed download or
            wrong hash; the message names the preset and file and what to do.
    """
    name = os.fspath(name_or_path)
    if name not in _PRESETS:
        if os.path.isfile(name):
            return name
        if os.sep in name or name.endswith((".h5", ".keras")):
            raise WeightsError(name, "no such weights file.")
    entry = get_preset(name)
    if architecture is not None and entry["architecture"] != architecture:
        raise WeightsError(
            None,
            f"Preset {name!r} holds weights for the {entry['architecture']!r} architecture, "
            f"not {architecture!r}. Use kcolor.models.{entry['architecture']}(weights={name!r}), "
            f"or pick a {architecture!r} preset (`kcolor models` lists them).",
        )
    if entry.get("file"):
        path = _packaged_path(entry["file"])
        if not path.is_file():
            raise WeightsError(
                path,
                f"the weights file of preset {name!r} is missing. Reinstall kcolor "
                "(pip install --force-reinstall kcolor) or choose another preset.",
            )
        if entry.get("sha256"):
            digest = sha256sum(path)
            if digest != entry["sha256"]:
                raise WeightsError(
                    path,
                    f"the weights file of preset {name!r} fails its SHA-256 check "
                    f"(expected {entry['sha256']}, got {digest}); it is corrupt or was replaced. "
                    "Reinstall kcolor or choose another preset.",
                )
        return os.fspath(path)
    if entry.get("url"):
        return _download(entry)
    raise WeightsError(
        None,
        f"Preset {name!r} has no weights yet: they will ship with a later kcolor release. "
        f"Train your own with `kcolor train --model {entry['architecture']} --data DIR -o RUN_DIR` "
        "and use `--model RUN_DIR`, or choose an installed preset (`kcolor models`).",
    )


def _download(entry) -> str:
    import keras

    name, url, digest = entry["name"], entry["url"], entry["sha256"]
    cached = _cache_path(entry)
    try:  # keras falls back to /tmp/.keras when the folder does not exist yet
        cached.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    if cached.is_file() and sha256sum(cached) != digest:
        # A stale or corrupt cached copy: fetch it again.
        cached.unlink()
    try:
        path = keras.utils.get_file(
            _fname(entry),
            origin=url,
            file_hash=digest,
            hash_algorithm="sha256",
            cache_subdir="kcolor",
            cache_dir=os.fspath(_cache_dir()),
        )
    except Exception as err:  # keras raises ValueError (hash) or Exception (network)
        raise WeightsError(
            url,
            f"could not fetch the weights of preset {name!r}: {err}. Check your network "
            "connection, or download the file yourself and pass its path instead of the preset name.",
        ) from err
    if sha256sum(path) != digest:
        raise WeightsError(
            path,
            f"the downloaded weights of preset {name!r} fail their SHA-256 check "
            f"(expected {digest}). Delete the file and try again.",
        )
    return os.fspath(path)


# ---------------------------------------------------------------- models
def _builder(architecture: str):
    import kcolor.models as models

    fn = getattr(models, architecture, None)
    if fn is None or not callable(fn):
        raise WeightsError(
            None, f"Unknown architecture {architecture!r}: kcolor.models has no such builder."
        )
    return fn


def build_model(name: str):
    """Build the model of preset ``name`` and load its (checked) weights.

    Returns:
        A keras ``Model``: encoded L (and, for fusion, an embedding) in, encoded ab out.
    """
    entry = get_preset(name)
    path = resolve_weights(name, architecture=entry["architecture"])
    builder = _builder(entry["architecture"])
    try:
        # A path: the builder loads it, checking that the file fits the network.
        return builder(**entry["config"], weights=path)
    except WeightsError as err:
        raise WeightsError(
            err.path, f"preset {name!r}: {err.reason} Reinstall kcolor or choose another preset."
        ) from err


def save_weights(model, path: str | os.PathLike, *, float16: bool = True) -> str:
    """Save ``model``'s weights to a ``.weights.h5`` file, as float16 by default (half the size).

    Keras casts the stored values back to the model's dtype when loading. Only the
    model's own weights are written: a compiled model's optimizer state (Adam's moments
    would triple the file) is left out.

    Returns:
        The file's SHA-256, ready for a preset's ``sha256``.
    """
    import h5py
    import numpy as np

    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"{path}: weights files must end in .weights.h5")
    if getattr(model, "optimizer", None) is not None:
        # An uncompiled twin (clone_model keeps the compile state in Keras 3.15).
        bare = type(model).from_config(model.get_config())
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
                    ds = f.create_dataset(key, data=data.astype(np.float16))
                    ds.attrs.update(attrs)
        # h5py keeps the freed space; rewrite compactly.
        _repack(path)
    return sha256sum(path)


def _repack(path: str) -> None:
    import h5py

    tmp = path + ".tmp"
    with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        for key in src:
            src.copy(src[key], dst, name=key)
    os.replace(tmp, path)
