"""Vividness: one colour-strength knob V in [0, 1] for every kcolor model.

``0`` is muted, ``0.5`` the preset's own balance (its chosen decoding), ``1`` vivid.
``kcolor colorize --vividness V``, the slider of ``kcolor serve`` and
``Colorizer(vividness=V)`` all go through the functions here. No numpy, no Keras: the CLI
and the server check values with it before anything heavy loads.

* **Colour-class models** (the default preset) are decoded by the annealed mean with a
  temperature T and a prior correction alpha
  (:class:`kcolor.models.color_classes.AnnealedMeanDecode`). V maps to ``(T, alpha)`` by
  piecewise-linear interpolation through *anchors* ``[[V, T, alpha], ...]``
  (:func:`class_decoding`). A preset may record its own anchors in ``config.json``
  (``"vividness": {"default": 0.5, "anchors": [...]}``); otherwise they are derived from
  its chosen ``(T*, alpha*)`` (:func:`derived_anchors`): T stays T*, and alpha goes from
  ``alpha* + 0.5`` (at most 1) at V = 0 through alpha* at 0.5 to ``alpha* - 0.5`` at V = 1.

  Why alpha and not T: alpha undoes the class rebalancing the network was trained with,
  which pulls it to rare, saturated colours, so *less* alpha means *more* colour. On the
  default preset (T* 0.38, alpha* 0.5; 8 photos: skimage's astronaut and coffee and six
  article test photos), the mean chroma is 4.0 at alpha 1, 7.3 at 0.5 and 13.5 at 0, and
  rises on every photo; T, by contrast, moves it little and not in one direction (13.7,
  13.6, 13.6 at T 0.76, 0.38, 0.19 with alpha 0; 9.6, 7.3, 5.4 with alpha 0.5). A
  negative alpha (down to -1) strengthens the rebalancing: derived anchors use it only
  for presets whose alpha* is under 0.5 (every ``kcolor train`` run has alpha* 0), so that
  their V = 1 is more vivid than their 0.5.

* **Regression models** (beta, alpha, fusion) output ab directly: V scales it by
  :func:`regression_gain` (0.625 at V = 0, 1 at 0.5, 1.6 at 1); colours pushed out of the
  sRGB gamut are desaturated at constant lightness, as always
  (:func:`kcolor.color.join_lightness`).

Example:
    >>> from kcolor.inference import vividness
    >>> anchors = vividness.derived_anchors(0.38, 0.5)
    >>> anchors
    [[0.0, 0.38, 1.0], [0.5, 0.38, 0.5], [1.0, 0.38, 0.0]]
    >>> vividness.class_decoding(0.5, anchors)   # the preset's own decoding, exactly
    (0.38, 0.5)
    >>> vividness.class_decoding(0.75, anchors)
    (0.38, 0.25)
    >>> vividness.regression_gain(0.0), vividness.regression_gain(0.5), vividness.regression_gain(1.0)
    (0.625, 1.0, 1.6)
"""

from __future__ import annotations

import math

__all__ = [
    "DEFAULT",
    "GAIN",
    "HELP",
    "check",
    "class_decoding",
    "derived_anchors",
    "make_record",
    "preset_default",
    "read_record",
    "regression_gain",
]

#: The vividness of a preset's own decoding (and the default of presets without a record).
DEFAULT = 0.5
#: The ab gain of a regression model at V = 1 (its inverse at V = 0).
GAIN = 1.6
#: How alpha moves from V = 0.5 to either end in :func:`derived_anchors`.
ALPHA_SPAN = 0.5
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


def derived_anchors(temperature: float, prior_correction: float) -> list[list[float]]:
    """The anchors ``[[V, T, alpha], ...]`` of a colour-class preset without its own.

    T stays ``temperature``; alpha is ``prior_correction`` at V = 0.5, ``+ 0.5`` (at most 1)
    at V = 0 and ``- 0.5`` (at least -1) at V = 1.

    >>> derived_anchors(0.38, 0.0)
    [[0.0, 0.38, 0.5], [0.5, 0.38, 0.0], [1.0, 0.38, -0.5]]
    >>> derived_anchors(0.2, 1.0)
    [[0.0, 0.2, 1.0], [0.5, 0.2, 1.0], [1.0, 0.2, 0.5]]
    """
    t, a = float(temperature), float(prior_correction)
    return [[0.0, t, min(1.0, a + ALPHA_SPAN)], [0.5, t, a], [1.0, t, max(-1.0, a - ALPHA_SPAN)]]


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


def regression_gain(vividness: float) -> float:
    """The factor on a regression model's ab: ``GAIN ** (2 V - 1)`` (exactly 1 at V = 0.5)."""
    return GAIN ** (2.0 * check(vividness) - 1.0)


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
    import os
    from pathlib import Path

    from kcolor import artifacts
    from kcolor.errors import KcolorError

    try:
        text = os.fspath(spec)
        if text in artifacts.preset_names() and os.sep not in text:
            folder = Path(artifacts.describe(text)["folder"])
        else:
            folder = Path(text).expanduser()
        if not (folder / artifacts.CONFIG).is_file():
            return DEFAULT
        return read_record(artifacts.read_config(folder).get("vividness"))[0]
    except (KcolorError, ValueError, OSError, TypeError):
        return DEFAULT
