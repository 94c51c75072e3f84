"""The few building calls every kcolor model is written with.

The article writes each network as a column of ``Conv2D(..., (3, 3),
activation='relu', padding='same')`` lines. :func:`conv` and :func:`up` keep
that column short enough to read at a glance, and route every convolution and
upsampling through :mod:`kcolor.layers`, where the speed work lives.
"""

from __future__ import annotations

from kcolor import layers

# Shapes are checked against the article's image sizes: three stride-2 steps.
DOWNSAMPLING = 8


def conv(filters: int, strides: int = 1, activation: str | None = "relu", kernel_size: int = 3):
    """``Conv2D(filters, (3, 3), activation='relu', padding='same', strides=strides)``."""
    return layers.Conv2D(
        filters, kernel_size, strides=strides, padding="same", activation=activation
    )


def up():
    """``UpSampling2D((2, 2))`` (nearest neighbour)."""
    return layers.UpSampling2D((2, 2))


def stack(x, calls):
    """Apply ``calls`` (layers) to ``x`` in order: the article's ``model.add`` column."""
    for call in calls:
        x = call(x)
    return x


def image_shape(input_shape, name: str, multiple: int = DOWNSAMPLING) -> tuple:
    """Normalise ``input_shape`` to ``(H, W, 1)`` and check H, W are multiples of ``multiple``.

    Accepts ``(H, W, 1)``, ``(H, W)`` or a single side ``S`` (square). ``None``
    sides are allowed (any size at run time).

    Raises:
        ValueError: for a wrong channel count, or a side that is not a multiple of ``multiple``.
    """
    if isinstance(input_shape, int) or input_shape is None:
        shape = (input_shape, input_shape, 1)
    else:
        shape = tuple(input_shape)
        if len(shape) == 2:
            shape = (*shape, 1)
    if len(shape) != 3 or shape[2] != 1:
        raise ValueError(
            f"{name}: input_shape must be (H, W, 1) (one channel: the encoded L), got {input_shape!r}"
        )
    for side in shape[:2]:
        if side is not None and (int(side) <= 0 or int(side) % multiple):
            raise ValueError(
                f"{name}: input height and width must be multiples of {multiple} "
                f"(the network halves them {multiple.bit_length() - 1} times and doubles them back), "
                f"got {shape[0]}x{shape[1]}. Resize or crop the images, e.g. to "
                f"{_nearest(shape[0], multiple)}x{_nearest(shape[1], multiple)}."
            )
    return tuple(None if s is None else int(s) for s in shape[:2]) + (1,)


def _nearest(side, multiple):
    if side is None:
        return "any"
    return max(multiple, int(round(int(side) / multiple)) * multiple)
