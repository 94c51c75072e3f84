"""Reading colour hints: parse and check them against a photo, draw them at the working size.

A hint is a point (or a stroke) with a colour, in the photo's own pixel coordinates, or a
scribble image of the photo's size whose coloured pixels are hints. Accepted forms
(:func:`parse_hints`): ``(x, y, colour)`` or ``(x, y, colour, radius)`` tuples,
``{"x", "y", "color"[, "radius"]}`` dicts, strokes ``{"points": [[x, y], ...], "color"[,
"radius"]}``; a colour is ``"#rgb"``, ``"#rrggbb"`` or an ``(r, g, b)`` of 0-255 numbers;
``radius`` is in photo pixels (default: about 1.5 working-size pixels). At most
:data:`MAX_POINTS` points in all (stroke vertices count one each). What is wrong is a
:class:`kcolor.errors.HintError` naming the hint.

Public names (re-exported by :mod:`kcolor.inference.hints`): :class:`Hint`,
:func:`parse_color`, :func:`parse_hints`, :func:`check_hints`, :func:`scribble_hints`,
:func:`draw_hints`, :data:`MAX_POINTS`, :data:`SCRIBBLE_CHROMA`.

Example:
    >>> [h] = check_hints([(30, 20, "#c0392b")], np.zeros((80, 80), np.uint8))
    >>> mask, ab = draw_hints([h], 80, 80, (40, 40))   # a disc of radius 1.5 near (15, 10)
    >>> int(mask.sum()), bool(mask[10, 15]), bool(ab[10, 15, 0] > 40)   # red: a > 0
    (8, True, True)
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import numpy as np

from kcolor import color
from kcolor.errors import HintError

__all__ = [
    "MAX_POINTS",
    "SCRIBBLE_CHROMA",
    "Hint",
    "check_hints",
    "draw_hints",
    "parse_color",
    "parse_hints",
    "scribble_hints",
]

#: The most points (stroke vertices included) one call takes.
MAX_POINTS = 500
#: A scribble pixel without alpha is a hint where its chroma (Lab) is above this.
SCRIBBLE_CHROMA = 10.0

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Hint:
    """One point or stroke: ``points`` ``(k, 2)`` as ``(x, y)`` photo pixels, ``rgb``
    0-255 ints, ``radius`` in photo pixels (``None``: about 1.5 working-size pixels)."""

    points: tuple
    rgb: tuple
    radius: float | None = None


def parse_color(value, where: str = "hint") -> tuple[int, int, int]:
    """``"#rgb"``, ``"#rrggbb"`` or 3 numbers from 0 to 255, as an ``(r, g, b)`` of ints.

    Example:
        >>> parse_color("#c0392b"), parse_color("#fff"), parse_color([0, 128, 255.0])
        ((192, 57, 43), (255, 255, 255), (0, 128, 255))
    """
    if isinstance(value, str):
        m = _HEX.fullmatch(value.strip())
        if not m:
            raise HintError(f"{where}: cannot parse the colour {value!r} (use '#rrggbb')")
        h = m.group(1)
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
    try:
        rgb = [float(v) for v in value]
    except (TypeError, ValueError):
        raise HintError(f"{where}: cannot parse the colour {value!r} (use '#rrggbb')") from None
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise HintError(
            f"{where}: the colour {value!r} is not 3 numbers from 0 to 255 (or '#rrggbb')"
        )
    return tuple(int(round(v)) for v in rgb)  # type: ignore[return-value]


def _number(value, what: str, where: str) -> float:
    if isinstance(value, bool):
        raise HintError(f"{where}: {what} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise HintError(f"{where}: {what} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise HintError(f"{where}: {what} must be a finite number, got {value!r}")
    return v


def _point(x, y, width: int, height: int, where: str) -> tuple[float, float]:
    x, y = _number(x, "x", where), _number(y, "y", where)
    if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
        raise HintError(
            f"{where}: the point ({x:g}, {y:g}) is outside the {width}x{height} photo "
            f"(x from 0 to {width - 1}, y from 0 to {height - 1})"
        )
    return x, y


def parse_hints(hints, width: int, height: int) -> list[Hint]:
    """Check hints against a ``width`` x ``height`` photo and return them as :class:`Hint`.

    Args:
        hints: a list of points and strokes (see the module docstring), or its JSON text.
        width: the photo's width in pixels.
        height: its height.

    Returns:
        A list of :class:`Hint`.

    Raises:
        kcolor.errors.HintError: naming the hint at fault (``hint 3``), and what is wrong.

    Example:
        >>> [h] = parse_hints([(10, 5, "#c0392b")], width=64, height=48)
        >>> h.points, h.rgb
        (((10.0, 5.0),), (192, 57, 43))
        >>> parse_hints([(70, 5, "#c0392b")], width=64, height=48)
        Traceback (most recent call last):
        ...
        kcolor.errors.HintError: hint 1: the point (70, 5) is outside the 64x48 photo (x from 0 to 63, y from 0 to 47)
    """
    if isinstance(hints, (str, bytes)):
        try:
            hints = json.loads(hints)
        except ValueError as err:
            raise HintError(f"the hints are not valid JSON: {err}") from None
    if isinstance(hints, dict):
        hints = [hints]
    if not isinstance(hints, (list, tuple)):
        raise HintError(
            f"hints must be a list of points, got {type(hints).__name__} "
            "(e.g. [{'x': 10, 'y': 20, 'color': '#c0392b'}])"
        )
    out, count = [], 0
    for i, h in enumerate(hints, 1):
        where = f"hint {i}"
        radius = None
        if isinstance(h, dict):
            unknown = set(h) - {"x", "y", "color", "colour", "radius", "points"}
            if unknown:
                raise HintError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
            colour = h.get("color", h.get("colour"))
            if colour is None:
                raise HintError(f"{where}: it has no 'color'")
            radius = h.get("radius")
            if "points" in h:
                pts = h["points"]
                if not isinstance(pts, (list, tuple)) or not pts:
                    raise HintError(f"{where}: 'points' must be a non-empty list of [x, y]")
                if not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pts):
                    raise HintError(f"{where}: each of its 'points' must be [x, y]")
            elif "x" in h and "y" in h:
                pts = [(h["x"], h["y"])]
            else:
                raise HintError(f"{where}: it needs 'x' and 'y' (or 'points')")
        elif isinstance(h, (list, tuple)) and len(h) in (3, 4):
            pts, colour = [(h[0], h[1])], h[2]
            radius = h[3] if len(h) == 4 else None
        else:
            raise HintError(
                f"{where}: {h!r} is not [x, y, colour], [x, y, colour, radius] or "
                "{'x': .., 'y': .., 'color': ..}"
            )
        count += len(pts)
        if count > MAX_POINTS:
            raise HintError(
                f"too many hint points: more than {MAX_POINTS} (stroke points count one each)"
            )
        points = tuple(_point(x, y, width, height, where) for x, y in pts)
        rgb = parse_color(colour, where)
        if radius is not None:
            radius = _number(radius, "radius", where)
            if not 0 <= radius <= max(width, height):
                raise HintError(f"{where}: radius {radius:g} is not from 0 to the photo's size")
        out.append(Hint(points, rgb, radius))
    return out


def scribble_hints(scribble, width: int, height: int, work: tuple[int, int]):
    """The hinted pixels of a scribble image at the working size ``work`` ``(h, w)``.

    Args:
        scribble: a path, ``PIL.Image`` or uint8 array ``(height, width, 3|4)``. With alpha,
            pixels of alpha above 0 are hints (their RGB the colour); without, pixels of
            Lab chroma above :data:`SCRIBBLE_CHROMA`.
        width: the photo's width; the scribble must have the same size.
        height: the photo's height.
        work: the working size.

    Returns:
        ``(mask (h, w) bool, ab (h, w, 2) float32)``.
    """
    import cv2

    s = (
        scribble.array
        if isinstance(scribble, _Scribble)
        else _scribble_array(scribble, width, height)
    )
    ab = color.rgb_to_lab(np.ascontiguousarray(s[..., :3]))[..., 1:]
    if s.shape[2] == 4:
        hit = (s[..., 3] > 0).astype(np.float32)
    else:
        hit = (np.hypot(ab[..., 0], ab[..., 1]) > SCRIBBLE_CHROMA).astype(np.float32)
    h, w = work
    if (h, w) == (height, width):
        return hit > 0, ab.astype(np.float32)
    cover = cv2.resize(hit, (w, h), interpolation=cv2.INTER_AREA)
    sums = cv2.resize(ab * hit[..., None], (w, h), interpolation=cv2.INTER_AREA)
    mask = cover > 0.2
    out = np.zeros((h, w, 2), np.float32)
    out[mask] = sums[mask] / cover[mask][:, None]
    return mask, out


class _Scribble:
    """A checked scribble: a uint8 ``(H, W, 3|4)`` array of the photo's size."""

    def __init__(self, array: np.ndarray):
        self.array = array


def _scribble_array(scribble, width: int, height: int) -> np.ndarray:
    from PIL import Image

    if isinstance(scribble, (str, os.PathLike)):
        try:
            scribble = Image.open(scribble)
            scribble.load()
        except OSError as err:
            raise HintError(f"the scribble cannot be read: {err}") from None
    if isinstance(scribble, Image.Image):
        scribble = np.asarray(scribble.convert("RGBA" if "A" in scribble.getbands() else "RGB"))
    s = np.asarray(scribble)
    if s.ndim != 3 or s.shape[2] not in (3, 4) or s.dtype != np.uint8:
        raise HintError(f"the scribble must be a uint8 RGB or RGBA image, got {s.dtype} {s.shape}")
    if s.shape[:2] != (height, width):
        raise HintError(
            f"the scribble is {s.shape[1]}x{s.shape[0]}, the photo {width}x{height}: "
            "draw it at the photo's size"
        )
    return s


def check_hints(hints, photo: np.ndarray):
    """``hints`` checked against ``photo`` (``(H, W[, 3])``): a list of :class:`Hint` (empty
    for none), or a checked scribble; what :func:`kcolor.inference.hints.apply_hints` takes.

    Raises:
        kcolor.errors.HintError: naming the hint and what is wrong with it.

    Example:
        >>> check_hints(None, np.zeros((4, 4), np.uint8))
        []
        >>> check_hints(np.zeros((5, 4, 4), np.uint8), np.zeros((4, 4), np.uint8))
        Traceback (most recent call last):
        ...
        kcolor.errors.HintError: the scribble is 4x5, the photo 4x4: draw it at the photo's size
    """
    height, width = photo.shape[:2]
    if hints is None:
        return []
    if isinstance(hints, _Scribble) or (
        isinstance(hints, list) and all(isinstance(h, Hint) for h in hints)
    ):
        return hints
    if _is_scribble(hints) or isinstance(hints, os.PathLike):
        return _Scribble(_scribble_array(hints, width, height))
    return parse_hints(hints, width, height)


def draw_hints(hints: list[Hint], height: int, width: int, work: tuple[int, int]):
    """Points and strokes drawn at the working size: discs of their radius, thick segments
    between a stroke's points; a later hint paints over an earlier one.

    Args:
        hints: a list of :class:`Hint` (from :func:`parse_hints`).
        height: the photo's height (the hints' coordinates are its pixels).
        width: its width.
        work: the working size ``(h, w)``.

    Returns:
        ``(mask (h, w) bool, ab (h, w, 2) float32)``: the hinted pixels and the ab they want.
    """
    h, w = work
    sy, sx = h / height, w / width
    mask = np.zeros((h, w), bool)
    ab = np.zeros((h, w, 2), np.float32)
    for hint in hints:
        lab = color.rgb_to_lab(np.asarray([[hint.rgb]], np.uint8))[0, 0]
        r = 1.5 if hint.radius is None else max(0.5, hint.radius * (sx + sy) / 2)
        pts = np.asarray(hint.points, np.float64)
        px = (pts[:, 0] + 0.5) * sx - 0.5  # photo pixel centres to working pixel centres
        py = (pts[:, 1] + 0.5) * sy - 0.5
        segs = zip(np.r_[px[:1], px[:-1]], np.r_[py[:1], py[:-1]], px, py, strict=True)
        for x0, y0, x1, y1 in segs:
            c0, c1 = int(np.floor(min(x0, x1) - r)), int(np.ceil(max(x0, x1) + r))
            r0, r1 = int(np.floor(min(y0, y1) - r)), int(np.ceil(max(y0, y1) + r))
            c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, w - 1), min(r1, h - 1)
            yy, xx = np.mgrid[r0 : r1 + 1, c0 : c1 + 1]
            dx, dy = x1 - x0, y1 - y0
            t = ((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-12)
            t = np.clip(t, 0.0, 1.0)
            dist2 = (xx - x0 - t * dx) ** 2 + (yy - y0 - t * dy) ** 2
            near = dist2 <= r * r
            # the nearest pixel always counts, however small the radius
            near[np.clip(round(y1), r0, r1) - r0, np.clip(round(x1), c0, c1) - c0] = True
            mask[r0 : r1 + 1, c0 : c1 + 1] |= near
            ab[r0 : r1 + 1, c0 : c1 + 1][near] = lab[1:]
    return mask, ab


def _is_scribble(hints) -> bool:
    if isinstance(hints, np.ndarray):
        return hints.ndim == 3
    return hasattr(hints, "mode") and hasattr(hints, "size")  # a PIL image
