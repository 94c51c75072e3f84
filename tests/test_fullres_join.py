"""The full-resolution join (kcolor.color.join_lightness) gives the colours it gave before it
was made faster: every pixel within 1/255 of a frozen copy of the previous implementation's
grey path (one thread, gathered row copies, a broadcast 2x2 index block), over sizes with odd
sides, strip boundaries, enlarging and shrinking ab, and RGB and RGBX outputs."""

import numpy as np
import pytest

from kcolor import color


def _previous_resize_x(plane, n_out):
    w = plane.shape[1]
    if n_out < w:
        return plane @ color._resize_weights(w, n_out).T
    centre = np.clip((np.arange(n_out) + 0.5) * (w / n_out) - 0.5, 0, w - 1)
    x0 = np.minimum(centre.astype(np.int64), max(w - 2, 0))
    frac = (centre - x0).astype(np.float32)
    x1 = np.minimum(x0 + 1, w - 1)
    left = plane[:, x0]
    return left + (plane[:, x1] - left) * frac


def _previous_rows(plane, n_out):
    h = plane.shape[0]
    wy = color._resize_weights(h, n_out)
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


def previous_join(image, ab):
    """join_lightness's grey path as it was (commit dc6f68c), on one thread, RGB out."""
    ab = np.asarray(ab, np.float32)
    H, W = image.shape
    h, w = ab.shape[:2]
    k = 2 if H >= 2 * h and W >= 2 * w and H >= 2 and W >= 2 else 1
    Hc, Wc = -(-H // k), -(-W // k)
    ab = np.clip((ab + 128.0) / np.float32(color.AB_STEP), 0.0, 128 - 1 - 1e-3)
    table = color.grey_ab_table((int(ab[..., 0].min()), int(ab[..., 0].max()) + 1))
    planes = [_previous_rows(_previous_resize_x(ab[..., c], Wc), Hc) for c in range(2)]
    out = np.empty((H, W, 4), np.uint8)
    packed = out.view(np.uint32)[..., 0]
    strip = color._STRIP
    reps = (strip // 8, -(-Wc // 8))
    dither_a = np.tile(color._DITHER, reps)[:, :Wc]
    dither_b = np.tile(color._DITHER.T[::-1], reps)[:, :Wc]
    for c0 in range(0, Hc, strip):
        c1 = min(c0 + strip, Hc)
        a, b = planes[0](c0, c1), planes[1](c0, c1)
        r0, r1 = c0 * k, min(c1 * k, H)
        a += dither_a[: c1 - c0]
        b += dither_b[: c1 - c0]
        ia = (a.astype(np.int32) << 15) | (b.astype(np.int32) << 8)
        g = image[r0:r1]
        if k == 1:
            np.take(table, ia | g, out=packed[r0:r1], mode="clip")
            continue
        R = r1 - r0
        idx = np.empty((R, W), np.int32)
        Re, We = R - R % 2, W - W % 2
        np.bitwise_or(
            ia[: Re // 2, None, : We // 2, None],
            g[:Re, :We].reshape(Re // 2, 2, We // 2, 2),
            out=idx[:Re, :We].reshape(Re // 2, 2, We // 2, 2),
        )
        if We < W:
            idx[:, -1] = np.repeat(ia[:, -1], 2)[:R] | g[:, -1]
        if Re < R:
            idx[-1] = np.repeat(ia[-1], 2)[:W] | g[-1]
        np.take(table, idx, out=packed[r0:r1], mode="clip")
    return np.ascontiguousarray(out[..., :3])


CASES = [
    # (H, W) of the photo, (h, w) of ab
    ((601, 803), (96, 160)),  # enlarging a lot: ab at half the photo's size, odd sides
    ((1000, 1332), (96, 128)),  # several strips on two threads
    ((130, 66), (64, 32)),  # ab at about the photo's half size: short runs of rows
    ((65, 33), (64, 32)),  # ab at the photo's size (no 2x2 block)
    ((200, 300), (200, 300)),
    ((128, 96), (300, 200)),  # shrinking ab
    ((1, 1), (8, 8)),
    ((2, 3), (1, 1)),
    ((61, 2001), (8, 128)),
]


@pytest.mark.parametrize("photo_size, ab_size", CASES)
def test_join_gives_the_previous_colours(photo_size, ab_size):
    rng = np.random.default_rng(sum(photo_size) + sum(ab_size))
    grey = rng.integers(0, 256, photo_size, dtype=np.uint8)
    ab = rng.uniform(-60, 60, (*ab_size, 2)).astype(np.float32)
    expected = previous_join(grey, ab)
    for workers, rgbx in ((None, False), (1, True)):
        got = color.join_lightness(grey, ab, workers=workers, rgbx=rgbx)
        assert got.shape == (*photo_size, 4 if rgbx else 3)
        if rgbx:
            assert (got[..., 3] == 255).all()
        worst = int(np.abs(got[..., :3].astype(int) - expected).max())
        assert worst <= 1, f"{photo_size} from {ab_size}: max |delta| {worst}/255"


def test_the_reference_is_sensitive():
    """A join that rounds ab differently (one ulp) fails the comparison: the test can fail."""
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (601, 803), dtype=np.uint8)
    ab = rng.uniform(-60, 60, (96, 160, 2)).astype(np.float32)
    nudged = np.nextafter(ab, np.float32(np.inf)) + np.float32(1e-3)
    worst = np.abs(color.join_lightness(grey, nudged).astype(int) - previous_join(grey, ab)).max()
    assert worst > 1
