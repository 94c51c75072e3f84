"""The ``"vividness"`` record of a preset's ``config.json``: its schema and checks.

A preset may record its default vividness V (0 muted, 0.5 its own balance, 1 vivid) and,
for a colour-class model, its own anchors ``[[V, T, alpha], ...]`` through which V maps to
the annealed-mean decoding ``(T, alpha)``::

    "vividness": {"default": 0.5, "anchors": [[0, 0.38, 1.0], [0.5, 0.38, 0.5], [1, 0.38, 0.0]]}

This module reads, writes and checks that record (:func:`read_record`,
:func:`make_record`, :func:`check_anchors`, :func:`class_decoding`,
:func:`preset_default`); how V changes the colours at run time is
:mod:`kcolor.inference.vividness`, which re-exports these names. No numpy, no Keras.

Example:
    >>> from kcolor.presets import vividness_record as record
    >>> record.read_record({"default": 0.6})
    (0.6, None)
    >>> record.class_decoding(0.5, [[0, 0.38, 1.0], [0.5, 0.38, 0.5], [1, 0.38, 0.0]])
    (0.38, 0.5)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from kcolor.errors import KcolorError
from kcolor.presets.format import CONFIG, read_config
from kcolor.presets.registry import describe, preset_names

__all__ = [
    "DEFAULT",
    "HELP",
    "check",
    "check_anchors",
    "class_decoding",
    "make_record",
    "preset_default",
    "read_record",
]

#: The vividness of a preset's own decoding (and the default of presets without a record).
DEFAULT = 0.5

#: The plain-words meaning, for help texts and error messages.
HELP = "0 muted, 0.5 the preset's balance, 1 vivid"


def check(value, name: str = "vividness") -> float:
    """``value`` as a float in [0, 1], or ``ValueError`` saying what is expected.

    >>> check("0.8")
    0.8
    >>> check(1.5)
    Traceback (most recent call last):
    ...
    ValueError: vividness must be a number from 0 to 1 (0 muted, 0.5 the preset's balance, 1 vivid), got 1.5
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not 0.0 <= v <= 1.0:  # also NaN, inf and non-numbers
        raise ValueError(f"{name} must be a number from 0 to 1 ({HELP}), got {value!r}")
    return v


def check_anchors(anchors) -> list[list[float]]:
    """``anchors`` as ``[[V, T, alpha], ...]`` floats, or ``ValueError`` naming the fault.

    At least two; V strictly increasing from 0 to 1; T > 0; alpha in [-1, 1].
    """
    try:
        rows = [[float(x) for x in row] for row in anchors]
    except (TypeError, ValueError):
        rows = None
    if not rows or len(rows) < 2 or any(len(r) != 3 for r in rows):
        raise ValueError(
            f"vividness anchors must be a list of [V, T, alpha] triples, at least "
            f"two, got {anchors!r}"
        )
    vs = [r[0] for r in rows]
    if vs[0] != 0.0 or vs[-1] != 1.0 or any(b <= a for a, b in zip(vs, vs[1:], strict=False)):
        raise ValueError(f"vividness anchors: V must rise strictly from 0 to 1, got {vs}")
    for v, t, a in rows:
        if not (t > 0 and math.isfinite(t)) or not -1.0 <= a <= 1.0:
            raise ValueError(
                f"vividness anchor at V={v:g}: T must be > 0 and alpha in "
                f"[-1, 1], got T={t:g}, alpha={a:g}"
            )
    return rows


def class_decoding(vividness: float, anchors) -> tuple[float, float]:
    """``(temperature, prior_correction)`` at ``vividness``, linear between the anchors.

    At an anchor's own V the anchor's values come back exactly (no rounding), so V = 0.5
    with :func:`derived_anchors` is the preset's decoding, bit for bit.

    >>> class_decoding(0.25, [[0.0, 0.5, 1.0], [0.5, 0.3, 0.5], [1.0, 0.1, 0.0]])
    (0.4, 0.75)
    """
    v = check(vividness)
    rows = check_anchors(anchors)
    for (v0, t0, a0), (v1, t1, a1) in zip(rows, rows[1:], strict=False):
        if v == v0:
            return t0, a0
        if v == v1:
            return t1, a1
        if v0 < v < v1:
            f = (v - v0) / (v1 - v0)
            return t0 + f * (t1 - t0), a0 + f * (a1 - a0)
    raise AssertionError("unreachable: anchors span [0, 1]")


def make_record(default: float = DEFAULT, anchors=None) -> dict:
    """The ``"vividness"`` record of a preset's ``config.json``: ``{"default", "anchors"}``.

    >>> make_record(0.6)
    {'default': 0.6, 'anchors': None}
    """
    return {
        "default": check(default, "the default vividness"),
        "anchors": None if anchors is None else check_anchors(anchors),
    }


def read_record(record) -> tuple[float, list[list[float]] | None]:
    """``(default, anchors or None)`` of a ``config.json`` ``"vividness"`` record: ``None``,
    a number (the default) or ``{"default": V, "anchors": [...]}`` (both optional).

    Raises:
        ValueError: naming what is wrong.

    >>> read_record(None)
    (0.5, None)
    >>> read_record({"anchors": [[0, 0.5, 0.5], [1, 0.3, 0.0]]})
    (0.5, [[0.0, 0.5, 0.5], [1.0, 0.3, 0.0]])
    """
    if record is None:
        return DEFAULT, None
    if isinstance(record, (int, float)) and not isinstance(record, bool):
        return check(record, "the default vividness"), None
    if not isinstance(record, dict) or set(record) - {"default", "anchors"}:
        raise ValueError(
            '"vividness" must be a number or {"default": V, "anchors": '
            f"[[V, T, alpha], ...]}}, got {record!r}"
        )
    default = record.get("default")
    default = DEFAULT if default is None else check(default, "the default vividness")
    anchors = record.get("anchors")
    return default, None if anchors is None else check_anchors(anchors)


def preset_default(spec) -> float:
    """The default vividness that preset ``spec`` (a name or a preset folder) records, read
    from its ``config.json`` alone (nothing is loaded, verified or downloaded); ``DEFAULT``
    when it records none, or is not a readable preset (a ``.keras`` file, say).

    >>> preset_default("unet-lite0-photos")
    0.5
    """
    try:
        text = os.fspath(spec)
        if text in preset_names() and os.sep not in text:
            folder = Path(describe(text)["folder"])
        else:
            folder = Path(text).expanduser()
        if not (folder / CONFIG).is_file():
            return DEFAULT
        return read_record(read_config(folder).get("vividness"))[0]
    except (KcolorError, ValueError, OSError, TypeError):
        return DEFAULT
