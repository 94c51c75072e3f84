"""``RunFolder``: the one description of what a training run folder holds.

Light (no numpy, no Keras), so the CLI and the report can use it without loading training.

Example:
    >>> from kcolor.training.folder import RunFolder
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


class RunFolder:
    """The paths of a ``kcolor train`` run folder, which is also a preset folder.

    Layout::

        RUN_DIR/
          config.json          preset: builder, arguments, input size, decoding (preset_format.CONFIG)
          model.weights.h5     preset: the best epoch's weights (preset_format.WEIGHTS)
          metadata.json        preset: the `kcolor train` command, data, best epoch, held-out
                               scores, wall time (preset_format.METADATA)
          train_config.json    the run's TrainConfig (JSON): what makes a folder a run folder
          history.csv          one row per epoch (kcolor.callbacks.PandasLogger)
          previews/            preview grids, one per epoch (kcolor.callbacks.ColorizationPreview)
          backup/              Keras' BackupAndRestore state, for --resume
                               (backup/training_metadata.json: the epochs done)
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
    """

    CONFIG = preset_format.CONFIG
    WEIGHTS = preset_format.WEIGHTS
    METADATA = preset_format.METADATA
    TRAIN_CONFIG = "train_config.json"
    HISTORY = "history.csv"
    PREVIEWS = "previews"
    BACKUP = "backup"
    REPORT = "report.html"
    #: The files a run writes (a fresh, not resumed, run may replace them).
    FILES = (
        CONFIG,
        METADATA,
        WEIGHTS,
        TRAIN_CONFIG,
        HISTORY,
        REPORT,
        "history.png",
        "metrics.png",
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
    def report(self) -> Path:
        return self.path / self.REPORT

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
            done = json.loads((self.backup / "training_metadata.json").read_text())
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
