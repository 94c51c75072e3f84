"""The run: :func:`train` turns a :class:`TrainConfig` into a run folder (a preset) with
``model.fit``, and returns a :class:`Run` saying what happened.

Example:
    >>> from kcolor.training import TrainConfig, train
    >>> config = TrainConfig(output="runs/faces", data=["photos/faces"], epochs=2)
    >>> run = train(config)                                    # doctest: +SKIP
    >>> run.history[["epoch", "loss", "val_loss"]]             # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from kcolor import losses
from kcolor.errors import DataError, RunComplete
from kcolor.formatting import plural as _plural
from kcolor.presets import format as preset_format
from kcolor.presets.run_folder import RunFolder
from kcolor.training.callbacks import FiniteBackupAndRestore, SaveBestPreset, StopOnNaN, finite
from kcolor.training.config import TrainConfig
from kcolor.training.fusion import WithEmbeddings, embedding_table
from kcolor.training.photos import config_photos, make_datasets
from kcolor.training.recipe import (
    build,
    make_loss,
    make_schedule,
    preset_args,
    set_backbone_trainable,
)
from kcolor.training.scores import TEMPERATURES, held_out_scores

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


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

    @property
    def files(self) -> RunFolder:
        """The run folder's paths (:class:`RunFolder`)."""
        return RunFolder(self.folder)


def prepare_folder(config: TrainConfig, resume: bool) -> Path:
    """Make the run folder ready; a folder whose run never finished an epoch starts clean.

    Raises:
        DataError: the folder holds something else, or a finished run (without ``resume``),
            or a run of another network (with ``resume``).
    """
    files = RunFolder(config.output)
    folder = files.path
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        if not files.is_run():
            raise DataError(
                f"{folder}: exists, is not empty and is not a kcolor run folder; "
                "choose a new output folder"
            )
        if files.has_finished_epoch():
            if not resume:
                raise DataError(
                    f"{folder}: holds a run already: pass --resume to continue it, "
                    "or choose a new output folder"
                )
            old = TrainConfig.from_json(files.train_config)
            if old.model != config.model:
                raise DataError(
                    f"{folder}: holds a {old.model!r} run; cannot resume it as {config.model!r}"
                )
        else:  # a run that never finished an epoch: nothing to resume, start cleanly
            files.discard()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _device() -> str:
    import torch

    from kcolor.backend import device

    dev = device()
    if getattr(dev, "type", str(dev)) == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


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
    files = RunFolder(folder)
    done = files.backup_epoch() if main and resume else None
    if dist is not None:  # rank 0's answer on every rank (the others may not see the folder)
        from kcolor import distributed

        done = distributed.all_gather_object(dist, done)[0]
    if done is not None and done >= config.epochs:
        raise RunComplete(folder, done, config.epochs)
    fresh = not files.has_finished_epoch()
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
            files.discard()
        raise
    job = _Job(config, files, model, train_ds, val_ds, embedder, train_paths, val_paths, grey, dist)
    try:
        return _fit(job, resume, verbose, extra_callbacks)
    except BaseException:
        if main and fresh and not files.has_finished_epoch():
            files.discard()  # nothing to resume: a retry starts cleanly
        raise


@dataclasses.dataclass
class _Job:
    """What :func:`train` has made ready for ``model.fit``."""

    config: TrainConfig
    files: RunFolder
    model: object
    train_ds: object
    val_ds: object
    embedder: object
    train_paths: list
    val_paths: list
    grey: int
    dist: object = None

    @property
    def main(self) -> bool:
        """This process writes the run folder (rank 0, or the only process)."""
        return self.dist is None or self.dist.is_main


def _fit(job: _Job, resume, verbose, extra_callbacks) -> Run:
    """``model.fit`` of ``job`` with every run's callbacks (log, previews, best preset,
    backup, time budget), frozen-backbone epochs first when asked; then :func:`_finish`."""
    from kcolor import presets
    from kcolor.callbacks import ColorizationPreview, PandasLogger, TimeBudget

    config, files, folder, model = job.config, job.files, job.files.path, job.model
    train_ds, val_ds, embedder, dist, main = (
        job.train_ds,
        job.val_ds,
        job.embedder,
        job.dist,
        job.main,
    )
    train_paths, val_paths, grey = job.train_paths, job.val_paths, job.grey

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
            export=False,  # once, at the end (_finish): an export takes seconds
        )

    nan_guard = StopOnNaN()
    callbacks = [nan_guard]
    best = None
    if main:
        config.to_json(files.train_config)
        sample_x, sample_y = (fit_val if fit_val is not None else fit_train)[0]
        sample_x = [a[:6] for a in sample_x] if isinstance(sample_x, tuple) else sample_x[:6]
        best = SaveBestPreset(folder, save, monitor=monitor)
        view = None
        from kcolor.models import color_classes

        if color_classes.is_class_model(model):  # a colour-class head: preview its decoded ab
            view = color_classes.to_ab_model(model)
        callbacks += [
            PandasLogger(files.history),
            ColorizationPreview(
                sample_x,
                np.asarray(sample_y)[:6, ..., -2:],
                files.previews,
                preview_model=view,
            ),
            best,
            # rank 0 alone writes the backup; BroadcastState resumes the other ranks from it
            FiniteBackupAndRestore(files.backup, double_checkpoint=True, delete_checkpoint=False),
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
        done = files.backup_epoch()
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
    return _finish(job, best, monitor, nan_guard, budget, wall)


def _finish(job: _Job, best, monitor, nan_guard, budget, wall) -> Run:
    """The :class:`Run` of a finished ``model.fit``: history, held-out scores of the best
    epoch (a colour-class model's temperature chosen on them), metadata and report."""
    import pandas as pd

    config, files, folder, main = job.config, job.files, job.files.path, job.main
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
    run.history = pd.read_csv(files.history) if files.history.is_file() else pd.DataFrame()
    run.epochs_run = int(len(run.history))
    run.best = best.best if best is not None else None
    if files.weights.is_file() and run.nan is None:
        from kcolor import presets
        from kcolor.models.color_classes import is_class_model

        best_model = presets.build_model(folder)
        meta = preset_format.read_metadata(folder)
        if job.val_ds is not None and is_class_model(best_model):
            # A colour-class model: its decoding temperature is chosen on the held-out
            # photos (best PSNR) and recorded in the preset's config.json.
            tried = {
                t: held_out_scores(best_model, job.val_ds, job.embedder, t) for t in TEMPERATURES
            }
            best_t = max(tried, key=lambda t: tried[t]["model"]["psnr"])
            run.metrics = {**tried[best_t], "temperature": best_t}
            meta["temperatures"] = {str(t): v["model"] for t, v in tried.items()}
            config_json = preset_format.read_config(folder)
            config_json["temperature"] = best_t
            preset_format.write_json(files.config, config_json)
        elif job.val_ds is not None:
            run.metrics = held_out_scores(best_model, job.val_ds, job.embedder)
        final = (
            {
                k: float(v)
                for k, v in run.history.iloc[-1].items()
                if k in ("loss", "val_loss") and finite(v)
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
        preset_format.write_json(files.metadata, meta)
        from kcolor.presets.export import after_save

        after_save(best_model, folder)  # model.onnx of the best epoch, for the fast path
    from kcolor.report import build_report

    try:
        run.report = os.fspath(build_report(folder))
    except Exception as err:  # noqa: BLE001 - the run itself is fine without its report
        run.report = f"not written ({type(err).__name__}: {err})"
    return run
