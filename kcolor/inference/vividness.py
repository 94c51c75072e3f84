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
  (``"vividness": {"default": 0.5, "anchors": [...]}``, read and checked by
  :mod:`kcolor.presets.vividness_record`, whose names this module re-exports); otherwise they are derived from
  its chosen ``(T*, alpha*)`` (:func:`derived_anchors`): T stays T*, and alpha goes from
  ``alpha* + 0.5`` (at most 1) at V = 0 through alpha* at 0.5 to ``alpha* - 0.5`` at V = 1.

  Why alpha and not T: alpha undoes the class rebalancing the network was trained with,
  which pulls it to rare, saturated colours, so *less* alpha means *more* colour. On the
  default preset (T* 0.5, alpha* 0.2 since 79c3226; the 371 validation photos of
  ``docs/campaign.md``), the chroma ratio to the truth is 0.70 at alpha 0.7 (V = 0), 0.83
  at 0.45, 0.95 at 0.2 (V = 0.5), 1.07 at -0.05 and 1.18 at -0.3 (V = 1). On the first
  default (T* 0.38, 8 photos: skimage's astronaut and coffee and six article test
  photos) the mean chroma rose on every photo, 4.0 at alpha 1, 7.3 at 0.5, 13.5 at 0; T
  moved it little and not in one direction (13.7, 13.6, 13.6 at T 0.76, 0.38, 0.19 with
  alpha 0; 9.6, 7.3, 5.4 with alpha 0.5). A
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

from kcolor.presets.vividness_record import (
    DEFAULT,
    HELP,
    check,
    check_anchors,
    class_decoding,
    make_record,
    preset_default,
    read_record,
)

__all__ = [
    "DEFAULT",
    "GAIN",
    "HELP",
    "check",
    "check_anchors",
    "class_decoding",
    "derived_anchors",
    "make_record",
    "preset_default",
    "read_record",
    "regression_gain",
]

#: The ab gain of a regression model at V = 1 (its inverse at V = 0).
GAIN = 1.6
#: How alpha moves from V = 0.5 to either end in :func:`derived_anchors`.
ALPHA_SPAN = 0.5


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


def regression_gain(vividness: float) -> float:
    """The factor on a regression model's ab: ``GAIN ** (2 V - 1)`` (exactly 1 at V = 0.5)."""
    return GAIN ** (2.0 * check(vividness) - 1.0)
