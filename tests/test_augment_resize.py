"""resize_fill never asks Pillow for a box outside the photo (float rounding)."""

import numpy as np

from kcolor.datasets.augment import resize_fill


def test_resize_fill_any_size_fits_exactly():
    # 45 of these sizes raised "box offset can't be negative" before the box was clamped
    for h in range(20, 400, 7):
        for w in range(20, 400, 11):
            out = resize_fill(np.zeros((h, w, 3), np.uint8), 32)
            assert out.shape == (32, 32, 3)
