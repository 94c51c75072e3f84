"""The systems compared: colourisers named and called alike, next to the grey baseline.

A *system* is a name and a function from grey uint8 RGB ``(N, H, W, 3)`` to colour uint8 RGB
of the same shape. :func:`systems_of` makes them from what ``kcolor evaluate`` is given: a
preset name, a preset or run folder, a ``.keras`` file (all through
:meth:`kcolor.Colorizer.load`; ``None`` is the default preset), a
:class:`~kcolor.Colorizer`, a keras ``Model`` or a callable, alone, in a list or in a dict
``{name: spec}``. The **grey baseline** (:data:`GREY`: the grey photo itself, a = b = 0) is
always compared too; no system may take its name.

Example:
    >>> import numpy as np
    >>> from kcolor.evaluation.systems import colourise, systems_of
    >>> [s.name for s in systems_of([lambda g: g, lambda g: g], batch_size=8)]
    ['<lambda>', '<lambda>_2']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcolor import color
from kcolor.errors import KcolorError
from kcolor.formatting import plural

__all__ = ["GREY", "System", "colourise", "system_of", "systems_of"]

#: Name of the grey baseline (a = b = 0) in the summary and in per-image column names.
GREY = "grey baseline"


@dataclass
class System:
    """A named colouriser: ``fn(grey uint8 (N, H, W, 3)) -> colour uint8 (N, H, W, 3)``."""

    name: str
    fn: Callable


def _as_uint8_batch(out, n: int, shape, name: str) -> np.ndarray:
    if isinstance(out, (list, tuple)):
        out = np.stack([np.asarray(o) for o in out])
    out = np.asarray(out)
    if out.shape != (n, *shape):
        raise KcolorError(
            f"model {name!r} returned shape {out.shape} for a batch of {plural(n, 'photo')} {shape}"
        )
    if out.dtype != np.uint8:
        if not np.issubdtype(out.dtype, np.floating):
            raise KcolorError(f"model {name!r} returned {out.dtype}; expected uint8 or float RGB")
        out = color.to_uint8(out)
    return out


def spec_name(spec) -> str:
    """The name a system gets from what it was made of (a file's stem, a model's name...)."""
    if isinstance(spec, (str, os.PathLike)):
        path = Path(os.fspath(spec))
        if path.suffix == ".keras":
            return path.stem if path.stem != "model" else path.parent.name or path.stem
        return path.name or os.fspath(spec)
    for attr in ("name", "__name__"):
        value = getattr(spec, attr, None)
        if isinstance(value, str) and value:
            return value
    if getattr(spec, "model", None) is not None and isinstance(
        getattr(spec.model, "name", None), str
    ):
        return spec.model.name
    return type(spec).__name__


def system_of(spec, name: str | None, batch_size: int) -> System:
    """A :class:`System` of a preset name / .keras file / run folder / Colorizer / keras
    Model / callable (``None``: the default preset)."""
    from kcolor.inference.colorizer import Colorizer

    if spec is None:
        from kcolor import presets

        spec = presets.DEFAULT_PRESET
    name = name or spec_name(spec)
    if isinstance(spec, (str, os.PathLike)):
        colorizer = Colorizer.load(spec, batch_size=batch_size)
    elif isinstance(spec, Colorizer):
        colorizer = spec
    elif hasattr(spec, "inputs") and hasattr(spec, "predict"):  # a keras Model
        colorizer = Colorizer(spec, batch_size=batch_size)
    elif callable(spec):
        return System(name, spec)
    else:
        raise TypeError(
            f"cannot evaluate {spec!r}: pass a preset name, a .keras file, a run folder, a "
            "Colorizer, a keras Model or a callable (grey uint8 batch -> colour batch)"
        )
    return System(name, lambda greys, c=colorizer: c.colorize(np.asarray(greys)))


def systems_of(model_spec, batch_size: int) -> list[System]:
    """The systems of ``evaluate``'s ``model_spec`` (one, a list or a dict ``{name: spec}``),
    with unique names that are not :data:`GREY` (``name``, ``name_2``, ...).

    Raises:
        ValueError: no model is given.
    """
    if isinstance(model_spec, Mapping):
        items = list(model_spec.items())
    elif isinstance(model_spec, Sequence) and not isinstance(model_spec, (str, bytes)):
        items = [(None, s) for s in model_spec]
    else:
        items = [(None, model_spec)]
    if not items:
        raise ValueError("evaluate: no model given")
    systems, seen = [], {GREY}
    for name, spec in items:
        system = system_of(spec, None if name is None else str(name), batch_size)
        base = system.name.replace("/", "_") or "model"
        unique, k = base, 2
        while unique in seen:
            unique, k = f"{base}_{k}", k + 1
        seen.add(unique)
        system.name = unique
        systems.append(system)
    return systems


def colourise(system: System, batch) -> np.ndarray:
    """``system``'s colour photos of an :class:`~kcolor.evaluation.photos.EvalBatch`'s grey
    ones, uint8; a failure names the system and the batch's first photo.

    Example:
        >>> import numpy as np
        >>> from kcolor.evaluation.photos import EvalBatch
        >>> grey = np.zeros((1, 4, 4, 3), np.uint8)
        >>> colourise(System("half", lambda g: g / 510.0), EvalBatch(["a.png"], grey, grey)).dtype
        dtype('uint8')
    """
    try:
        out = system.fn(batch.grey)
        return _as_uint8_batch(out, len(batch), batch.grey.shape[1:], system.name)
    except KcolorError:
        raise
    except Exception as err:  # noqa: BLE001 - say which model failed, and on what
        raise KcolorError(
            f"model {system.name!r} failed on {os.fspath(batch.files[0])} ...: "
            f"{type(err).__name__}: {err}"
        ) from err
