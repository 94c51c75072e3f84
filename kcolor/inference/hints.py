"""Colour hints: colours a user puts on a photo, spread along its regions.

A hint is a point (or a stroke) with a colour, in the photo's own pixel coordinates, or a
scribble image of the photo's size whose coloured pixels are hints (reading and checking
them: :mod:`kcolor.inference.hints_input`). Both colourisers, :class:`kcolor.Colorizer`
(Keras) and :class:`kcolor.fast.FastColorizer` (the exported graph), take ``hints=`` and
finish each photo with :func:`finish`, so hints act alike on both:

1. the network's ab (at the model's size, vividness applied) and the photo's L go to a
   working size of at most :data:`WORK_SIZE` pixels on the long side;
2. the hints are drawn at that size (:func:`draw_hints`);
3. the hint colours and their reach spread to pixels of similar lightness
   (:class:`kcolor.inference.hints_solver.Propagator`); where a hint reaches, its colour
   replaces the network's, elsewhere the network's stays (:func:`apply_hints`);
4. that ab is joined to the photo's full-resolution L as without hints
   (:func:`kcolor.color.join_lightness`): L is kept exactly.

:class:`HintCache` keeps a photo's network ab and propagation data between calls (what
``kcolor serve`` does for the strokes on one photo).

Public names: :func:`finish`, :func:`apply_hints`, :class:`HintCache`, :func:`check_each`,
:func:`split_hints`, :func:`work_size`, :data:`WORK_SIZE`, and, from :mod:`kcolor.inference.hints_input`,
:func:`parse_hints`, :func:`parse_color`, :func:`check_hints`, :func:`scribble_hints`,
:func:`draw_hints`, :class:`Hint`, :data:`MAX_POINTS`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from kcolor import color
from kcolor import io as kio
from kcolor.errors import HintError
from kcolor.inference.hints_input import (
    MAX_POINTS,
    SCRIBBLE_CHROMA,
    Hint,
    _Scribble,
    check_hints,
    draw_hints,
    parse_color,
    parse_hints,
    scribble_hints,
)

__all__ = [
    "MAX_POINTS",
    "SCRIBBLE_CHROMA",
    "WORK_SIZE",
    "Hint",
    "HintCache",
    "apply_hints",
    "check_each",
    "check_hints",
    "draw_hints",
    "finish",
    "parse_color",
    "parse_hints",
    "scribble_hints",
    "split_hints",
    "work_size",
]

#: The working size of the propagation: its long side, in pixels.
WORK_SIZE = 512
#: Reach (0 to 1) at which a hint's colour replaces the network's wholly is 1 / this. A
#: small hint's reach falls off fast near it (a 2-D point source), then slowly.
REACH_GAIN = 2.0


def work_size(height: int, width: int, size: int = WORK_SIZE) -> tuple[int, int]:
    """The working ``(h, w)``: the photo's, shrunk to at most ``size`` on the long side.

    Example:
        >>> work_size(768, 1024), work_size(40, 60)
        ((384, 512), (40, 60))
    """
    scale = min(1.0, size / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def split_hints(hints, count: int) -> list:
    """``hints`` of :meth:`kcolor.Colorizer.colorize` for a list of ``count`` photos: a list
    of one entry per photo (``None`` for none), or ``None``.

    Raises:
        kcolor.errors.HintError: not a list of ``count`` entries.

    Example:
        >>> split_hints(None, 2), split_hints([None, [(1, 2, "#fff")]], 2)
        (None, [None, [(1, 2, '#fff')]])
    """
    if hints is not None and (not isinstance(hints, list) or len(hints) != count):
        raise HintError(f"for {count} photos, give a list of {count} hints")
    return hints


def check_each(hints, photos) -> list | None:
    """Each photo's hints checked against it (:func:`check_hints`), before any network runs.

    Args:
        hints: ``None`` or one entry per photo (``None``, ``[]`` or that photo's hints).
        photos: the uint8 photos.

    Returns:
        ``None``, or a list of checked hints (``[]`` for a photo without).

    Raises:
        kcolor.errors.HintError: naming the hint and what is wrong with it.

    Example:
        >>> check_each([None, [(1, 2, "#fff")]], [np.zeros((4, 4), np.uint8)] * 2)[0]
        []
    """
    if hints is None:
        return None
    return [check_hints(h, p) for h, p in zip(hints, photos, strict=True)]


def finish(photo: np.ndarray, ab: np.ndarray, hints=None, *, rgbx=False, ab_only=False):
    """What a colouriser gives for ``photo`` from its network's ``ab``: the one path of hints
    for :class:`kcolor.Colorizer` and :class:`kcolor.fast.FastColorizer`.

    Args:
        photo: uint8 grey ``(H, W)`` or RGB ``(H, W, 3)``.
        ab: the network's ab ``(h', w', 2)`` in Lab units at the model's size (vividness
            applied).
        hints: ``None``, ``[]`` or the photo's hints (checked or not, :func:`check_hints`).
        rgbx: return RGBX ``(H, W, 4)`` (see :func:`kcolor.color.join_lightness`).
        ab_only: return the ab instead of joining it: the network's own without hints,
            the hinted one at the working size with them.

    Returns:
        uint8 RGB ``(H, W, 3)`` (RGBX with ``rgbx``) with the photo's L, or ab float32.
        Without hints, exactly ``join_lightness(photo, ab)``.

    Example:
        >>> photo = np.full((30, 40), 100, np.uint8)
        >>> ab = np.zeros((8, 8, 2), np.float32)
        >>> np.array_equal(finish(photo, ab), color.join_lightness(photo, ab))
        True
        >>> rgb = finish(photo, ab, [(5, 5, "#c0392b")])
        >>> bool(rgb[..., 0].mean() > rgb[..., 2].mean() + 20)   # red everywhere
        True
    """
    if hints is not None:
        hints = check_hints(hints, photo)
    if hints:  # a list of points (empty: none) or a scribble
        ab = apply_hints(photo, ab, hints)
    return ab if ab_only else color.join_lightness(photo, ab, rgbx=rgbx)


def _resize(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = size
    if plane.shape[:2] == (h, w):
        return plane.astype(np.float32, copy=True)
    shrink = h < plane.shape[0] or w < plane.shape[1]
    mode = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(plane, np.float32), (w, h), interpolation=mode)


class _Prepared:
    """A photo's working-size L, its propagator and its network ab (for :class:`HintCache`)."""

    def __init__(self, photo: np.ndarray, ab: np.ndarray, size: int, sigma, eps):
        from PIL import Image

        from kcolor.inference import hints_solver

        height, width = photo.shape[:2]
        self.work = work_size(height, width, size)
        h, w = self.work
        small = np.asarray(Image.fromarray(photo).resize((w, h), Image.BILINEAR, reducing_gap=2.0))
        if small.ndim == 2:
            small = np.repeat(small[..., None], 3, axis=-1)
        self.lightness = color.rgb_to_l(small)[..., 0]
        self.prior = _resize(np.asarray(ab, np.float32), self.work)
        self.propagator = hints_solver.Propagator(
            self.lightness,
            sigma=hints_solver.DEFAULT_SIGMA if sigma is None else sigma,
            eps=hints_solver.DEFAULT_EPS if eps is None else eps,
        )
        self.last = None  # (mode, solution) of the last solve: the next one's start


def apply_hints(
    photo: np.ndarray,
    ab: np.ndarray,
    hints,
    *,
    size: int = WORK_SIZE,
    sigma: float | None = None,
    eps: float | None = None,
    prepared: _Prepared | None = None,
    mode: str = "blend",
) -> np.ndarray:
    """The network's ab corrected by ``hints``, at the working size.

    Args:
        photo: uint8 grey ``(H, W)`` or RGB ``(H, W, 3)`` (its L steers the spread).
        ab: the network's ab ``(h', w', 2)`` (Lab units, any size).
        hints: points and strokes (:func:`parse_hints`) or a scribble (:func:`scribble_hints`),
            or what :func:`check_hints` made of them.
        size: the working size's long side.
        sigma: see :class:`kcolor.inference.hints_solver.Propagator` (``None``: its default).
        eps: see :class:`kcolor.inference.hints_solver.Propagator`.
        prepared: the photo's working data from an earlier call (:class:`HintCache`).
        mode: ``"blend"``: the hint colours and their reach ``c`` (1 on a hint, fading to 0)
            spread alike, and the result is ``(1 - g) * network + g * spread / c`` with
            ``g = min(1, REACH_GAIN * c)``, so a region a hint reaches takes its colour;
            ``"shift"``: the hint-minus-network
            difference spreads and is added, keeping the network's variations.

    Returns:
        ``(h, w, 2)`` float32 ab at the working size, for :func:`kcolor.color.join_lightness`.

    Example:
        >>> photo = np.full((48, 64), 120, np.uint8)
        >>> out = apply_hints(photo, np.zeros((8, 8, 2), np.float32), [(3, 3, "#2060c0")])
        >>> out.shape, bool(out[..., 1].max() < -30)    # blue: b well below 0 everywhere
        ((48, 64, 2), True)
    """
    height, width = photo.shape[:2]
    if prepared is None:
        prepared = _Prepared(photo, ab, size, sigma, eps)
    hints = check_hints(hints, photo)
    if isinstance(hints, _Scribble):
        mask, want = scribble_hints(hints, width, height, prepared.work)
    else:
        mask, want = draw_hints(hints, height, width, prepared.work)
    if not mask.any():
        return prepared.prior.copy()
    if mode == "shift":  # spread the difference to the network's ab
        target = want - prepared.prior
    elif mode == "blend":  # spread the hint ab and its reach (1 on the hints)
        # (the reach in percent: the solver's tolerance is in ab units for all columns)
        target = np.concatenate([want, np.full_like(want[..., :1], 100.0)], axis=-1)
    else:
        raise ValueError(f"mode must be 'blend' or 'shift', got {mode!r}")
    x0 = None
    if prepared.last is not None and prepared.last[0] == mode:
        x0 = prepared.last[1]  # the previous hints' solution: a near solution already
    x = prepared.propagator.solve(mask, target, x0=x0)
    prepared.last = (mode, x)
    if mode == "shift":
        return prepared.prior + x
    reach = np.clip(x[..., 2:] / 100.0, 0.0, None)
    spread = x[..., :2] / np.maximum(reach, 1e-6)  # the hint colours, interpolated
    weight = np.minimum(reach * REACH_GAIN, 1.0)
    return prepared.prior * (1.0 - weight) + spread * weight


class HintCache:
    """The network's ab and the propagation data of the last few photos, so that a new set
    of hints on the same photo only re-runs the propagation (what ``kcolor serve`` does).

    Args:
        colorizer_ab: ``colorizer_ab(photo) -> ab``, the network's ab of a photo (or give
            one per call to :meth:`colorize`).
        size: entries kept (least recently used dropped).

    Example:
        >>> cache = HintCache(lambda photo: np.zeros((8, 8, 2), np.float32))
        >>> photo = np.full((30, 40), 90, np.uint8)
        >>> out = cache.colorize("key", photo, [(5, 5, "#c0392b")])
        >>> out.shape, out.dtype
        ((30, 40, 3), dtype('uint8'))
    """

    def __init__(self, colorizer_ab=None, size: int = 4):
        self._ab = colorizer_ab
        self._size = int(size)
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def prepared(self, key, photo: np.ndarray, colorizer_ab=None) -> _Prepared:
        """The working data of ``photo`` (computed on the first call for ``key``)."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._entries[key] = entry
                return entry
        entry = _Prepared(photo, (colorizer_ab or self._ab)(photo), WORK_SIZE, None, None)
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return entry

    def colorize(self, key, photo: np.ndarray, hints, colorizer_ab=None) -> np.ndarray:
        """``photo`` coloured with ``hints`` (uint8 RGB ``(H, W, 3)``), its L kept; ``key``
        names the photo (and whatever else its network ab depends on: model, vividness)."""
        # A grey photo as (H, W): the join's fast grey path (68 -> 14 ms at 1024x768)
        photo = kio.grey_if_grey(np.asarray(photo))
        hints = check_hints(hints, photo)  # before the network runs
        prepared = self.prepared(key, photo, colorizer_ab)
        ab = apply_hints(photo, None, hints, prepared=prepared)
        return color.join_lightness(photo, ab)
