"""Geometry for the datasets: resize-to-fill for validation, and the article's random augmentation.

Wallner's beta and full versions train through Keras's ``ImageDataGenerator(shear_range=0.2,
zoom_range=0.2, rotation_range=20, horizontal_flip=True)``. :class:`Augmenter` reproduces those
settings, plus a random crop, as **one** bilinear affine warp per image (``PIL.Image.transform``),
seeded per ``(seed, epoch, index)`` so that a batch never depends on which worker made it.

As in Keras, ``shear_range`` is an angle in degrees (so the article's 0.2 is a very light
shear), ``zoom_range=z`` draws the x and y zoom independently from ``[1 - z, 1 + z]`` (above 1
shows more of the photo), and the area the warp pulls in from outside the photo is filled by
``fill_mode``: ``"reflect"`` (default), ``"nearest"`` (Keras's default) or ``"constant"``.

Augment the RGB photo, *then* split it into L and ab, so input and target stay aligned.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

__all__ = ["Augmenter", "as_size", "resize_fill", "resize_cover"]


def as_size(size) -> tuple[int, int]:
    """``256`` or ``(h, w)`` to ``(h, w)``, validated."""
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(s) for s in size)
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


def _to_pil(rgb) -> Image.Image:
    return rgb if isinstance(rgb, Image.Image) else Image.fromarray(np.asarray(rgb), "RGB")


def resize_fill(rgb, size) -> np.ndarray:
    """Resize to fill ``size`` and crop the centre: the validation geometry.

    The scale keeps the aspect ratio and covers ``(h, w)``; the overhang is cropped evenly.
    Downscaling is antialiased (PIL's bilinear filter widens with the scale).

    Args:
        rgb: uint8 ``(H, W, 3)`` array (or a PIL RGB image).
        size: int or ``(h, w)``.

    Returns:
        uint8 ``(h, w, 3)``.
    """
    h, w = as_size(size)
    im = _to_pil(rgb)
    W, H = im.size
    if (H, W) == (h, w):
        return np.array(im)
    scale = max(h / H, w / W)
    cw, ch = w / scale, h / scale  # the crop, in source pixels
    # clamped: with float rounding a side that fits exactly may come out a hair outside
    box = (
        max(0.0, (W - cw) / 2),
        max(0.0, (H - ch) / 2),
        min(W, (W + cw) / 2),
        min(H, (H + ch) / 2),
    )
    out = im.resize((w, h), Image.Resampling.BILINEAR, box=box, reducing_gap=3.0)
    return np.asarray(out)


def resize_cover(rgb, size, margin: float = 1.0) -> np.ndarray:
    """Shrink (never enlarge) so the image still covers ``margin * size``; keeps the aspect.

    This is the cheap, antialiased first step before the augmentation warp, and what the
    decoded-image cache keeps.
    """
    h, w = as_size(size)
    im = _to_pil(rgb)
    W, H = im.size
    scale = max(h * margin / H, w * margin / W)
    if scale >= 1.0:
        return np.asarray(im)
    nw, nh = max(1, math.ceil(W * scale)), max(1, math.ceil(H * scale))
    return np.asarray(im.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=3.0))


class Augmenter:
    """Random crop, flip, rotation, zoom and shear as one affine warp; reproducible.

    Args:
        size: output ``(h, w)`` or an int.
        rotation_range: maximum rotation in degrees (uniform in ``[-r, r]``).
        zoom_range: float ``z`` for ``[1 - z, 1 + z]``, or a ``(lo, hi)`` pair; x and y are
            drawn independently, as in Keras.
        shear_range: maximum shear angle in degrees (Keras's unit).
        horizontal_flip: flip half of the images left-right.
        crop_scale: ``(lo, hi)``: the side of the random crop, as a fraction of the largest
            crop with the output's aspect ratio; ``(1, 1)`` disables cropping (the centre of
            the warp still moves at random within the photo).
        fill_mode: ``"reflect"``, ``"nearest"`` or ``"constant"`` (black) for the area the
            warp pulls in from outside the photo.
        seed: base seed; the transform of item ``index`` in epoch ``epoch`` is drawn from
            ``numpy.random.default_rng((seed, epoch, index))``.

    Example:
        >>> import numpy as np
        >>> from kcolor.datasets import Augmenter
        >>> aug = Augmenter(64, seed=1)
        >>> photo = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
        >>> out = aug(photo, epoch=0, index=3)
        >>> out.shape, bool((out == aug(photo, epoch=0, index=3)).all())
        ((64, 64, 3), True)
    """

    def __init__(
        self,
        size=256,
        rotation_range: float = 20.0,
        zoom_range=0.2,
        shear_range: float = 0.2,
        horizontal_flip: bool = True,
        crop_scale=(0.8, 1.0),
        fill_mode: str = "reflect",
        seed: int = 0,
    ):
        self.size = as_size(size)
        self.rotation_range = float(rotation_range)
        if isinstance(zoom_range, (int, float)):
            zoom_range = (1.0 - zoom_range, 1.0 + zoom_range)
        self.zoom_range = (float(zoom_range[0]), float(zoom_range[1]))
        if not 0 < self.zoom_range[0] <= self.zoom_range[1]:
            raise ValueError(f"zoom_range must give 0 < lo <= hi, got {zoom_range!r}")
        self.shear_range = float(shear_range)
        self.horizontal_flip = bool(horizontal_flip)
        self.crop_scale = (float(crop_scale[0]), float(crop_scale[1]))
        if not 0 < self.crop_scale[0] <= self.crop_scale[1] <= 1:
            raise ValueError(f"crop_scale must give 0 < lo <= hi <= 1, got {crop_scale!r}")
        if fill_mode not in ("reflect", "nearest", "constant"):
            raise ValueError(f"fill_mode must be reflect, nearest or constant, got {fill_mode!r}")
        self.fill_mode = fill_mode
        self.seed = int(seed)

    def get_config(self) -> dict:
        return {
            "size": self.size,
            "rotation_range": self.rotation_range,
            "zoom_range": self.zoom_range,
            "shear_range": self.shear_range,
            "horizontal_flip": self.horizontal_flip,
            "crop_scale": self.crop_scale,
            "fill_mode": self.fill_mode,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # ------------------------------------------------------------ parameters
    def params(self, epoch: int = 0, index: int = 0) -> dict:
        """The random draw for one item: angles in degrees, zooms, flip, crop scale and offset."""
        rng = np.random.default_rng((self.seed, int(epoch), int(index)))
        r = rng.random(7)
        lerp = lambda lo, hi, t: lo + (hi - lo) * t  # noqa: E731
        return {
            "theta": lerp(-self.rotation_range, self.rotation_range, r[0]),
            "shear": lerp(-self.shear_range, self.shear_range, r[1]),
            "zx": lerp(*self.zoom_range, r[2]),
            "zy": lerp(*self.zoom_range, r[3]),
            "flip": bool(self.horizontal_flip and r[4] < 0.5),
            "crop": lerp(*self.crop_scale, rng.random()),
            "tx": r[5],  # where the crop sits in the free room, in [0, 1]
            "ty": r[6],
        }

    def matrix(self, params: dict, in_hw: tuple[int, int]) -> np.ndarray:
        """2x3 affine from output to input coordinates (continuous, pixel edges at integers)."""
        h, w = self.size
        H, W = in_hw
        base = min(H / h, W / w) * params["crop"]  # source pixels per output pixel
        cx = w * base / 2 + params["tx"] * (W - w * base)
        cy = h * base / 2 + params["ty"] * (H - h * base)
        t, s = math.radians(params["theta"]), math.radians(params["shear"])
        rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        shear = np.array([[1.0, -math.sin(s)], [0.0, math.cos(s)]])
        zoom = np.diag([params["zx"], params["zy"]])
        flip = np.diag([-1.0 if params["flip"] else 1.0, 1.0])
        m = base * rot @ shear @ zoom @ flip
        offset = np.array([cx, cy]) - m @ np.array([w / 2, h / 2])
        return np.concatenate([m, offset[:, None]], axis=1)

    # ------------------------------------------------------------ apply
    def __call__(self, rgb, epoch: int = 0, index: int = 0) -> np.ndarray:
        """Augment one uint8 RGB image ``(H, W, 3)`` to uint8 ``(h, w, 3)``."""
        src = resize_cover(rgb, self.size)  # cheap antialiased shrink first
        return self.warp(src, self.params(epoch, index))

    def warp(self, src: np.ndarray, params: dict) -> np.ndarray:
        """Apply the affine of ``params`` to an image already shrunk by :func:`resize_cover`."""
        src = np.asarray(src)
        H, W = src.shape[:2]
        h, w = self.size
        m = self.matrix(params, (H, W))
        # How far outside the photo do the output's corners reach? Pad just that much.
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], float) @ m.T
        pad_l = max(0, math.ceil(-corners[:, 0].min()) + 1)
        pad_t = max(0, math.ceil(-corners[:, 1].min()) + 1)
        pad_r = max(0, math.ceil(corners[:, 0].max() - W) + 1)
        pad_b = max(0, math.ceil(corners[:, 1].max() - H) + 1)
        fill = 0
        if self.fill_mode != "constant" and (pad_l or pad_t or pad_r or pad_b):
            mode = "symmetric" if self.fill_mode == "reflect" else "edge"
            if mode == "symmetric":  # one reflection at most; beyond that, edge pixels
                cap_w, cap_h = W, H
                pads = [
                    (min(pad_t, cap_h), min(pad_b, cap_h)),
                    (min(pad_l, cap_w), min(pad_r, cap_w)),
                ]
                src = np.pad(src, pads + [(0, 0)], mode="symmetric")
                extra = [
                    (pad_t - pads[0][0], pad_b - pads[0][1]),
                    (pad_l - pads[1][0], pad_r - pads[1][1]),
                ]
                if any(a or b for a, b in extra):
                    src = np.pad(src, extra + [(0, 0)], mode="edge")
            else:
                src = np.pad(src, [(pad_t, pad_b), (pad_l, pad_r), (0, 0)], mode="edge")
            m = m.copy()
            m[0, 2] += pad_l
            m[1, 2] += pad_t
        out = Image.fromarray(np.ascontiguousarray(src), "RGB").transform(
            (w, h),
            Image.Transform.AFFINE,
            data=tuple(m.ravel()),
            resample=Image.Resampling.BILINEAR,
            fillcolor=fill,
        )
        return np.asarray(out)
