"""Steady colours: scene cuts, optical flow, and the temporal filters on predicted ab.

A network coloured frame by frame flickers: a wall or a face changes hue from one frame to
the next. :class:`Stabilizer` takes each frame's predicted ab (at the network's small size)
with the frame's grey picture at that size, in order, and returns steadier ab:

* ``"none"``: the per-frame prediction as it is (the baseline);
* ``"ema"``: an exponential moving average of ab, reset at scene cuts (no motion
  compensation: moving colour smears);
* ``"flow"`` (the default, chosen by ``benchmarks/video.py``): the same average, but the
  previous output is first warped along the optical flow of the grey frames (OpenCV's DIS
  flow, at the network's size) and blended in only where the warped grey agrees with this
  frame's (:func:`mismatch`: occlusions and new content take this frame's prediction).

Where the remaining flicker came from (``benchmarks/video.py --clip``, Big Buck Bunny, see
``docs/video.md``): not from keyframes (flicker per frame pair was flat over the keyframe
cycle) but from the pixels the old trust test turned away: grey compared pixel by pixel
after warping fails on every edge the flow misses by a fraction of a pixel (fur, outlines,
non-rigid motion), and there each frame took its own prediction. :func:`mismatch` asks
instead whether the grey level is found within one pixel of the warped one (ab is smooth, so
a sub-pixel slip does not make the carried colour wrong), and the filter keeps more of the
past (0.98 a frame, from 0.92).

Colour never crosses a scene cut (:func:`is_scene_cut`): the filter restarts there. Only
ab is filtered: the caller joins it to each frame's own full-resolution lightness.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METHODS", "Stabilizer", "dis_flow", "is_scene_cut", "mismatch", "warp"]

#: The stabilisation methods :class:`Stabilizer` knows.
METHODS = ("none", "ema", "flow")
#: How much of the (warped) past each method keeps by default, per frame
#: (benchmarks/video.py: flow 0.92 -> 0.98 with :func:`mismatch`'s trust took Big Buck
#: Bunny's flicker from 0.44 to 0.33 of per-frame's, at no PSNR cost on either clip set).
DEFAULT_STRENGTH = {"none": 0.0, "ema": 0.6, "flow": 0.98}
#: The grey-level :func:`mismatch` at which ``"flow"`` stops trusting the warped past.
DEFAULT_TOLERANCE = 48.0


def _cv2():
    import cv2

    return cv2


_DIS = {}


def dis_flow(reference: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Dense optical flow (OpenCV DIS, ``PRESET_FAST``) from ``reference`` to ``moving``.

    Args:
        reference: uint8 grey ``(H, W)``: the frame the flow is defined on.
        moving: uint8 grey ``(H, W)``: the frame it points into.

    Returns:
        float32 ``(H, W, 2)``: for each pixel of ``reference``, the ``(dx, dy)`` to its match in
        ``moving``, so ``warp(moving, flow)`` lines ``moving`` up with ``reference``.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((32, 48), np.uint8); a[8:20, 10:22] = 200
        >>> dis_flow(a, np.roll(a, 2, axis=1)).shape
        (32, 48, 2)
    """
    cv2 = _cv2()
    dis = _DIS.get("fast")
    if dis is None:
        dis = _DIS["fast"] = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    return dis.calc(np.ascontiguousarray(reference), np.ascontiguousarray(moving), None)


def warp(image: np.ndarray, flow: np.ndarray, *, nearest: bool = False):
    """``image`` (``(H, W)`` or ``(H, W, C)``) sampled at ``pixel + flow``: the flow's other
    frame lined up with its reference frame. Returns ``(warped, inside)``, ``inside`` a bool
    ``(H, W)`` mask of the pixels whose source lies inside the image.

    Example:
        >>> import numpy as np
        >>> img = np.arange(12, dtype=np.float32).reshape(3, 4)
        >>> flow = np.zeros((3, 4, 2), np.float32); flow[..., 0] = 1
        >>> warp(img, flow)[0][0].tolist(), warp(img, flow)[1][0].tolist()
        ([1.0, 2.0, 3.0, 3.0], [True, True, True, False])
    """
    cv2 = _cv2()
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    inside = (mx >= -0.5) & (mx <= w - 0.5) & (my >= -0.5) & (my <= h - 0.5)
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    out = cv2.remap(image, mx, my, interp, borderMode=cv2.BORDER_REPLICATE)
    return out, inside


def mismatch(grey: np.ndarray, warped: np.ndarray, radius: int = 1) -> np.ndarray:
    """How far each pixel's grey level lies outside the range of the warped grey frame's
    levels within ``radius`` pixels: 0 where a match is that close, so a flow that misses
    an edge by a fraction of a pixel is not taken for an occlusion.

    Args:
        grey: uint8 ``(H, W)``: this frame.
        warped: uint8 ``(H, W)``: the other frame warped onto it.
        radius: the neighbourhood (``2 * radius + 1`` square); 0 compares pixel by pixel.

    Returns:
        float32 ``(H, W)``: grey levels (0-255).

    Example:
        >>> import numpy as np
        >>> grey = np.array([[0, 0, 200, 200]], np.uint8)
        >>> warped = np.array([[0, 200, 200, 200]], np.uint8)  # the edge one pixel off
        >>> mismatch(grey, warped).tolist(), mismatch(grey, warped, radius=0).tolist()
        ([[0.0, 0.0, 0.0, 0.0]], [[0.0, 200.0, 0.0, 0.0]])
    """
    g = np.asarray(grey).astype(np.float32)
    w = np.asarray(warped, np.uint8)
    if radius <= 0:
        return np.abs(g - w.astype(np.float32))
    cv2 = _cv2()
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    lo = cv2.erode(w, kernel, borderType=cv2.BORDER_REPLICATE).astype(np.float32)
    hi = cv2.dilate(w, kernel, borderType=cv2.BORDER_REPLICATE).astype(np.float32)
    return np.maximum(np.maximum(g - hi, lo - g), 0.0)


def is_scene_cut(previous: np.ndarray, current: np.ndarray, threshold: float = 0.5) -> bool:
    """True when ``current`` starts a new shot after ``previous`` (grey uint8 frames of one
    size): the L1 distance of their 32-bin grey histograms (0 same, 2 disjoint) is over
    ``threshold``, or it is over half of it and the frames differ by more than 40 grey
    levels on average. Camera moves, zooms and film grain stay far below.

    Example:
        >>> import numpy as np
        >>> dark, light = np.full((20, 30), 40, np.uint8), np.full((20, 30), 210, np.uint8)
        >>> is_scene_cut(dark, dark), is_scene_cut(dark, light)
        (False, True)
    """
    a = np.bincount(np.asarray(previous, np.uint8).ravel() >> 3, minlength=32) / previous.size
    b = np.bincount(np.asarray(current, np.uint8).ravel() >> 3, minlength=32) / current.size
    d = float(np.abs(a - b).sum())
    if d > threshold:
        return True
    if d > threshold / 2:
        diff = np.abs(previous.astype(np.int16) - current.astype(np.int16))
        return float(diff.mean()) > 40.0
    return False


class Stabilizer:
    """Turn per-frame ab predictions into steady ones, one frame at a time, in order.

    Args:
        method: ``"flow"`` (motion-compensated average), ``"ema"`` (plain average) or
            ``"none"`` (the per-frame prediction); see :data:`METHODS`.
        strength: the weight of the (warped) past in [0, 1) per frame; ``None``: the
            method's default (:data:`DEFAULT_STRENGTH`). Higher is steadier but slower to
            follow a real change of colour.
        tolerance: for ``"flow"``, the grey-level :func:`mismatch` (0-255) between this
            frame and the warped previous one at which the past is no longer trusted at all
            (the trust falls linearly from 0 to it).
        radius: the neighbourhood :func:`mismatch` looks in (0: pixel by pixel, as before
            ``benchmarks/video.py`` chose 1).
        cut_threshold: passed to :func:`is_scene_cut`.

    Attributes:
        cuts: the indices of the frames that started a new shot.

    Example:
        >>> import numpy as np
        >>> stab = Stabilizer("ema", strength=0.5)
        >>> grey = np.full((8, 8), 100, np.uint8)
        >>> [float(stab(grey, np.full((8, 8, 2), v, np.float32))[0, 0, 0]) for v in (10, 20)]
        [10.0, 15.0]
    """

    def __init__(
        self,
        method: str = "flow",
        strength: float | None = None,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        radius: int = 1,
        cut_threshold: float = 0.5,
    ):
        if method not in METHODS:
            raise ValueError(f"unknown stabilisation method {method!r}: use one of {METHODS}")
        self.method = method
        self.strength = DEFAULT_STRENGTH[method] if strength is None else float(strength)
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), got {strength}")
        self.tolerance = float(tolerance)
        self.radius = int(radius)
        self.cut_threshold = float(cut_threshold)
        self.cuts: list[int] = []
        self._index = 0
        self._grey = None
        self._ab = None

    def __call__(self, grey: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The steady ab (float32 ``(h, w, 2)``) for the next frame, given its grey
        ``(h, w)`` uint8 and its per-frame ab prediction ``(h, w, 2)`` at the same size."""
        grey = np.asarray(grey, np.uint8)
        ab = np.asarray(ab, np.float32)
        index, self._index = self._index, self._index + 1
        previous, past = self._grey, self._ab
        if previous is not None and (previous.shape != grey.shape or past.shape != ab.shape):
            previous = past = None
        if previous is not None and is_scene_cut(previous, grey, self.cut_threshold):
            self.cuts.append(index)
            previous = past = None
        if previous is None or self.method == "none" or self.strength == 0.0:
            out = ab
        elif self.method == "ema":
            out = self.strength * past + (1.0 - self.strength) * ab
        else:
            flow = dis_flow(grey, previous)
            warped_grey, inside = warp(previous, flow)
            warped_ab, _ = warp(past, flow)
            diff = mismatch(grey, warped_grey, self.radius)
            trust = np.clip(1.0 - diff / self.tolerance, 0.0, 1.0) * inside
            weight = (self.strength * trust)[..., None].astype(np.float32)
            out = ab + weight * (warped_ab - ab)
        out = np.ascontiguousarray(out, dtype=np.float32)
        self._grey, self._ab = grey, out
        return out
