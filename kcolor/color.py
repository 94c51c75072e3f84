"""RGB <-> CIELAB (D65) on numpy arrays and torch tensors, and the network's L/ab scaling.

The conversions follow ``skimage.color.rgb2lab`` / ``lab2rgb`` (sRGB, D65,
2° observer) and agree with them to better than 1e-3. They are batched over
any leading axes with the channels last (``(..., 3)``), and on torch they run
on the tensor's device and are differentiable, so losses can go through them.

Conventions, as in the article:

* RGB floats in ``[0, 1]`` (uint8 input is divided by 255);
* ``L`` in ``[0, 100]``, ``a`` and ``b`` in about ``[-128, 127]``;
* the network sees ``encode_l(L) = L / 50 - 1`` (in ``[-1, 1]``) and predicts
  ``encode_ab(ab) = ab / 128`` through a ``tanh``.

This module is the only place these constants live.

Example:
    >>> import numpy as np
    >>> from kcolor import color
    >>> rgb = np.random.default_rng(0).random((2, 8, 8, 3))
    >>> lab = color.rgb_to_lab(rgb)
    >>> np.abs(color.lab_to_rgb(lab) - rgb).max() < 1e-6
    True
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- scaling
L_MAX = 100.0
L_CENTER = 50.0  # encode_l: L / 50 - 1 maps [0, 100] onto [-1, 1]
AB_SCALE = 128.0  # encode_ab: ab / 128, the range of tanh

# ---------------------------------------------------------------- sRGB / D65
_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_RGB_FROM_XYZ = np.linalg.inv(_XYZ_FROM_RGB)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
# Fold the white point into the matrices: one matmul each way.
_XYZN_FROM_RGB = _XYZ_FROM_RGB / _WHITE_D65[:, None]
_RGB_FROM_XYZN = _RGB_FROM_XYZ * _WHITE_D65[None, :]
_EPS = 0.008856  # (6/29)**3 as skimage rounds it
_KAPPA = 7.787
_F_EPS = 0.2068966  # f(_EPS)


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _as_float(x):
    if _is_torch(x):
        if not x.is_floating_point():
            x = x.float() / 255.0 if x.dtype == _torch().uint8 else x.float()
        return x
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _torch():
    import torch

    return torch


def _check_channels(x, name):
    if x.shape[-1] != 3:
        raise ValueError(f"{name} expects channels last with 3 channels, got shape {tuple(x.shape)}")


def _matmul(x, m):
    """x (..., 3) @ m.T"""
    if _is_torch(x):
        t = _torch().as_tensor(m, dtype=x.dtype, device=x.device)
        return x @ t.T
    return x @ m.T.astype(x.dtype, copy=False)


def _srgb_to_linear_np(v):
    return np.where(v > 0.04045, ((np.maximum(v, 0.04045) + 0.055) / 1.055) ** 2.4, v / 12.92)


# uint8 input: a 256-entry table replaces the costly float powers (the data pipeline's hot path).
_LINEAR_LUT = _srgb_to_linear_np(np.arange(256) / 255.0).astype(np.float32)


def rgb_to_lab(rgb):
    """sRGB in ``[0, 1]`` (or uint8) to CIELAB, shape ``(..., 3)``, numpy or torch.

    Args:
        rgb: array or tensor whose last axis is R, G, B.

    Returns:
        The same kind of array, with L in ``[0, 100]`` and a, b in about ``[-128, 127]``.
        uint8 numpy input gives float32.
    """
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        _check_channels(rgb, "rgb_to_lab")
        return _linear_to_lab_np(_LINEAR_LUT[rgb])
    rgb = _as_float(rgb)
    _check_channels(rgb, "rgb_to_lab")
    if _is_torch(rgb):
        torch = _torch()
        lin = torch.where(
            rgb > 0.04045,
            ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4,
            rgb / 12.92,
        )
        xyz = _matmul(lin, _XYZN_FROM_RGB)
        f = torch.where(xyz > _EPS, xyz.clamp(min=_EPS) ** (1.0 / 3.0), _KAPPA * xyz + 16.0 / 116.0)
        fx, fy, fz = f.unbind(-1)
        return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-1)
    return _linear_to_lab_np(_srgb_to_linear_np(rgb))


def _linear_to_lab_np(lin):
    xyz = _matmul(lin, _XYZN_FROM_RGB)
    f = np.where(xyz > _EPS, np.cbrt(xyz), _KAPPA * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def rgb_to_l(rgb):
    """Only the L channel of :func:`rgb_to_lab`, shape ``(..., 1)``: about three times cheaper.

    L depends on luminance Y alone, so one dot product replaces the 3x3 matrix and two of
    the three cube roots.
    """
    y_row = _XYZN_FROM_RGB[1]
    if isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8:
        _check_channels(rgb, "rgb_to_l")
        lin = _LINEAR_LUT[rgb]
    else:
        rgb = _as_float(rgb)
        _check_channels(rgb, "rgb_to_l")
        if _is_torch(rgb):
            torch = _torch()
            lin = torch.where(
                rgb > 0.04045, ((rgb.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4, rgb / 12.92
            )
            y = lin @ torch.as_tensor(y_row, dtype=lin.dtype, device=lin.device)[:, None]
            f = torch.where(y > _EPS, y.clamp(min=_EPS) ** (1.0 / 3.0), _KAPPA * y + 16.0 / 116.0)
            return 116.0 * f - 16.0
        lin = _srgb_to_linear_np(rgb)
    y = lin @ y_row[:, None].astype(lin.dtype, copy=False)
    f = np.where(y > _EPS, np.cbrt(y), _KAPPA * y + 16.0 / 116.0)
    return 116.0 * f - 16.0


def lab_to_rgb(lab, clip: bool = True):
    """CIELAB to sRGB in ``[0, 1]``, shape ``(..., 3)``, numpy or torch.

    Args:
        lab: array or tensor whose last axis is L, a, b.
        clip: clip to the sRGB gamut ``[0, 1]`` (as skimage does).
    """
    lab = _as_float(lab)
    _check_channels(lab, "lab_to_rgb")
    if _is_torch(lab):
        torch = _torch()
        L, a, b = lab.unbind(-1)
        fy = (L + 16.0) / 116.0
        # skimage clips z at 0 (with a warning); do the same, silently.
        f = torch.stack([a / 500.0 + fy, fy, (fy - b / 200.0).clamp(min=0.0)], dim=-1)
        xyz = torch.where(f > _F_EPS, f.clamp(min=_F_EPS) ** 3, (f - 16.0 / 116.0) / _KAPPA)
        lin = _matmul(xyz, _RGB_FROM_XYZN)
        rgb = torch.where(
            lin > 0.0031308,
            1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055,
            12.92 * lin,
        )
        return rgb.clamp(0.0, 1.0) if clip else rgb
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (L + 16.0) / 116.0
    f = np.stack([a / 500.0 + fy, fy, np.maximum(fy - b / 200.0, 0.0)], axis=-1)
    xyz = np.where(f > _F_EPS, f**3, (f - 16.0 / 116.0) / _KAPPA)
    lin = _matmul(xyz, _RGB_FROM_XYZN)
    rgb = np.where(
        lin > 0.0031308, 1.055 * np.maximum(lin, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * lin
    )
    return np.clip(rgb, 0.0, 1.0) if clip else rgb


def rgb_to_gray(rgb):
    """The grey RGB image with the same L as ``rgb`` (a = b = 0), same kind and shape."""
    lab = rgb_to_lab(rgb)
    if _is_torch(lab):
        zero = _torch().zeros_like(lab[..., 1:])
        return lab_to_rgb(_torch().cat([lab[..., :1], zero], dim=-1))
    return lab_to_rgb(np.concatenate([lab[..., :1], np.zeros_like(lab[..., 1:])], axis=-1))


# ---------------------------------------------------------------- network scaling
def encode_l(L):
    """Lab L in ``[0, 100]`` to the network input in ``[-1, 1]``."""
    return L / L_CENTER - 1.0


def decode_l(x):
    """Network input back to L in ``[0, 100]``."""
    return (x + 1.0) * L_CENTER


def encode_ab(ab):
    """Lab ab to the network target ``ab / 128`` (the range of tanh)."""
    return ab / AB_SCALE


def decode_ab(y):
    """Network output back to Lab ab."""
    return y * AB_SCALE


def split_lab(rgb):
    """RGB ``(..., H, W, 3)`` to the network pair ``(x, y)``: encoded L ``(..., 1)`` and ab ``(..., 2)``."""
    lab = rgb_to_lab(rgb)
    return encode_l(lab[..., :1]), encode_ab(lab[..., 1:])


def merge_lab(x, y, clip: bool = True):
    """Inverse of :func:`split_lab`: encoded L and ab back to RGB in ``[0, 1]``."""
    L, ab = decode_l(x), decode_ab(y)
    if _is_torch(L):
        lab = _torch().cat([L, ab.to(L.dtype)], dim=-1)
    else:
        lab = np.concatenate([L, np.asarray(ab, dtype=L.dtype)], axis=-1)
    return lab_to_rgb(lab, clip=clip)


def to_uint8(rgb):
    """RGB floats in ``[0, 1]`` to uint8 numpy, rounding to nearest."""
    if _is_torch(rgb):
        rgb = rgb.detach().cpu().numpy()
    return np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)
