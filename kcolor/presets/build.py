"""Building a preset's network: its ``kcolor.models`` builder, with its arguments and weights.

:func:`build_model` reads a preset's ``config.json`` (:mod:`kcolor.presets.format`), calls
the builder it names (:func:`get_builder`) with its arguments and loads its verified
weights (:func:`kcolor.presets.weights.load_weights`). Keras loads only when a model is
built.

Example:
    >>> from kcolor.presets import build
    >>> build.get_builder("beta").__name__
    'beta'
    >>> model = build.build_model("beta-photos")
    >>> model.name
    'beta'
"""

from __future__ import annotations

import shlex

from kcolor.errors import WeightsError
from kcolor.presets.format import CONFIG, WEIGHTS, read_config
from kcolor.presets.registry import fine_tune_flags, locate, preset_names
from kcolor.presets.weights import load_weights

__all__ = ["BUILDERS", "build_model", "get_builder"]

#: The builders of :mod:`kcolor.models` that train on photos of any size (``kcolor train
#: --model``); ``linear`` and ``cnn`` are the colour-MNIST course's (28x28 digits).
BUILDERS = ("alpha", "beta", "fusion", "unet")


def get_builder(name: str):
    """The model builder ``kcolor.models.<name>`` (``"beta"``, ``"fusion"``, ``"unet"``, ...).

    Raises:
        WeightsError: no such builder, listing :data:`BUILDERS` (and, for a preset's name,
            how to fine-tune that preset instead).
    """
    import kcolor.models as models

    fn = getattr(models, name, None) if not name.startswith("_") else None
    if fn is None or not callable(fn) or isinstance(fn, type):
        builders = f"the builders are {', '.join(BUILDERS)} (and linear, cnn for colour MNIST)"
        if name in preset_names():
            flags = " ".join(shlex.quote(f) for f in fine_tune_flags(name))
            raise WeightsError(
                None,
                f"unknown builder {name!r}: that is a preset, not a "
                f"builder; {builders}. A preset is fine-tuned from its weights, "
                f"with init={name!r} and its own network: kcolor train "
                f"{flags}",
            )
        raise WeightsError(
            None, f"unknown builder {name!r}: kcolor.models has no such function; {builders}"
        )
    return fn


def build_model(spec, *, weights: bool = True):
    """Build the network of preset ``spec`` (a name or a preset folder) and load its weights.

    Returns:
        A Keras model: encoded L (and, for fusion, an embedding) in, the head's output out.

    Raises:
        WeightsError: naming the folder or file at fault (missing, corrupt, wrong hash,
            weights of another network).
    """
    folder = locate(spec)
    config = read_config(folder)
    builder = get_builder(config["builder"])
    try:
        model = builder(**config["args"])
    except TypeError as err:
        raise WeightsError(
            folder / CONFIG,
            f"arguments do not fit kcolor.models.{config['builder']}: {err}",
        ) from err
    if weights:
        load_weights(model, folder / WEIGHTS)
    return model
