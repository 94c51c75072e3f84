"""``TrainConfig``: every option of a training run, written once.

Each field of :class:`TrainConfig` carries its command-line option in its metadata
(:func:`kcolor.training.options.option`: flags, help text, type, metavar, group). That one
table makes the
``kcolor train`` arguments (:func:`add_arguments`), reads them back
(:meth:`TrainConfig.from_args`) and writes the command that repeats a run
(:meth:`TrainConfig.to_command`).

This module is light (no numpy, no Keras): the CLI builds its parser from it.

Example:
    >>> import argparse
    >>> from kcolor.training.config import TrainConfig, add_arguments
    >>> parser = argparse.ArgumentParser(prog="kcolor train")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["--model", "beta", "--data", "photos", "-o", "runs/b",
    ...                           "--epochs", "3", "--model-arg", "width=32"])
    >>> config = TrainConfig.from_args(args)
    >>> config.epochs, config.model_args
    (3, {'width': 32})
    >>> config.to_command()
    'kcolor train --model beta --data photos -o runs/b --model-arg width=32 --epochs 3'
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shlex
from pathlib import Path

from kcolor import argtypes
from kcolor.errors import DataError, WeightsError
from kcolor.presets import format as preset_format
from kcolor.training import options as _options
from kcolor.training.options import option

#: Losses ``TrainConfig.loss`` names.
LOSSES = ("mse", "saturation", "perceptual", "huber", "color_classes")
#: Learning-rate schedules ``TrainConfig.schedule`` names.
SCHEDULES = ("cosine", "constant")
#: The argument groups of ``kcolor train``, in the order its help lists them.
GROUPS = ("data", "network", "training")
#: The fields the command names first, in this order (what is trained, on what, where);
#: the others follow in field order.
COMMAND_LEAD = ("model", "embedder", "data", "manifest", "val_manifest", "output")


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run needs; JSON round trip, and the ``kcolor train`` command.

    Each field is a ``kcolor train`` option (its flag is the field's name with dashes, unless
    said otherwise); the help text of the option is in the field's metadata.

    Args:
        output: the run folder (``-o``).
        data: photo folders or files.
        manifest, val_manifest: ``kcolor data`` manifests (CSV/parquet) instead of ``data``;
            with ``val_manifest`` the held-out photos come from it, not from a split.
        recursive: also use photos in sub-folders of ``data`` (``-r``).
        model: the builder in :mod:`kcolor.models` (``alpha``, ``beta``, ``fusion``, ``unet``).
        model_args: more keyword arguments for the builder (``--model-arg KEY=JSON``).
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
        loss_args: more keyword arguments for the loss (``--loss-arg KEY=JSON``).
        val_split: share of the photos held out (never augmented) for validation.
        val_max: at most this many held-out photos (0: all).
        max_images: train on at most this many photos (0: all).
        repeat: each photo this many times per epoch.
        augment: the article's augmentation on the training photos (``--no-augment``).
        drop_grey: leave out photos without colour (``--keep-grey`` keeps them).
        minutes: stop after the whole epochs that fit in this many minutes (the cosine
            decay is fitted to them); ``None``: no time limit.
        freeze_epochs: train with the backbone frozen (layers named ``backbone*``) for this
            many epochs first, then fine-tune everything.
        workers: data-loading processes.
        seed: seeds the split, the order, the augmentation and the initialisation.
        compile: run the network's forward and backward passes through ``torch.compile``
            (:func:`kcolor.backend.compile_model`; Keras' ``fit`` loop, loss and optimizer
            stay eager). Each new batch shape compiles once, at its first step.

    Example:
        >>> config = TrainConfig(output="runs/faces", data=["photos/faces"], epochs=2,
        ...                      loss="saturation", penalty=1.5)
        >>> TrainConfig.from_json(config.to_json()) == config
        True
        >>> config.to_command()
        'kcolor train --model beta --data photos/faces -o runs/faces --epochs 2 --loss saturation --penalty 1.5'
    """

    output: str = option(
        flags=("-o", "--output"),
        required=True,
        metavar="RUN_DIR",
        help="run folder (created)",
        group="training",
    )
    data: list = option(
        factory=list, nargs="+", metavar="DIR", help="photo folders or files", group="data"
    )
    manifest: str | None = option(
        None, metavar="CSV", help="train on a `kcolor data` manifest instead", group="data"
    )
    val_manifest: str | None = option(
        None,
        metavar="CSV",
        help="held-out photos from this manifest (instead of --val-split)",
        group="data",
    )
    recursive: bool = option(
        False,
        flags=("-r", "--recursive"),
        action="store_true",
        help="also use sub-folders of --data",
        group="data",
    )
    model: str = option(
        "beta",
        required=True,
        metavar="BUILDER",
        help="alpha, beta, fusion, unet (a kcolor.models builder); to fine-tune a "
        "preset, give its builder and --init PRESET",
        group="network",
    )
    model_args: dict = option(
        factory=dict,
        flags=("--model-arg",),
        action="key_values",
        metavar="KEY=JSON",
        help="builder argument, e.g. --model-arg head='\"classes\"' (repeatable)",
        group="network",
    )
    embedder: str | None = option(
        None,
        metavar="NAME",
        help="fusion only: the frozen classifier (default efficientnet_lite0)",
        group="network",
    )
    embed_cache: bool = option(
        False,
        action="store_true",
        help="fusion only: embed each photo once, un-augmented (faster)",
        group="network",
    )
    init: str | None = option(
        None, metavar="PRESET|DIR|FILE", help="start from these weights", group="network"
    )
    size: int = option(
        128,
        type=argtypes.size,
        metavar="N",
        help="training crop side, a multiple of 8 (default 128); also the "
        "held-out photos' and the preset's inference size",
        group="training",
    )
    sizes: list = option(
        factory=list,
        type=argtypes.size,
        nargs="+",
        metavar="N",
        help="more training crop sides: each batch is cropped at one of --size "
        "and these (mixed-size training)",
        group="training",
    )
    epochs: int = option(
        10, type=argtypes.positive_int, metavar="N", help="default 10", group="training"
    )
    batch_size: int = option(
        16, type=argtypes.positive_int, metavar="N", help="default 16", group="training"
    )
    lr: float = option(1e-3, type=float, help="Adam's peak learning rate (1e-3)", group="training")
    schedule: str = option(
        "cosine",
        choices=SCHEDULES,
        help="cosine: decay to 5%% over the run (default)",
        group="training",
    )
    loss: str = option(
        "mse",
        choices=LOSSES,
        help="mse: the article's; saturation: MSE + lost-chroma penalty; "
        "color_classes: rebalanced colour classes (unet head=classes)",
        group="training",
    )
    penalty: float = option(1.0, type=float, help="SaturationMSE's penalty (1.0)", group="training")
    loss_args: dict = option(
        factory=dict,
        flags=("--loss-arg",),
        action="key_values",
        metavar="KEY=JSON",
        help="loss argument (repeatable)",
        group="training",
    )
    val_split: float = option(
        0.05,
        type=argtypes.fraction,
        metavar="F",
        help="share of the photos held out for validation (default 0.05)",
        group="data",
    )
    val_max: int = option(
        256,
        type=int,
        metavar="N",
        help="at most N held-out photos (0: all; default 256)",
        group="data",
    )
    max_images: int = option(
        0, type=int, metavar="N", help="train on at most N photos", group="data"
    )
    repeat: int = option(
        1,
        type=argtypes.positive_int,
        metavar="N",
        help="each photo N times per epoch",
        group="data",
    )
    augment: bool = option(
        True,
        flags=("--no-augment",),
        action="store_false",
        help="no augmentation (e.g. alpha: one photo learnt as it is)",
        group="data",
    )
    drop_grey: bool = option(
        True,
        flags=("--keep-grey",),
        action="store_false",
        help="keep photos without colour (dropped by default)",
        group="data",
    )
    minutes: float | None = option(
        None,
        type=float,
        metavar="M",
        help="stop after the whole epochs that fit in M minutes (the decay "
        "fitted to them; --resume continues later)",
        group="training",
    )
    freeze_epochs: int = option(
        0,
        type=int,
        metavar="N",
        help="first N epochs with the backbone frozen (unet)",
        group="training",
    )
    workers: int = option(
        1,
        type=argtypes.positive_int,
        metavar="N",
        help="data-loading processes (default 1)",
        group="data",
    )
    seed: int = option(0, type=int, help="seed for split, order, augmentation", group="training")
    compile: bool = option(
        False,
        action="store_true",
        help="torch.compile the network's forward and backward passes (each batch "
        "shape compiles at its first step; fit, loss and optimizer stay Keras)",
        group="training",
    )

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
            preset_format.write_json(path, self.to_dict())
        return text

    @classmethod
    def from_json(cls, text_or_path) -> TrainConfig:
        text = os.fspath(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------ the command line
    @classmethod
    def from_args(cls, args, base: TrainConfig | None = None) -> TrainConfig:
        """The config of ``args``, parsed by a parser that :func:`add_arguments` filled.

        With ``base`` (e.g. read from ``--config FILE``), the options given on the command
        line (those not at their default, and the required ones) replace ``base``'s.
        """
        values = _options.values_from_args(cls, args)
        if base is not None:
            given = {
                field.name
                for field, opt in _options.options(cls)
                if opt.required or values[field.name] != _options.default(field)
            }
            values = {**base.to_dict(), **{k: v for k, v in values.items() if k in given}}
        return cls(**values)

    def to_command(self) -> str:
        """The ``kcolor train`` command that makes this run: the required options, then
        those not at their default (:data:`COMMAND_LEAD` first)."""
        default = TrainConfig(output=self.output, model=self.model)
        lead = {name: i for i, name in enumerate(COMMAND_LEAD)}
        fields = sorted(_options.options(TrainConfig), key=lambda fo: lead.get(fo[0].name, 99))
        parts = ["kcolor", "train"]
        for field, opt in fields:
            value = getattr(self, field.name)
            if opt.required or value != getattr(default, field.name):
                parts += _options.command_args(opt, value)
        return " ".join(shlex.quote(p) for p in parts)

    def digest(self) -> str:
        """A short hash of the configuration (the distributed ranks compare it)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every :class:`TrainConfig` field to ``parser`` as an option (``dest``: the field's
    name), in the argument groups :data:`GROUPS`, with its help text and default.

    Args:
        parser: an ``argparse.ArgumentParser`` (e.g. the ``kcolor train`` sub-parser).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> parser.parse_args(["--model", "alpha", "-o", "run", "--keep-grey"]).drop_grey
        False
    """
    _options.add_arguments(parser, TrainConfig, GROUPS)
