"""Training companions: Keras callbacks a colourisation run wants next to ``model.fit``.

Used by ``kcolor train`` (:mod:`kcolor.training`) and by the article's examples alike.
Public names:

* :class:`PandasLogger` (:mod:`kcolor.callbacks.pandas_logger`) keeps one row per epoch
  (every log key, the learning rate, wall seconds and images per second) as a
  :class:`pandas.DataFrame`, rewrites its CSV atomically after every epoch, survives
  ``SIGKILL`` (every completed epoch stays on disk) and resumes cleanly under
  :class:`keras.callbacks.BackupAndRestore` (no duplicated or lost rows);
  :data:`BOOKKEEPING_COLUMNS` are the columns it adds to the Keras log keys.
* :class:`ColorizationPreview` (:mod:`kcolor.callbacks.preview`) saves a
  ``grey | prediction | truth`` grid of a fixed sample every few epochs, so you can watch
  the colours arrive.
* :class:`BestModelCheckpoint` (:mod:`kcolor.callbacks.checkpoint`) saves the model when
  the monitored value improves: atomically, never with NaN, remembering its best value
  across resumed runs.
* :class:`TimeBudget` (:mod:`kcolor.callbacks.time_budget`) trains for a fixed wall-clock
  time, with the learning-rate decay fitted to the epochs that fit.

The file names they write follow the run-directory layout that
:func:`kcolor.report.build_report` turns into one HTML page.

Example:
    >>> import kcolor
    >>> from kcolor.callbacks import PandasLogger, ColorizationPreview
    >>> logger = PandasLogger("runs/demo/history.csv")               # doctest: +SKIP
    >>> preview = ColorizationPreview(x[:8], y[:8], "runs/demo/previews")  # doctest: +SKIP
    >>> model.fit(x, y, epochs=10, callbacks=[logger, preview])      # doctest: +SKIP
    >>> logger.frame.tail()                                          # doctest: +SKIP
"""

from kcolor.callbacks.checkpoint import BestModelCheckpoint
from kcolor.callbacks.pandas_logger import (
    BOOKKEEPING_COLUMNS,
    EPOCH,
    IMAGES_PER_S,
    LEARNING_RATE,
    SAMPLES,
    SECONDS,
    PandasLogger,
)
from kcolor.callbacks.preview import ColorizationPreview
from kcolor.callbacks.time_budget import TimeBudget

__all__ = [
    "BOOKKEEPING_COLUMNS",
    "EPOCH",
    "IMAGES_PER_S",
    "LEARNING_RATE",
    "SAMPLES",
    "SECONDS",
    "BestModelCheckpoint",
    "ColorizationPreview",
    "PandasLogger",
    "TimeBudget",
]
