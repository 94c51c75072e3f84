"""Colour hints in ``kcolor serve``: the form field ``hints`` and colouring with them.

The network's colours of the last few photos are kept (:class:`kcolor.inference.hints.HintCache`,
keyed by the upload's SHA-256, the model and the vividness), with the photo's affinities and
multigrid hierarchy and the last solution, so the same photo sent again with other hints
only re-runs their spreading, from the last solution: what the page does after each stroke.
"""

from __future__ import annotations

import hashlib
import inspect
import json

from kcolor import color
from kcolor.errors import HintError
from kcolor.inference.hints import parse_hints

__all__ = ["colorize_with_hints", "parse_field"]


def parse_field(value):
    """The form field ``hints`` (JSON text) as a list, its syntax checked (the points against
    the photo's size come later); ``None`` for none (absent, empty, ``[]``).

    Raises:
        kcolor.errors.HintError: not text, not JSON, or a hint that cannot be one.

    Example:
        >>> parse_field('[[3, 4, "#c0392b"]]'), parse_field(""), parse_field("[]")
        ([[3, 4, '#c0392b']], None, None)
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HintError("the field 'hints' must be JSON text, not a file")
    try:
        hints = json.loads(value)
    except ValueError as err:
        raise HintError(f"the hints are not valid JSON: {err}") from None
    parse_hints(hints, 1 << 30, 1 << 30)
    return hints or None


def colorize_with_hints(cache, colorizer, rgb, path: str, name: str, vividness, hints):
    """``rgb`` (the upload at ``path``, decoded) coloured by ``colorizer`` with ``hints``.

    Both engines, :class:`kcolor.inference.Colorizer` and :class:`kcolor.fast.FastColorizer`,
    give their network's ab (``ab_only``), kept per photo in ``cache``; a colouriser without
    ``ab_only`` (a stand-in) gives the ab of its answer instead.

    Raises:
        kcolor.errors.HintError: a hint outside the photo, or another bad hint.
    """
    with open(path, "rb") as f:
        key = (hashlib.sha256(f.read()).hexdigest(), name, vividness)

    def network_ab(photo):
        if "ab_only" in inspect.signature(colorizer.colorize_arrays).parameters:
            return colorizer.colorize_arrays([photo], vividness=vividness, ab_only=True)[0]
        kwargs = {} if vividness is None else {"vividness": vividness}
        return color.rgb_to_lab(colorizer.colorize(photo, **kwargs))[..., 1:]

    return cache.colorize(key, rgb, hints, network_ab)
