"""Can the photo pipeline keep the beta network fed? Images/s of both, side by side.

Measures, on this machine:

1. ``ImageFolderDataset`` with augmentation (JPEG decode + random warp + Lab split), at 64 and
   256 px, in-process (``workers=0``: ``dataset[i]`` in a loop) and with 2 worker threads
   (Keras's own ``PyDataset`` enqueuer, as ``model.fit`` uses it);
2. the Lab split alone, numpy (float32) against torch on the CPU, at 256 px;
3. the beta network's training speed at 256 px (rmsprop, mse, batch 8), after a warm-up step;

and prints the ratio pipeline (2 workers, 256 px) / training; the design target is >= 3x.

Usage::

    python benchmarks/data_pipeline.py                 # about 2-3 minutes on 2 CPU cores
    python benchmarks/data_pipeline.py --quick         # about 30 s (trains at batch 4)
    python benchmarks/data_pipeline.py --data path/to/photos --batches 10
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import kcolor  # noqa: F401  (torch backend before keras)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "photos" / "bsds500" / "train"


def generated_photos(n: int = 48) -> Path:
    """A folder of ``n`` 481x321 JPEGs (BSDS500's size), for machines without ../shared."""
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="kcolor-bench-"))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:321, 0:481] / 100.0
    for i in range(n):
        f = rng.uniform(0.5, 3.0, 3)
        rgb = np.stack([np.sin(f[0] * x + i), np.cos(f[1] * y), np.sin(f[2] * (x + y))], -1)
        rgb = (rgb + 1) / 2 + rng.normal(0, 0.05, rgb.shape)
        img = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
        Image.fromarray(img if i % 2 else img.transpose(1, 0, 2)).save(folder / f"{i:03d}.jpg")
    return folder


def iterate(ds, batches: int, workers: int) -> tuple[int, float]:
    """Pull ``batches`` batches; return (images, seconds)."""
    images = 0
    t0 = time.perf_counter()
    if workers == 0:
        for i in range(batches):
            images += len(ds[i][0])
        return images, time.perf_counter() - t0
    try:
        from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

        adapter = PyDatasetAdapter(ds, shuffle=False)
        adapter.on_epoch_begin()
        for i, (x, _) in enumerate(adapter.get_numpy_iterator()):
            images += len(x)
            if i + 1 >= batches:
                break
        dt = time.perf_counter() - t0
        adapter.on_epoch_end()
        return images, dt
    except ImportError:  # Keras moved its internals: fall back to a thread pool
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            for x, _ in pool.map(ds.__getitem__, range(batches)):
                images += len(x)
    return images, time.perf_counter() - t0


def pipeline_speed(data: Path, size: int, workers: int, batches: int, batch_size: int) -> float:
    from kcolor.datasets import ImageFolderDataset
    from kcolor.io import find_images

    # Exactly `batches` batches per epoch, so Keras's enqueuer prefetches nothing beyond them.
    paths = find_images(data)[0]
    paths = (paths * (1 + batches * batch_size // len(paths)))[: batches * batch_size]
    ds = ImageFolderDataset(
        paths, size=size, batch_size=batch_size, augment=True, seed=0, workers=max(workers, 1)
    )
    ds[0]  # warm up the code paths (first-call imports), not the images: cache=False
    ds.on_epoch_end()
    n, dt = iterate(ds, len(ds), workers)
    return n / dt


def lab_speed(size: int, backend: str, reps: int, threads: int | None = None) -> float:
    import torch

    from kcolor.datasets.arrays import lab_pair

    batch = np.random.default_rng(0).integers(0, 256, (16, size, size, 3), dtype=np.uint8)
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        lab_pair(batch, backend)
        t0 = time.perf_counter()
        for _ in range(reps):
            lab_pair(batch, backend)
        return reps * len(batch) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)


def beta_model(size: int):
    try:
        from kcolor.models import beta

        return beta((size, size, 1))
    except ImportError:  # the models helper's module not there yet: the article's stack inline
        import keras

        from kcolor.layers import Conv2D, UpSampling2D

        x = inputs = keras.Input((size, size, 1))
        for filters, strides in [(64, 1), (64, 2), (128, 1), (128, 2), (256, 1), (256, 2)]:
            x = Conv2D(filters, 3, strides=strides, padding="same", activation="relu")(x)
        for filters in (512, 256, 128):
            x = Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = UpSampling2D(2)(x)
        x = Conv2D(64, 3, padding="same", activation="relu")(x)
        x = UpSampling2D(2)(x)
        x = Conv2D(32, 3, padding="same", activation="relu")(x)
        x = Conv2D(2, 3, padding="same", activation="tanh")(x)
        return keras.Model(inputs, UpSampling2D(2)(x), name="beta")


def training_speed(size: int, batch_size: int, steps: int) -> float:
    model = beta_model(size)
    model.compile(optimizer="rmsprop", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (batch_size, size, size, 1)).astype(np.float32)
    y = rng.uniform(-0.5, 0.5, (batch_size, size, size, 2)).astype(np.float32)
    model.train_on_batch(x, y)  # warm-up: builds the optimizer, first-call overheads
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch_size / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a folder of photos")
    parser.add_argument("--quick", action="store_true", help="about 30 s instead of 2-3 min")
    parser.add_argument("--batches", type=int, default=None, help="batches per pipeline row")
    parser.add_argument("--steps", type=int, default=None, help="timed beta training steps")
    args = parser.parse_args(argv)

    import torch

    data = args.data
    source = str(data)
    if not data.is_dir() or not any(data.iterdir()):
        data = generated_photos(24 if args.quick else 48)
        source = f"{len(os.listdir(data))} generated 481x321 JPEGs ({args.data} absent)"
    batch_size = 16
    batches = args.batches or (2 if args.quick else 6)
    steps = args.steps or (1 if args.quick else 3)
    print(f"data: {source}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs\n")

    results = {}
    print("| pipeline (decode + augment + Lab) | workers | images/s |")
    print("|---|---:|---:|")
    for size in (64, 256):
        for workers in (0, 2):
            n = batches * (3 if size == 64 else 1)
            speed = pipeline_speed(data, size, workers, n, batch_size)
            results[("pipeline", size, workers)] = speed
            print(f"| {size} px, batch {batch_size} | {workers} | {speed:.1f} |", flush=True)

    print("\n| Lab split at 256 px (batch 16) | images/s |")
    print("|---|---:|")
    reps = 1 if args.quick else 3
    for label, backend, threads in [
        ("numpy float32", "numpy", None),
        (f"torch CPU, {torch.get_num_threads()} threads", "torch", None),
        ("torch CPU, 1 thread", "torch", 1),
    ]:
        speed = lab_speed(256, backend, reps, threads)
        results[("lab", label)] = speed
        print(f"| {label} | {speed:.1f} |", flush=True)

    train_batch = 4 if args.quick else 8
    train = training_speed(256, train_batch, steps)
    results["train"] = train
    print(f"\n| beta training, 256 px, rmsprop/mse, batch {train_batch} | images/s |")
    print("|---|---:|")
    print(f"| {steps} step(s) after 1 warm-up | {train:.2f} |")
    ratio = results[("pipeline", 256, 2)] / train
    results["ratio"] = ratio
    verdict = "OK" if ratio >= 3 else "BELOW TARGET"
    print(f"\npipeline (2 workers, 256 px) / training = {ratio:.1f}x (target >= 3x: {verdict})")
    return results


if __name__ == "__main__":
    main()
