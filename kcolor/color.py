"""RGB <-> CIELAB (D65) on numpy arrays and torch tensors, and the network's L/ab scaling.

The conversions follow ``skimage.color.rgb2lab`` / ``lab2rgb`` (sRGB, D65, 2° observer) to
better than 1e-3, batched over leading axes with channels last; on torch they run on the
tensor's device and are differentiable. As in the article: RGB floats in ``[0, 1]``
(uint8 / 255); ``L`` in ``[0, 100]``, ``ab`` in about ``[-128, 127]``; the network sees
``encode_l(L) = L / 50 - 1`` and predicts ``encode_ab(ab) = ab / 128`` through a ``tanh``.

Full resolution: :func:`lab_to_rgb_keep_l` keeps L (out-of-gamut colours desaturate to
the grey of the same luminance); :func:`join_lightness` joins a photo's own L to low-res
ab on threads; grey photos take :func:`grey_ab_table` (one look-up a pixel).

Example:
    >>> import numpy as np
    >>> from kcolor import color
    >>> rgb = np.random.default_rng(0).random((2, 8, 8, 3))
    >>> lab = color.rgb_to_lab(rgb)
    >>> bool(np.abs(color.lab_to_rgb(lab) - rgb).max() < 1e-6)
    True
"""

from __future__ import annotations

import os
import threading

import numpy as np

# ---------------------------------------------------------------- scaling (the only place)
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
        raise ValueError(
            f"{name} expects channels last with 3 channels, got shape {tuple(x.shape)}"
        )


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
    _, lin = _lab_to_xyz_lin(lab)
    rgb = _linear_to_srgb(lin)
    if not clip:
        return rgb
    return rgb.clamp(0.0, 1.0) if _is_torch(rgb) else np.clip(rgb, 0.0, 1.0)


def _lab_to_xyz_lin(lab):
    """(XYZ relative to the white, linear sRGB) of CIELAB ``lab``, numpy or torch.

    z is clipped at 0, as skimage does (with a warning; here silently).
    """
    if _is_torch(lab):
        torch = _torch()
        L, a, b = lab.unbind(-1)
        fy = (L + 16.0) / 116.0
        f = torch.stack([a / 500.0 + fy, fy, (fy - b / 200.0).clamp(min=0.0)], dim=-1)
        xyz = _finv(f, torch.where, lambda x, m: x.clamp(min=m))
    else:
        L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
        fy = (L + 16.0) / 116.0
        f = np.stack([a / 500.0 + fy, fy, np.maximum(fy - b / 200.0, 0.0)], axis=-1)
        xyz = _finv(f, np.where, np.maximum)
    return xyz, _matmul(xyz, _RGB_FROM_XYZN)


def _linear_to_srgb(lin):
    """Linear RGB to gamma-encoded sRGB (no clipping), numpy or torch."""
    if _is_torch(lin):
        torch = _torch()
        return torch.where(
            lin > 0.0031308, 1.055 * lin.clamp(min=0.0031308) ** (1 / 2.4) - 0.055, 12.92 * lin
        )
    return np.where(
        lin > 0.0031308, 1.055 * np.maximum(lin, 0.0031308) ** (1 / 2.4) - 0.055, 12.92 * lin
    )


def _finv(f, xp_where, xp_max):
    """Inverse of the CIE f(t): t**3 above 6/29, the tangent line below (numpy or torch)."""
    return xp_where(f > _F_EPS, xp_max(f, _F_EPS) ** 3, (f - 16.0 / 116.0) / _KAPPA)


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


# ---------------------------------------------------------------- keeping L


def lab_to_rgb_keep_l(lab):
    """CIELAB to sRGB in ``[0, 1]`` with L kept: out-of-gamut colours are desaturated.

    A colour outside the sRGB gamut is moved, in linear RGB, straight towards the grey of the
    same luminance Y (``lin = Y + t * (lin - Y)``, the largest ``t <= 1`` that fits), so its
    L is unchanged (clipping each channel would change it); colours inside the gamut are
    exactly :func:`lab_to_rgb`'s. numpy or torch, shape ``(..., 3)``.
    """
    lab = _as_float(lab)
    _check_channels(lab, "lab_to_rgb_keep_l")
    xyz, lin = _lab_to_xyz_lin(lab)
    Y = xyz[..., 1:2]
    if _is_torch(lab):
        torch = _torch()
        d = lin - Y
        hi, lo = d.amax(-1, keepdim=True), d.amin(-1, keepdim=True)
        t = torch.ones_like(Y)
        t = torch.where(hi > 0, torch.minimum(t, (1.0 - Y) / hi.clamp(min=1e-12)), t)
        t = torch.where(lo < 0, torch.minimum(t, Y / (-lo).clamp(min=1e-12)), t)
        lin = (Y + t.clamp(min=0.0) * d).clamp(0.0, 1.0)
        return _linear_to_srgb(lin).clamp(0.0, 1.0)
    d = lin - Y
    d0, d1, d2 = d[..., 0:1], d[..., 1:2], d[..., 2:3]  # (faster than reducing over 3)
    hi = np.maximum(np.maximum(d0, d1), d2)
    lo = np.minimum(np.minimum(d0, d1), d2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.minimum(1.0, np.where(hi > 0, (1.0 - Y) / np.maximum(hi, 1e-12), 1.0))
        t = np.minimum(t, np.where(lo < 0, Y / np.maximum(-lo, 1e-12), 1.0))
    lin = np.clip(Y + np.maximum(t, 0.0) * d, 0.0, 1.0)
    return np.clip(_linear_to_srgb(lin), 0.0, 1.0)


# ---------------------------------------------------------------- full resolution
#: ab step of :func:`grey_ab_table` (Lab units); ab is dithered onto this grid.
AB_STEP = 2.0
_AB_BINS = 128  # a and b each from -128 to 126 in steps of AB_STEP
_TABLE_LOCK = threading.Lock()
_TABLE = np.zeros(_AB_BINS * _AB_BINS * 256, np.uint32)
_TABLE_ROWS = np.zeros(_AB_BINS, bool)  # which values of a are filled in


def grey_ab_table(a_range: tuple[int, int] = (0, _AB_BINS - 1)) -> np.ndarray:
    """The sRGB colour of every ``(a, b, grey level)`` as 4-byte RGBX records in uint32 (view
    them with ``.view(np.uint8).reshape(-1, 4)``): L of the sRGB grey ``g`` (0-255), a and b
    from -128 to 126 in steps of :data:`AB_STEP`, through :func:`lab_to_rgb_keep_l`.

    Record ``(ia * 128 + ib) * 256 + g`` holds ``a = ia * AB_STEP - 128``,
    ``b = ib * AB_STEP - 128``. Built on first use, for the values of ``ia`` in
    ``a_range`` (inclusive) not yet built; 16 MiB when complete.
    """
    lo, hi = max(0, int(a_range[0])), min(_AB_BINS - 1, int(a_range[1]))
    with _TABLE_LOCK:
        todo = [ia for ia in range(lo, hi + 1) if not _TABLE_ROWS[ia]]
        if todo:
            grey_l = rgb_to_l(np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1))[:, 0]
            ab = np.arange(_AB_BINS, dtype=np.float32) * np.float32(AB_STEP) - 128.0
            L = np.broadcast_to(grey_l[None, :], (_AB_BINS, 256))
            B = np.broadcast_to(ab[:, None], L.shape)
            rgbx = _TABLE.view(np.uint8).reshape(_AB_BINS, _AB_BINS, 256, 4)
            for ia in todo:
                lab = np.stack([L, np.full_like(L, ab[ia]), B], -1)
                rgbx[ia, ..., :3] = to_uint8(lab_to_rgb_keep_l(lab))
                rgbx[ia, ..., 3] = 255
                _TABLE_ROWS[ia] = True
    return _TABLE


def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` float32 weights of a 1-D bilinear resize (half-pixel centres, edges
    clamped), antialiased (a triangle as wide as the scale) when shrinking; rows sum to 1."""
    scale = n_in / n_out
    centre = (np.arange(n_out) + 0.5) * scale - 0.5
    x = np.arange(n_in)
    if scale <= 1.0:  # enlarging: between the two nearest inputs, clamped at the edges
        w = np.maximum(0.0, 1.0 - np.abs(x[None, :] - np.clip(centre, 0, n_in - 1)[:, None]))
    else:
        w = np.maximum(0.0, 1.0 - np.abs(x[None, :] - centre[:, None]) / scale)
    w /= np.maximum(w.sum(1, keepdims=True), 1e-12)
    return w.astype(np.float32)


def _bayer(n: int = 8) -> np.ndarray:
    m = np.zeros((1, 1))
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return ((m + 0.5) / m.size).astype(np.float32)


_DITHER = _bayer(8)  # ordered dither thresholds in (0, 1)
_STRIP = 32  # chroma rows per work item (a multiple of the dither's 8)


def _workers() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _resize_x(plane: np.ndarray, n_out: int) -> np.ndarray:
    """``plane (h, w)`` resized along x to ``(h, n_out)`` as :func:`_resize_weights` does."""
    w = plane.shape[1]
    if n_out < w:
        return plane @ _resize_weights(w, n_out).T
    centre = np.clip((np.arange(n_out) + 0.5) * (w / n_out) - 0.5, 0, w - 1)
    x0 = np.minimum(centre.astype(np.int64), max(w - 2, 0))
    frac = (centre - x0).astype(np.float32)
    x1 = np.minimum(x0 + 1, w - 1)
    left = plane[:, x0]
    return left + (plane[:, x1] - left) * frac


def _rows_resizer(plane: np.ndarray, n_out: int):
    """For ``plane (h, W)``: ``rows(r0, r1)`` gives output rows ``r0:r1`` of it resized to
    ``n_out`` rows (bilinear; antialiased, and computed at once, when shrinking)."""
    h, plane = plane.shape[0], np.ascontiguousarray(plane)  # (_resize_x's is strided)
    wy = _resize_weights(h, n_out)
    if n_out < h:
        small = wy @ plane
        return lambda r0, r1: small[r0:r1].copy()
    y0 = np.argmax(wy > 0, axis=1)
    frac = (wy[np.arange(n_out), np.minimum(y0 + 1, h - 1)] * (y0 + 1 < h)).astype(np.float32)
    delta = np.concatenate([plane[1:] - plane[:-1], np.zeros_like(plane[:1])])

    def rows(r0, r1):
        ys = y0[r0:r1]
        out = delta[ys]
        out *= frac[r0:r1, None]
        out += plane[ys]
        return out

    return rows


def join_lightness(image, ab, *, workers: int | None = None, rgbx: bool = False) -> np.ndarray:
    """A full-resolution colour photo from a photo's own lightness and low-resolution ab.

    ``ab`` is resized bilinearly (antialiased when shrinking) to the photo's size and joined
    to the photo's L, then converted with :func:`lab_to_rgb_keep_l`, so the result's L is the
    photo's (to uint8 rounding). A grey photo (``(H, W)`` uint8, the usual case) takes a fast
    path: ab is dithered onto the :data:`AB_STEP` grid (ordered dither) and every pixel is
    one look-up in :func:`grey_ab_table`; when the photo is at least twice the size of
    ``ab`` each way, ab is resized to half the photo's size (as JPEG stores chroma) and each
    value serves 2x2 pixels. The work is split into strips of rows run on ``workers``
    threads.

    Args:
        image: uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB (only its L is used).
        ab: ``(h, w, 2)`` Lab a and b (floats, any size).
        workers: threads (default: the usable cores, at most 4).
        rgbx: return ``(H, W, 4)`` RGBX (the 4th byte is 255), which
            ``PIL.Image.frombuffer("RGB", (W, H), out, "raw", "RGBX", 0, 1)`` wraps without a
            copy.

    Returns:
        uint8 RGB ``(H, W, 3)``, or RGBX ``(H, W, 4)`` with ``rgbx=True``.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(
            f"join_lightness expects uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}"
        )
    ab = np.asarray(ab, dtype=np.float32)
    H, W = image.shape[:2]
    h, w = ab.shape[:2]
    grey = image.ndim == 2
    k = 2 if grey and H >= 2 * h and W >= 2 * w and H >= 2 and W >= 2 else 1
    Hc, Wc = -(-H // k), -(-W // k)  # the size ab is resized to
    if grey:  # in table units, a = ia * AB_STEP - 128: clamped to the table
        # (just under the last bin: a value plus its dither stays inside the table)
        ab = np.clip((ab + 128.0) / np.float32(AB_STEP), 0.0, _AB_BINS - 1 - 1e-3)
        table = grey_ab_table((int(ab[..., 0].min()), int(ab[..., 0].max()) + 1))
    planes = [_rows_resizer(_resize_x(ab[..., c], Wc), Hc) for c in range(2)]  # (h, Wc) each
    out = np.empty((H, W, 4), np.uint8)
    packed = out.view(np.uint32)[..., 0]
    reps = (_STRIP // 8, -(-Wc // 8))
    dither_a = np.tile(_DITHER, reps)[:, :Wc]
    dither_b = np.tile(_DITHER.T[::-1], reps)[:, :Wc]

    local = threading.local()

    def strip(c0):
        c1 = min(c0 + _STRIP, Hc)
        a, b = planes[0](c0, c1), planes[1](c0, c1)
        r0, r1 = c0 * k, min(c1 * k, H)
        if not grey:
            L = rgb_to_l(image[r0:r1])
            lab = np.concatenate([L, a[..., None], b[..., None]], -1)
            out[r0:r1, :, :3] = to_uint8(lab_to_rgb_keep_l(lab))
            out[r0:r1, :, 3] = 255
            return
        a += dither_a[: c1 - c0]
        b += dither_b[: c1 - c0]
        ia = a.astype(np.int32)
        ia <<= 15
        ib = b.astype(np.int32)
        ib <<= 8
        ia |= ib  # (ia * 128 + ib) * 256, at the chroma size
        g = image[r0:r1]
        if k == 1:
            ia |= g
            np.take(table, ia, out=packed[r0:r1], mode="clip")
            return
        R, Re = r1 - r0, (r1 - r0) & ~1
        idx = getattr(local, "idx", None)  # one buffer per thread: no page faults per strip
        if idx is None:
            idx = local.idx = np.empty((_STRIP * 2, W), np.intp)  # take's own index type
        idx = idx[:R]
        pair = ia.astype(np.int64)  # each index twice along x: int64 (v << 32) + v seen as
        pair *= 0x100000001  # two int32 (a 2x2 broadcast, inner axis of 2, is twice as slow)
        wide = pair.view(np.int32)[:, :W]
        block = (Re // 2, 2, W)
        np.bitwise_or(wide[: Re // 2, None], g[:Re].reshape(block), out=idx[:Re].reshape(block))
        if Re < R:  # odd height: the last row
            np.bitwise_or(wide[-1], g[-1], out=idx[-1])
        np.take(table, idx, out=packed[r0:r1], mode="wrap")  # (all in range; wrap is fastest)

    starts = range(0, Hc, _STRIP)
    n = workers or _workers()
    if n > 1 and H * W >= 1 << 18:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n) as pool:
            list(pool.map(lambda i: [strip(c) for c in starts[i::n]], range(n)))  # n tasks
    else:
        for c0 in starts:
            strip(c0)
    return out if rgbx else np.ascontiguousarray(out[..., :3])
