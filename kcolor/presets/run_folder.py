"""``RunFolder``: the one description of what a training run folder holds.

A run folder (``kcolor train`` writes one; any script may) is a preset folder
(:mod:`kcolor.presets.format`) plus what the training left beside it. It lives here, on the
preset files' floor, so that :mod:`kcolor.report` (which draws a run folder and must not
import Keras), :mod:`kcolor.presets.save` (which copies a run's history) and
:mod:`kcolor.training` (which writes the folder) all read the layout from one place. Light:
no numpy, no Keras. ``kcolor.training.RunFolder`` is the same class.

Example:
    >>> from kcolor.presets.run_folder import RunFolder
    >>> run = RunFolder("runs/faces")
    >>> run.history.as_posix(), run.backup.as_posix()
    ('runs/faces/history.csv', 'runs/faces/backup')
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from kcolor.presets import format as preset_format

__all__ = ["RunFolder"]


class RunFolder:
    """The paths of a ``kcolor train`` run folder, which is also a preset folder.

    Layout::

        RUN_DIR/
          config.json          preset: builder, arguments, input size, decoding (CONFIG)
          model.weights.h5     preset: the best epoch's weights (WEIGHTS)
          metadata.json        preset: the `kcolor train` command, data, best epoch, held-out
                               scores, wall time (METADATA)
          model.onnx           preset: the exported graph of the best epoch (EXPORT)
          train_config.json    the run's TrainConfig (JSON): what makes a folder a run folder
          history.csv          one row per epoch (kcolor.callbacks.PandasLogger)
          previews/            preview grids, one per epoch (kcolor.callbacks.ColorizationPreview)
          backup/              Keras' BackupAndRestore state, for --resume
                               (backup/training_metadata.json: the epochs done)
          metrics.csv          final scores, one row per model/split (optional: examples
          (or metrics.json)    and scripts write it, `kcolor train` keeps them in metadata.json)
          report.html          kcolor.report.build_report's page, with its figures
          history.png          (and metrics.png when there are metrics)

    The preset files are written whenever the monitored loss improves, so
    ``Colorizer.from_preset(RUN_DIR)`` works from the first finished epoch on.

    Args:
        path: the run folder (it need not exist).

    Example:
        >>> run = RunFolder("runs/faces")
        >>> run.is_run(), run.has_finished_epoch(), run.backup_epoch()
        (False, False, None)
        >>> sorted(RunFolder.FILES)[:3]
        ['config.json', 'history.csv', 'history.png']
        >>> run.config.name == RunFolder.CONFIG == "config.json"
        True
    """

    CONFIG = preset_format.CONFIG
    WEIGHTS = preset_format.WEIGHTS
    METADATA = preset_format.METADATA
    EXPORT = preset_format.EXPORT_FILE
    TRAIN_CONFIG = "train_config.json"
    HISTORY = "history.csv"
    PREVIEWS = "previews"
    BACKUP = "backup"
    BACKUP_STATE = "training_metadata.json"
    METRICS_CSV = "metrics.csv"
    METRICS_JSON = "metrics.json"
    REPORT = "report.html"
    HISTORY_PNG = "history.png"
    METRICS_PNG = "metrics.png"
    #: The files a run writes (a fresh, not resumed, run may replace them).
    FILES = (
        CONFIG,
        METADATA,
        WEIGHTS,
        EXPORT,
        TRAIN_CONFIG,
        HISTORY,
        REPORT,
        HISTORY_PNG,
        METRICS_PNG,
    )
    #: The folders a run writes.
    DIRS = (PREVIEWS, BACKUP)

    def __init__(self, path):
        self.path = Path(path)

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __repr__(self) -> str:
        return f"RunFolder({os.fspath(self.path)!r})"

    # ------------------------------------------------------------ paths
    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def weights(self) -> Path:
        return self.path / self.WEIGHTS

    @property
    def metadata(self) -> Path:
        return self.path / self.METADATA

    @property
    def export(self) -> Path:
        return self.path / self.EXPORT

    @property
    def train_config(self) -> Path:
        return self.path / self.TRAIN_CONFIG

    @property
    def history(self) -> Path:
        return self.path / self.HISTORY

    @property
    def previews(self) -> Path:
        return self.path / self.PREVIEWS

    @property
    def backup(self) -> Path:
        return self.path / self.BACKUP

    @property
    def metrics_csv(self) -> Path:
        return self.path / self.METRICS_CSV

    @property
    def metrics_json(self) -> Path:
        return self.path / self.METRICS_JSON

    @property
    def report(self) -> Path:
        return self.path / self.REPORT

    @property
    def history_png(self) -> Path:
        return self.path / self.HISTORY_PNG

    @property
    def metrics_png(self) -> Path:
        return self.path / self.METRICS_PNG

    # ------------------------------------------------------------ state
    def is_run(self) -> bool:
        """The folder holds a run (its ``train_config.json``)."""
        return self.train_config.is_file()

    def has_finished_epoch(self) -> bool:
        """An epoch has finished: there are weights or a backup to go on from."""
        return self.weights.is_file() or self.backup.is_dir()

    def backup_epoch(self) -> int | None:
        """How many epochs the backup says are done (``None`` without one)."""
        try:
            done = json.loads((self.backup / self.BACKUP_STATE).read_text())
            return int(done["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def discard(self) -> None:
        """Remove what a run wrote (and the folder, if that leaves it empty)."""
        for name in self.FILES:
            (self.path / name).unlink(missing_ok=True)
        for name in self.DIRS:
            shutil.rmtree(self.path / name, ignore_errors=True)
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()
