"""A tiny colourisation set-up for the callback and report tests, and a killable training script.

Imported by tests (``tiny_data``, ``tiny_model``); run as a script it trains a
tiny model for many slow epochs with a :class:`kcolor.callbacks.PandasLogger`,
so a test can kill it with ``SIGKILL`` mid-epoch::

    python tests/_tiny_training.py HISTORY_CSV PROGRESS_FILE [SECONDS_PER_BATCH]

``PROGRESS_FILE`` gets one line per epoch, written by a callback that runs
after the logger's ``on_epoch_end``: every epoch listed there must be in the CSV.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from kcolor import color  # (importing kcolor sets the torch backend before keras loads)

import keras  # noqa: E402  isort: skip


def tiny_data(n=20, size=16, seed=0):
    """Encoded (L, ab) of ``n`` smooth random colour images, float32."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n, size // 4, size // 4, 3))
    rgb = coarse.repeat(4, axis=1).repeat(4, axis=2)
    x, y = color.split_lab(rgb)
    return x.astype("float32"), y.astype("float32")


def tiny_model(size=16, embedding_dim=None, learning_rate=1e-2):
    """Encoded L (and, with ``embedding_dim``, an embedding) in, tanh ab out; compiled."""
    L = keras.Input((size, size, 1), name="L")
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(L)
    inputs = L
    if embedding_dim:
        emb = keras.Input((embedding_dim,), name="embedding")
        e = keras.layers.Dense(4)(emb)
        e = keras.layers.Reshape((1, 1, 4))(e)
        h = h + e
        inputs = [L, emb]
    ab = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(h)
    model = keras.Model(inputs, ab)
    model.compile(keras.optimizers.Adam(learning_rate), "mse", metrics=["mae"])
    return model


class _Progress(keras.callbacks.Callback):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        with open(self.path, "a") as f:
            f.write(f"{epoch}\n")


class _Slow(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


def main(argv):
    from kcolor.callbacks import PandasLogger

    csv_path, progress_path = argv[0], argv[1]
    seconds = float(argv[2]) if len(argv) > 2 else 0.1
    x, y = tiny_data(16)
    model = tiny_model()
    callbacks = [_Slow(seconds), PandasLogger(csv_path), _Progress(progress_path)]
    model.fit(x, y, batch_size=4, epochs=1000, verbose=0, callbacks=callbacks)


if __name__ == "__main__":
    main(sys.argv[1:])
