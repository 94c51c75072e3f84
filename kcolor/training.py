"""The one training path: ``TrainConfig`` -> :func:`train` -> a run folder that is a preset.

``kcolor train``, the ``tools/`` scripts that make the shipped presets and ``torchrun -m
kcolor train`` all call :func:`train`. The examples (04-06) show ``model.fit`` in the
open and build it from the same public pieces: :func:`find_photos`, :func:`split_photos`,
:func:`make_datasets`, :func:`make_loss`, :func:`make_schedule`, :class:`WithEmbeddings`.

A run folder holds the preset files (``config.json``, ``model.weights.h5`` of the best
epoch, ``metadata.json`` with the exact ``kcolor train`` command) and the run's own:
``train_config.json``, ``history.csv``, ``previews/``, ``backup/`` (for ``--resume``) and
``report.html``. ``Colorizer.from_preset(RUN_DIR)`` and ``kcolor colorize --model
RUN_DIR`` use it as it is.

Example:
    >>> from kcolor.training import TrainConfig, train
    >>> config = TrainConfig(output="runs/faces", data=["photos/faces"], model="beta",
    ...                      size=128, epochs=2, loss="saturation", penalty=1.5)
    >>> run = train(config)                                    # doctest: +SKIP
    >>> run.history[["epoch", "loss", "val_loss"]]             # doctest: +SKIP
    >>> config.to_command()
    'kcolor train --model beta --data photos/faces -o runs/faces --size 128 --epochs 2 --loss saturation --penalty 1.5'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shlex
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from kcolor import artifacts, io, losses, metrics
from kcolor.errors import DataError, RunComplete, WeightsError
from kcolor.formatting import plural as _plural

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)

#: Losses ``TrainConfig.loss`` names.
LOSSES = ("mse", "saturation", "perceptual", "huber", "color_classes")
SCHEDULES = ("cosine", "constant")
#: Files of a run folder that a fresh (not resumed) run may replace.
RUN_FILES = (
    "config.json",
    "metadata.json",
    "model.weights.h5",
    "train_config.json",
    "history.csv",
    "report.html",
)
RUN_DIRS = ("previews", "backup", "report_files")


# ====================================================================== configuration
@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs; JSON round trip, and the ``kcolor train`` command.

    Args:
        output: the run folder.
        data: photo folders or files.
        manifest, val_manifest: ``kcolor data`` manifests (CSV/parquet) instead of ``data``;
            with ``val_manifest`` the held-out photos come from it, not from a split.
        recursive: also use photos in sub-folders of ``data``.
        model: the builder in :mod:`kcolor.models` (``alpha``, ``beta``, ``fusion``, ``unet``).
        model_args: more keyword arguments for the builder.
        embedder: fusion only: the frozen classifier (default ``efficientnet_lite0``).
        embed_cache: fusion only: embed each photo once, un-augmented (faster, but the
            network can learn photos by their embedding); default: embed every batch.
        init: start from these weights (a preset name, a preset folder or a weights file).
        size: training crop side (a multiple of the network's stride); the held-out photos
            and the preset's inference size use it too.
        sizes: more training crop sides: each batch is cropped at one of ``size`` and
            ``sizes`` (as many batches each, see :class:`kcolor.datasets.MixedSizes`).
        epochs, batch_size: as in ``model.fit``.
        lr: Adam's learning rate (the peak of the cosine schedule).
        schedule: ``cosine`` (decays to 5 % over the run) or ``constant``.
        loss: ``mse`` (the article's), ``saturation`` (:class:`kcolor.losses.SaturationMSE`),
            ``perceptual``, ``huber``, or ``color_classes`` (a colour-class head).
        penalty: SaturationMSE's penalty on lost chroma.
        loss_args: more keyword arguments for the loss.
        val_split: share of the photos held out (never augmented) for validation.
        val_max: at most this many held-out photos (0: all).
        max_images: train on at most this many photos (0: all).
        repeat: each photo this many times per epoch.
        augment: the article's augmentation on the training photos.
        drop_grey: leave out photos without colour.
        minutes: stop after the whole epochs that fit in this many minutes (the cosine
            decay is fitted to them); ``None``: no time limit.
        freeze_epochs: train with the backbone frozen (layers named ``backbone*``) for this
            many epochs first, then fine-tune everything.
        workers: data-loading processes.
        seed: seeds the split, the order, the augmentation and the initialisation.
        compile: run the network's forward and backward passes through ``torch.compile``
            (:func:`kcolor.backend.compile_model`; Keras' ``fit`` loop, loss and optimizer
            stay eager). Each new batch shape compiles once, at its first step.
    """

    output: str
    data: list = dataclasses.field(default_factory=list)
    manifest: str | None = None
    val_manifest: str | None = None
    recursive: bool = False
    model: str = "beta"
    model_args: dict = dataclasses.field(default_factory=dict)
    embedder: str | None = None
    embed_cache: bool = False
    init: str | None = None
    size: int = 128
    sizes: list = dataclasses.field(default_factory=list)
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    schedule: str = "cosine"
    loss: str = "mse"
    penalty: float = 1.0
    loss_args: dict = dataclasses.field(default_factory=dict)
    val_split: float = 0.05
    val_max: int = 256
    max_images: int = 0
    repeat: int = 1
    augment: bool = True
    drop_grey: bool = True
    minutes: float | None = None
    freeze_epochs: int = 0
    workers: int = 1
    seed: int = 0
    compile: bool = False

    def __post_init__(self):
        self.data = [os.fspath(d) for d in (self.data or [])]
        self.sizes = sorted({int(s) for s in (self.sizes or [])} - {int(self.size)})
        self.output = os.fspath(self.output)
        if self.model == "fusion" and not self.embedder:
            self.embedder = "efficientnet_lite0"

    def validate(self) -> TrainConfig:
        """Check every field; raises :class:`DataError` saying which and why."""
        problems = []
        if not self.data and not self.manifest:
            problems.append("give photo folders (--data) or a manifest (--manifest)")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, not {self.loss!r}")
        if self.schedule not in SCHEDULES:
            problems.append(
                f"schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}"
            )
        for name in ("epochs", "batch_size", "size", "repeat", "workers"):
            if int(getattr(self, name)) < 1:
                problems.append(
                    f"{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}"
                )
        for side in (self.size, *self.sizes):
            if int(side) < 8 or int(side) % 8:
                problems.append(f"size must be a positive multiple of 8, got {side}")
        if not (0 <= self.val_split < 1):
            problems.append(f"val-split must be in [0, 1), got {self.val_split}")
        if self.minutes is not None and not self.minutes > 0:
            problems.append(f"minutes must be positive, got {self.minutes}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            problems.append(f"lr must be a positive number, got {self.lr}")
        if self.embedder and self.model != "fusion":
            problems.append(f"--embedder is for --model fusion, not {self.model}")
        try:  # e.g. a preset's name: the message says how to fine-tune the preset instead
            from kcolor import presets

            presets.get_builder(self.model)
        except WeightsError as err:
            problems.append(str(err))
        if not 0 <= self.freeze_epochs <= self.epochs:
            problems.append(f"freeze-epochs must be between 0 and epochs, got {self.freeze_epochs}")
        if problems:
            raise DataError("bad training configuration: " + "; ".join(problems))
        return self

    # ------------------------------------------------------------ JSON
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: dict) -> TrainConfig:
        """From :meth:`to_dict`'s output; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise DataError(f"unknown training option(s): {', '.join(unknown)}")
        return cls(**value)

    def to_json(self, path=None) -> str:
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            artifacts.write_json(path, self.to_dict())
        return text

    @classmethod
    def from_json(cls, text_or_path) -> TrainConfig:
        text = os.fspath(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    def to_command(self) -> str:
        """The ``kcolor train`` command that makes this run (non-default options only)."""
        default = TrainConfig(output=self.output)
        parts = ["kcolor", "train", "--model", self.model]
        if self.embedder and self.embedder != "efficientnet_lite0":
            parts += ["--embedder", self.embedder]
        if self.data:
            parts += ["--data", *self.data]
        flags = {"manifest": "--manifest", "val_manifest": "--val-manifest"}
        for name, flag in flags.items():
            if getattr(self, name):
                parts += [flag, getattr(self, name)]
        parts += ["-o", self.output]
        for f in dataclasses.fields(self):
            name = f.name
            if name in ("output", "data", "model", "embedder", *flags):
                continue
            value, base = getattr(self, name), getattr(default, name)
            if value == base:
                continue
            flag = "--" + name.replace("_", "-")
            if name == "model_args":
                for k, v in value.items():
                    parts += ["--model-arg", f"{k}={json.dumps(v)}"]
            elif name == "loss_args":
                for k, v in value.items():
                    parts += ["--loss-arg", f"{k}={json.dumps(v)}"]
            elif isinstance(value, list):
                parts += [flag, *(_fmt(v) for v in value)]
            elif isinstance(value, bool):
                parts.append(
                    {"augment": "--no-augment", "drop_grey": "--keep-grey"}.get(name, flag)
                )
            else:
                parts += [flag, _fmt(value)]
        return " ".join(shlex.quote(p) for p in parts)

    def digest(self) -> str:
        """A short hash of the configuration (the distributed ranks compare it)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ====================================================================== photos
def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kcolor"


def find_photos(sources, *, recursive: bool = False, drop_grey: bool = True) -> tuple[list, int]:
    """(the readable photos of ``sources``, how many grey ones were dropped).

    With ``drop_grey`` every photo is decoded once to check its colour; the result is
    cached in ``~/.cache/kcolor/`` (keyed by the file list, sizes and dates).
    """
    from kcolor.datasets import ImageFolderDataset
    from kcolor.datasets.folder import GREY_REASON, describe_sources, skipped_summary

    files, _ = io.find_images([os.fspath(s) for s in sources], recursive=recursive)
    if not files:
        where = ", ".join(os.fspath(s) for s in sources)
        raise DataError(
            f"no images found in {where}"
            + ("" if recursive else " (--recursive looks into sub-folders)")
        )
    if not drop_grey:
        return sorted(files), 0
    stamp = [(str(f), f.stat().st_size, int(f.stat().st_mtime)) for f in files]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:20]
    cached = _cache_dir() / f"colour_photos_{key}.json"
    if cached.is_file():
        try:
            record = json.loads(cached.read_text())
            return [Path(p) for p in record["colour"]], int(record["grey"])
        except (OSError, ValueError, KeyError):
            pass
    try:
        probe = ImageFolderDataset(files, size=8, drop_grey=True)
    except DataError as err:  # no colour photo: say so in `kcolor train`'s words
        skipped = getattr(err, "skipped", [])
        grey = sum(1 for _, reason in skipped if reason == GREY_REASON)
        if not grey:
            raise
        where = describe_sources(sources)
        keep = "pass --keep-grey (drop_grey=False) to train on them anyway"
        if grey == len(skipped):
            raise DataError(
                f"all {grey} photos in {where} are greyscale: a colouriser learns "
                f"from colour photos. Add colour photos, or {keep}"
            ) from None
        unreadable = [(p, r) for p, r in skipped if r != GREY_REASON]
        raise DataError(
            f"no colour photos in {where}: {grey} greyscale ({keep}), "
            f"{len(unreadable)} unreadable: {skipped_summary(unreadable)}"
        ) from None
    grey = sum(1 for _, reason in probe.skipped if reason == GREY_REASON)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"colour": [str(p) for p in probe.paths], "grey": grey}))
    except OSError:
        pass
    return list(probe.paths), grey


def split_photos(paths, val_split: float, seed: int, *, max_images: int = 0, val_max: int = 0):
    """Split ``paths`` into sorted (train, held-out) lists: a seeded permutation, the first
    ``val_split`` share held out (at least one photo, if any), then the caps applied."""
    paths = sorted(paths)
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = int(round(val_split * len(paths))) if len(paths) > 1 and val_split > 0 else 0
    n_val = min(max(n_val, 1 if val_split > 0 and len(paths) > 1 else 0), len(paths) - 1)
    val = sorted(paths[i] for i in order[:n_val])
    train = [paths[i] for i in order[n_val:]]
    if max_images:
        train = train[:max_images]
    if val_max:
        val = val[:val_max]
    return sorted(train), val


def _manifest_paths(manifest) -> list:
    from kcolor import data as kdata

    return list(kdata.manifest_paths(kdata.read_manifest(manifest)))


def _sample(paths, n: int, seed: int) -> list:
    """``n`` of ``paths`` drawn with ``seed`` (all of them when ``n`` is 0), sorted."""
    paths = sorted(paths)
    if not n or len(paths) <= n:
        return paths
    keep = np.random.default_rng(seed).permutation(len(paths))[:n]
    return sorted(paths[i] for i in keep)


def config_photos(config: TrainConfig) -> tuple[list, list, int]:
    """(training photos, held-out photos, grey dropped) for ``config``."""
    if config.manifest:
        paths, grey = _manifest_paths(config.manifest), 0
    else:
        paths, grey = find_photos(
            config.data, recursive=config.recursive, drop_grey=config.drop_grey
        )
    if config.val_manifest:
        # Caps take a seeded sample (a manifest is sorted by folder: its head is one folder).
        train = _sample(paths, config.max_images, config.seed)
        val = _sample(_manifest_paths(config.val_manifest), config.val_max, config.seed)
        return train, val, grey
    train, val = split_photos(
        paths, config.val_split, config.seed, max_images=config.max_images, val_max=config.val_max
    )
    if not train:
        raise DataError("no photos left to train on after the split")
    return train, val, grey


def make_datasets(config: TrainConfig, train_paths, val_paths):
    """(augmented training set, un-augmented held-out set or ``None``); with
    ``config.sizes``, the training set mixes batches of every size."""
    from kcolor.datasets import ImageFolderDataset

    def crops(size):
        return ImageFolderDataset(
            train_paths,
            size=size,
            batch_size=config.batch_size,
            augment=config.augment,
            seed=config.seed,
            repeat=config.repeat,
            workers=config.workers,
            use_multiprocessing=config.workers > 1,
        )

    train = crops(config.size)
    if config.sizes:
        from kcolor.datasets.mixed import MixedSizes

        train = MixedSizes([train, *(crops(s) for s in config.sizes)])
    val = (
        ImageFolderDataset(val_paths, size=config.size, batch_size=config.batch_size)
        if val_paths
        else None
    )
    return train, val


# ====================================================================== fusion inputs
class WithEmbeddings(keras.utils.PyDataset):
    """``(L, ab)`` batches -> ``((L, embedding), ab)`` for a two-input (fusion) model.

    Args:
        dataset: a kcolor dataset of ``(L, ab)`` batches.
        embedder: turns a batch of encoded L into embeddings (:mod:`kcolor.models.embedders`).
        table: ``(photos, D)`` embeddings in ``dataset.paths`` order (one per un-augmented
            photo, see :func:`embedding_table`), or ``None`` to embed every batch.
        packed: targets carry L (for :class:`kcolor.losses.PerceptualLoss`).

    Example:
        >>> fit_train = WithEmbeddings(train, get_embedder("efficientnet_lite0"))  # doctest: +SKIP
    """

    def __init__(self, dataset, embedder=None, table=None, packed=False):
        parallel = table is not None  # a table lookup can run in worker processes
        super().__init__(
            workers=getattr(dataset, "workers", 1) if parallel else 1,
            use_multiprocessing=getattr(dataset, "use_multiprocessing", False)
            if parallel
            else False,
        )
        self.dataset, self.embedder, self.table, self.packed = dataset, embedder, table, packed

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        if self.table is not None:
            start = index * self.dataset.batch_size
            emb = self.table[self.dataset.order[start : start + len(x)]]
        else:
            emb = np.asarray(self.embedder(x), dtype="float32")
        return (x, emb), (losses.pack_l(x, y) if self.packed else y)

    def on_epoch_end(self):
        self.dataset.on_epoch_end()


def embedding_table(dataset, embedder) -> np.ndarray:
    """Embeddings ``(photos, D)`` of ``dataset``'s photos, un-augmented, in ``paths`` order."""
    from tqdm.auto import tqdm

    from kcolor.datasets import ImageFolderDataset

    plain = ImageFolderDataset(dataset.paths, size=dataset.size, batch_size=32)
    rows = [np.asarray(embedder(plain[i][0])) for i in tqdm(range(len(plain)), desc="embedding")]
    return np.concatenate(rows).astype(np.float32)


# ====================================================================== model, loss, schedule
def make_loss(name: str, penalty: float = 1.0, train=None, model=None, **loss_args):
    """(the Keras loss, whether the targets must carry L) for loss ``name``.

    ``color_classes`` fits its class-rebalancing weights on ``train`` (the training set)
    and stores them in ``model``'s colour-class head, so the saved preset carries them.
    """
    if name == "mse":
        return "mse", False
    if name == "saturation":
        return losses.SaturationMSE(penalty=penalty, **loss_args), False
    if name == "perceptual":
        loss_args.setdefault("layers", ("block0", "block2"))
        loss_args.setdefault("mse_weight", 1.0)
        return losses.PerceptualLoss(**loss_args), True
    if name == "huber":
        return keras.losses.Huber(delta=float(loss_args.get("delta", 0.1))), False
    if name == "color_classes":
        from kcolor.models import color_classes

        return color_classes.make_loss(train, model=model, **loss_args), False
    raise DataError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


#: With ``freeze_epochs``, the fine-tuning stage starts at this share of ``lr``.
FINE_TUNE_LR = 0.3


def make_schedule(config: TrainConfig, steps_per_epoch: int, stage: str = "all"):
    """The learning rate: a cosine decay to 5 % over the run, or a constant.

    With ``freeze_epochs``, ``stage="fine-tune"`` is the schedule of the epochs after the
    frozen ones: from ``FINE_TUNE_LR * lr``, decaying over those epochs.
    """
    lr, epochs = float(config.lr), config.epochs
    if stage == "fine-tune":
        lr, epochs = lr * FINE_TUNE_LR, config.epochs - config.freeze_epochs
    if config.schedule == "constant":
        return lr
    return keras.optimizers.schedules.CosineDecay(lr, max(1, epochs * steps_per_epoch), alpha=0.05)


def builder_args(config: TrainConfig, embedder=None) -> dict:
    """The builder's keyword arguments recorded in the preset's ``config.json``."""
    args = {"input_shape": [None, None, 1], **config.model_args}
    if embedder is not None:
        args["embedding_dim"] = int(embedder.embedding_dim)
    return args


def preset_args(config: TrainConfig, embedder=None) -> dict:
    """:func:`builder_args` as the preset's ``config.json`` records them: a pretrained
    backbone is not fetched again when the preset loads (its weights are in the preset)."""
    import inspect

    from kcolor import presets

    args = builder_args(config, embedder)
    if "backbone_weights" in inspect.signature(presets.get_builder(config.model)).parameters:
        args["backbone_weights"] = None
    return args


def build(config: TrainConfig, embedder=None):
    """The network of ``config``, initialised from ``config.init`` when given."""
    from kcolor import presets
    from kcolor.models import load_weights

    builder = presets.get_builder(config.model)
    model = builder(**builder_args(config, embedder))
    if config.init:
        load_weights(model, config.init, architecture=config.model)
    return model


def set_backbone_trainable(model, trainable: bool) -> int:
    """Freeze or unfreeze the layers named ``backbone*``; returns how many there are.

    A :func:`kcolor.models.unet` backbone goes through
    :func:`kcolor.models.unet.set_backbone_trainable`, which keeps its batch norms frozen in
    inference mode while the rest fine-tunes (stable with small batches).
    """
    from kcolor.models import set_backbone_trainable as unet_set_backbone_trainable

    layers = [layer for layer in model.layers if layer.name.startswith("backbone")]
    if [layer.name for layer in layers] == ["backbone"] and hasattr(layers[0], "layers"):
        unet_set_backbone_trainable(model, trainable)
        return 1
    for layer in layers:
        layer.trainable = trainable
    return len(layers)


# ====================================================================== callbacks
class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """TerminateOnNaN that records where the loss broke: ``(epoch, batch, value)``."""

    def __init__(self):
        super().__init__()
        self.stopped = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss", 0.0)
        if self.stopped is None and not _finite(loss):
            self.stopped = (self._epoch, int(batch), float(loss))
        super().on_batch_end(batch, logs)


class FiniteBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that never backs up an epoch whose loss is NaN or infinite."""

    def on_epoch_end(self, epoch, logs=None):
        if all(_finite((logs or {}).get(k, 0.0)) for k in ("loss", "val_loss")):
            super().on_epoch_end(epoch, logs)


class SaveBestPreset(keras.callbacks.Callback):
    """Write the run folder's preset files whenever ``monitor`` improves (never a NaN epoch).

    The best value is kept in ``metadata.json`` (``best``) and read back on ``--resume``,
    so a resumed run never replaces a good model with a worse one.

    Args:
        folder: the run folder.
        save: ``save(model, metadata)`` writing the preset files.
        monitor: the log key to watch.
    """

    def __init__(self, folder, save, monitor="val_loss"):
        super().__init__()
        self.folder, self.save, self.monitor = Path(folder), save, monitor
        self.best = self.best_epoch = None
        try:
            best = artifacts.read_metadata(self.folder).get("best") or {}
        except Exception:  # noqa: BLE001 - no readable metadata: nothing to beat
            best = {}
        if best.get("monitor") == monitor and _finite(best.get("value")):
            self.best, self.best_epoch = float(best["value"]), best.get("epoch")

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not _finite(value) or not _finite((logs or {}).get("loss", 0.0)):
            return
        if self.best is not None and not float(value) < self.best:
            return
        if not all(np.isfinite(w).all() for w in self.model.get_weights()):
            return
        self.best, self.best_epoch = float(value), int(epoch)
        self.save(
            self.model,
            {"best": {"epoch": int(epoch) + 1, "monitor": self.monitor, "value": float(value)}},
        )


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


# ====================================================================== the run
@dataclasses.dataclass
class Run:
    """What :func:`train` leaves: the folder and what happened.

    Attributes:
        folder: the run folder (a preset folder once an epoch has finished).
        config: the :class:`TrainConfig`.
        history: one row per epoch (``history.csv``), a pandas DataFrame.
        best: the best monitored value, or ``None``.
        monitor: ``val_loss`` (with held-out photos) or ``loss``.
        epochs_run: epochs run by this call.
        wall_seconds: the training's wall time.
        stopped_by_time: ``minutes`` ended the run.
        nan: ``(epoch, batch, value)`` where the loss became NaN, else ``None``.
        metrics: the held-out photos' scores against the grey baseline.
        report: the report's path, or why it was not written.
    """

    folder: Path
    config: TrainConfig
    history: object = None
    best: float | None = None
    monitor: str = "val_loss"
    epochs_run: int = 0
    wall_seconds: float = 0.0
    stopped_by_time: bool = False
    nan: tuple | None = None
    metrics: dict = dataclasses.field(default_factory=dict)
    report: str = ""


def _has_finished_epoch(folder: Path) -> bool:
    return (folder / artifacts.WEIGHTS).is_file() or (folder / "backup").is_dir()


def prepare_folder(config: TrainConfig, resume: bool) -> Path:
    """Make the run folder ready; a folder whose run never finished an epoch starts clean.

    Raises:
        DataError: the folder holds something else, or a finished run (without ``resume``),
            or a run of another network (with ``resume``).
    """
    folder = Path(config.output)
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        ours = (folder / "train_config.json").is_file()
        if not ours:
            raise DataError(
                f"{folder}: exists, is not empty and is not a kcolor run folder; "
                "choose a new output folder"
            )
        if _has_finished_epoch(folder):
            if not resume:
                raise DataError(
                    f"{folder}: holds a run already: pass --resume to continue it, "
                    "or choose a new output folder"
                )
            old = TrainConfig.from_json(folder / "train_config.json")
            if old.model != config.model:
                raise DataError(
                    f"{folder}: holds a {old.model!r} run; cannot resume it as {config.model!r}"
                )
        else:  # a run that never finished an epoch: nothing to resume, start cleanly
            _discard_unfinished(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _device() -> str:
    import torch

    from kcolor.backend import device

    dev = device()
    if getattr(dev, "type", str(dev)) == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


#: Annealed-mean temperatures tried on the held-out photos for a colour-class model.
TEMPERATURES = (0.1, 0.2, 0.38, 0.6)


def held_out_scores(model, val, embedder=None, temperature: float | None = None) -> dict:
    """Mean PSNR, SSIM, AuC, colourfulness, ΔCF and chroma ratio on the held-out photos,
    for the model and for the grey baseline (the photo's L with no colour).

    A colour-class model is decoded by the annealed mean at ``temperature`` (default 0.38).
    """
    from kcolor import color

    if model.outputs[0].shape[-1] != 2:  # a colour-class head: decode to ab first
        from kcolor.models import color_classes

        model = color_classes.to_ab_model(model, 0.38 if temperature is None else temperature)
    preds, truths = [], []
    for i in range(len(val)):
        x, _ = val[i]
        inputs = (x, np.asarray(embedder(x), "float32")) if embedder is not None else x
        y = np.asarray(model.predict(inputs, verbose=0))
        preds.append(color.to_uint8(color.merge_lab(x, y)))
        truths.append(val.rgb_batch(i))
    preds, truths = np.concatenate(preds), np.concatenate(truths)
    grey = color.to_uint8(color.rgb_to_gray(truths.astype(np.float32) / 255.0))
    return {
        "model": _set_scores(preds, truths),
        "grey": _set_scores(grey, truths),
        "photos": int(len(truths)),
    }


def _set_scores(preds, truths) -> dict:
    per = [metrics.evaluate_pair(p, t) for p, t in zip(preds, truths, strict=True)]
    mean = {
        k: float(np.nanmean([r[k] for r in per])) for k in ("psnr", "ssim", "auc", "colorfulness")
    }
    mean["delta_colorfulness"] = float(metrics.delta_colorfulness(preds, truths))
    mean["chroma_ratio"] = float(metrics.chroma_ratio(preds, truths))
    return mean


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    verbose: int | str = "auto",
    extra_callbacks=(),
    dist=None,
) -> Run:
    """Train ``config``'s network with ``model.fit`` into the run folder ``config.output``.

    Args:
        config: the :class:`TrainConfig`.
        resume: continue a killed or stopped run in the same folder (its backup), or a
            finished one with a larger ``epochs``.
        verbose: ``model.fit``'s verbosity (``"auto"``: a progress bar on a terminal,
            one line per epoch otherwise).
        extra_callbacks: more Keras callbacks.
        dist: a :class:`kcolor.distributed.Dist` when run under ``torchrun`` (from
            :func:`kcolor.distributed.init_from_env`); ``None`` for one process.

    Returns:
        A :class:`Run`.

    Raises:
        DataError: a bad configuration or data (nothing is left behind that would make a
            retry ask for ``--resume``).
        RunComplete: ``resume`` of a run that has ``config.epochs`` epochs already (nothing
            is written; a larger ``epochs`` with ``resume`` continues it).
    """
    config.validate()
    main = dist is None or dist.is_main
    folder = prepare_folder(config, resume) if main else Path(config.output)
    done = _backup_epoch(folder / "backup") if main and resume else None
    if dist is not None:  # rank 0's answer on every rank (the others may not see the folder)
        from kcolor import distributed

        done = distributed.all_gather_object(dist, done)[0]
    if done is not None and done >= config.epochs:
        raise RunComplete(folder, done, config.epochs)
    fresh = not _has_finished_epoch(folder)
    try:
        train_paths, val_paths, grey = config_photos(config)
        keras.utils.set_random_seed(config.seed)
        train_ds, val_ds = make_datasets(config, train_paths, val_paths)
        embedder = None
        if config.model == "fusion":
            from kcolor.models.embedders import get_embedder

            embedder = get_embedder(config.embedder)
        model = build(config, embedder)
    except BaseException:
        if main and fresh:
            _discard_unfinished(folder)
        raise
    try:
        return _fit(
            config,
            folder,
            model,
            train_ds,
            val_ds,
            embedder,
            train_paths,
            val_paths,
            grey,
            resume,
            verbose,
            extra_callbacks,
            dist,
            main,
        )
    except BaseException:
        if main and fresh and not _has_finished_epoch(folder):
            _discard_unfinished(folder)  # nothing to resume: a retry starts cleanly
        raise


def _discard_unfinished(folder: Path) -> None:
    """Remove what a run that never finished an epoch wrote (and the folder, if then empty)."""
    for name in RUN_FILES:
        (folder / name).unlink(missing_ok=True)
    for name in RUN_DIRS:
        shutil.rmtree(folder / name, ignore_errors=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _fit(
    config,
    folder,
    model,
    train_ds,
    val_ds,
    embedder,
    train_paths,
    val_paths,
    grey,
    resume,
    verbose,
    extra_callbacks,
    dist,
    main,
) -> Run:
    from kcolor import presets
    from kcolor.callbacks import ColorizationPreview, PandasLogger, TimeBudget

    loss, packed = make_loss(
        config.loss, config.penalty, train=train_ds, model=model, **config.loss_args
    )
    fit_train, fit_val = train_ds, val_ds
    if embedder is not None:
        table = embedding_table(train_ds, embedder) if config.embed_cache else None
        fit_train = WithEmbeddings(train_ds, embedder, table, packed)
        fit_val = WithEmbeddings(val_ds, embedder, None, packed) if val_ds is not None else None
    elif packed:
        fit_train = losses.PackedLTargets(train_ds)
        fit_val = losses.PackedLTargets(val_ds) if val_ds is not None else None

    if dist is not None:
        from kcolor import distributed

        distributed.check_same_config(dist, config.to_dict())
        fit_train, fit_val = distributed.shard_data(dist, fit_train, fit_val)
        distributed.sync_model(dist, model)
    steps = len(fit_train)  # this rank's steps: the optimizer's steps per epoch
    schedule = make_schedule(config, steps)
    monitor = "val_loss" if fit_val is not None else "loss"
    args = preset_args(config, embedder)
    multiple = int(getattr(model, "size_multiple", 32 if config.model == "unet" else 8))
    command = config.to_command()
    base_meta = {
        "run": True,
        "description": f"kcolor train run: {config.model} on {len(train_paths)} photos",
        "command": command,
        "train_config": config.to_dict(),
        "data": config.data or [config.manifest],
        "train_images": len(train_paths),
        "val_images": len(val_paths),
        "grey_dropped": grey,
        "seed": config.seed,
        "epochs": config.epochs,
        "device": _device(),
        "world_size": 1 if dist is None else dist.world_size,
    }

    def save(m, extra):
        presets.save_to_preset(
            m,
            folder,
            builder=config.model,
            args=args,
            input_size=config.size,
            multiple=multiple,
            embedder=config.embedder,
            metadata={**base_meta, **extra},
            overwrite=True,
        )

    nan_guard = StopOnNaN()
    callbacks = [nan_guard]
    best = None
    if main:
        config.to_json(folder / "train_config.json")
        sample_x, sample_y = (fit_val if fit_val is not None else fit_train)[0]
        sample_x = [a[:6] for a in sample_x] if isinstance(sample_x, tuple) else sample_x[:6]
        best = SaveBestPreset(folder, save, monitor=monitor)
        view = None
        if model.outputs[0].shape[-1] != 2:  # a colour-class head: preview its decoded ab
            from kcolor.models import color_classes

            view = color_classes.to_ab_model(model)
        callbacks += [
            PandasLogger(folder / "history.csv"),
            ColorizationPreview(
                sample_x,
                np.asarray(sample_y)[:6, ..., -2:],
                folder / "previews",
                preview_model=view,
            ),
            best,
            # rank 0 alone writes the backup; BroadcastState resumes the other ranks from it
            FiniteBackupAndRestore(
                folder / "backup", double_checkpoint=True, delete_checkpoint=False
            ),
        ]
    budget = None
    if config.minutes:
        budget = TimeBudget(
            config.minutes * 60,
            schedule if config.schedule == "cosine" else None,
            stop_mid_epoch=False,
            clock=distributed.synced_clock(dist) if dist is not None else None,
        )
        callbacks.append(budget)
    callbacks += list(extra_callbacks)
    if dist is not None:
        callbacks = distributed.distributed_callbacks(dist, callbacks, fit_val)
    if verbose == "auto":
        verbose = 1 if sys.stderr.isatty() else 2
    if main and resume:
        done = _backup_epoch(folder / "backup")
        if done is None:
            print(f"{folder}: no backup to resume from; starting at epoch 1", file=sys.stderr)
        else:
            print(
                f"resuming {folder}: {done} epoch(s) done, continuing at epoch {done + 1} "
                f"of {config.epochs}",
                file=sys.stderr,
            )
    if main:
        print(
            f"training {config.model} on {len(train_paths)} photos ({grey} grey dropped, "
            f"{len(val_paths)} held out), {'/'.join(str(v) for v in [config.size, *config.sizes])} px, {_plural(config.epochs, 'epoch')} "
            f"of {_plural(steps, 'step')}, loss {config.loss}, on {_device()}",
            file=sys.stderr,
        )

    def fit(epochs, lr_schedule):
        model.compile(keras.optimizers.Adam(lr_schedule), loss=loss)
        return model.fit(
            fit_train,
            validation_data=fit_val,
            epochs=epochs,
            callbacks=callbacks,
            verbose=verbose if main else 0,
        )

    if config.compile:
        from kcolor.backend import compile_model

        compile_model(model)
    start = time.perf_counter()
    fine_tune = not config.freeze_epochs or config.freeze_epochs < config.epochs
    if not config.freeze_epochs:
        set_backbone_trainable(model, True)  # (a unet's backbone batch norms stay frozen)
    if config.freeze_epochs:
        if not set_backbone_trainable(model, False):
            raise DataError(f"--freeze-epochs: {config.model} has no layers named backbone*")
        fit(config.freeze_epochs, schedule)
        set_backbone_trainable(model, True)
        if budget is not None:  # one budget for both stages
            budget.seconds -= time.perf_counter() - start
            if budget.seconds <= 0 or budget.stopped_by_time:
                fine_tune = False
    if fine_tune:
        with warnings.catch_warnings():
            # The backup of the frozen stage holds fewer optimizer variables: Keras says it
            # skips them, which is what the fine-tuning stage wants (a fresh optimizer).
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            if config.freeze_epochs:  # fine-tuning: a fresh optimizer on its own, lower decay
                schedule = make_schedule(config, steps, stage="fine-tune")
                if budget is not None:
                    budget.schedule = schedule if config.schedule == "cosine" else None
            fit(config.epochs, schedule)
    wall = time.perf_counter() - start
    if config.compile and main:
        stats = model.compile_stats
        print(
            f"torch.compile: {_plural(stats.compiles, 'graph')} compiled in {stats.seconds:.1f} s "
            "(forward passes; each backward compiled at its first step)",
            file=sys.stderr,
        )
    if dist is not None:  # a NaN seen on any rank
        seen = [s for s in distributed.all_gather_object(dist, nan_guard.stopped) if s]
        nan_guard.stopped = seen[0] if seen else None
    return _finish(
        config,
        folder,
        model,
        best,
        monitor,
        nan_guard,
        budget,
        wall,
        val_ds,
        embedder,
        base_meta,
        save,
        main,
    )


def _backup_epoch(backup: Path):
    """How many epochs the BackupAndRestore folder says are done (``None`` without one)."""
    try:
        return int(json.loads((backup / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _finish(
    config,
    folder,
    model,
    best,
    monitor,
    nan_guard,
    budget,
    wall,
    val_ds,
    embedder,
    base_meta,
    save,
    main,
) -> Run:
    import pandas as pd

    run = Run(
        folder=folder,
        config=config,
        monitor=monitor,
        wall_seconds=wall,
        nan=nan_guard.stopped,
        stopped_by_time=bool(budget and budget.stopped_by_time),
    )
    if not main:
        return run
    history_path = folder / "history.csv"
    run.history = pd.read_csv(history_path) if history_path.is_file() else pd.DataFrame()
    run.epochs_run = int(len(run.history))
    run.best = best.best if best is not None else None
    if (folder / artifacts.WEIGHTS).is_file() and run.nan is None:
        from kcolor import presets

        best_model = presets.build_model(folder)
        meta = artifacts.read_metadata(folder)
        if val_ds is not None and best_model.outputs[0].shape[-1] != 2:
            # A colour-class model: its decoding temperature is chosen on the held-out
            # photos (best PSNR) and recorded in the preset's config.json.
            tried = {t: held_out_scores(best_model, val_ds, embedder, t) for t in TEMPERATURES}
            best_t = max(tried, key=lambda t: tried[t]["model"]["psnr"])
            run.metrics = {**tried[best_t], "temperature": best_t}
            meta["temperatures"] = {str(t): v["model"] for t, v in tried.items()}
            config_json = artifacts.read_config(folder)
            config_json["temperature"] = best_t
            artifacts.write_json(folder / artifacts.CONFIG, config_json)
        elif val_ds is not None:
            run.metrics = held_out_scores(best_model, val_ds, embedder)
        final = (
            {
                k: float(v)
                for k, v in run.history.iloc[-1].items()
                if k in ("loss", "val_loss") and _finite(v)
            }
            if len(run.history)
            else {}
        )
        meta.update(
            {
                "epochs_run": run.epochs_run,
                "wall_seconds": round(float(meta.get("wall_seconds", 0.0)) + wall, 1),
                "stopped_by_time": run.stopped_by_time,
                "final_loss": final,
                "metrics": {"held_out": run.metrics} if run.metrics else {},
            }
        )
        artifacts.write_json(folder / artifacts.METADATA, meta)
    from kcolor.reports import build_report

    try:
        run.report = os.fspath(build_report(folder))
    except Exception as err:  # noqa: BLE001 - the run itself is fine without its report
        run.report = f"not written ({type(err).__name__}: {err})"
    return run
