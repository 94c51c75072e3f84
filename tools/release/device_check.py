"""Check kcolor on whatever device torch sees: fast-path layers, one ``fit``, one colourisation.

Run it first on a new machine (a GPU box, a new torch build)::

    python tools/release/device_check.py

It builds Wallner's beta network, compares the forward of kcolor's fast-path layers with
stock Keras layers on the device (they must agree to 1e-3), trains two tiny steps (the loss
must be finite) and colours one random photo with :class:`kcolor.Colorizer`. It prints
``DEVICE CHECK OK`` and exits 0, or exits 1 naming what failed; with
``KCOLOR_FAST_LAYERS=0`` the stock layers are used throughout.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

import kcolor
from kcolor import layers as klayers

import keras  # noqa: E402  isort: skip  (after kcolor: the torch backend)


def main() -> int:
    device = kcolor.device()
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}); torch {torch.__version__}, keras {keras.__version__}")
    model = kcolor.models.beta((None, None, 1))
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 64, 64, 1)).astype("float32")
    y = rng.uniform(-0.3, 0.3, (4, 64, 64, 2)).astype("float32")

    with torch.inference_mode():
        fast = keras.ops.convert_to_numpy(model(torch.from_numpy(x).to(device), training=False))
        previous = klayers.set_fast_path(False)
        try:
            stock = keras.ops.convert_to_numpy(
                model(torch.from_numpy(x).to(device), training=False)
            )
        finally:
            klayers.set_fast_path(previous)
    diff = float(np.abs(fast - stock).max())
    print(f"fast path vs stock Keras: max abs diff {diff:.2e}")
    if not diff < 1e-3:
        print("FAILED: the fast path disagrees with stock Keras (use KCOLOR_FAST_LAYERS=0)")
        return 1

    model.compile("adam", "mse")
    losses = model.fit(x, y, batch_size=2, epochs=2, verbose=0).history["loss"]
    print(f"fit losses {losses}")
    if not np.isfinite(losses).all():
        print("FAILED: training produced a non-finite loss")
        return 1

    photo = rng.integers(0, 256, (100, 150, 3), dtype=np.uint8)
    out = kcolor.Colorizer(model, input_size=64).colorize(photo)
    print(f"colorize {photo.shape} -> {out.shape} {out.dtype}")
    if out.shape != photo.shape or out.dtype != np.uint8:
        print("FAILED: the Colorizer did not return a photo of the input's size")
        return 1
    print("DEVICE CHECK OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
