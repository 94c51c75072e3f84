"""kcolor's building-block layers.

The article's networks are built from these, so that speed work lives in one
place. Each is a registered subclass of the Keras layer of the same name and
takes exactly its arguments: a model saved with them loads anywhere kcolor is
installed, and behaves as the plain Keras layer would.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kcolor")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D``, as used by every kcolor model.

    Args:
        Same as ``keras.layers.Conv2D``.

    Example:
        >>> layer = Conv2D(8, 3, padding="same", activation="relu")
    """


@keras.saving.register_keras_serializable(package="kcolor")
class UpSampling2D(keras.layers.UpSampling2D):
    """``keras.layers.UpSampling2D`` (nearest neighbour), as used by every kcolor model.

    Args:
        Same as ``keras.layers.UpSampling2D``.
    """
