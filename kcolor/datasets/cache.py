"""Decoded photos cached on disk as one uint8 memmap, and random crops drawn from it.

Decoding JPEGs every epoch costs CPU that the network needs: :func:`build_photo_cache`
decodes each photo once, brings it to ``side x side`` (resize to cover, centre crop) and
writes all of them into one raw ``uint8`` file ``(N, side, side, 3)`` with a JSON header
beside it. :class:`PhotoCache` opens it as a read-only ``numpy.memmap`` (the operating
system pages it in and shares it between processes), and :class:`CachedCrops` draws
augmented training batches from one or more caches (random resized crop, horizontal flip)
with no decoding at all.

Example:
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> d = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     Image.fromarray(np.full((40, 60, 3), 60 * i, np.uint8)).save(f"{d}/{i}.png")
    >>> cache = build_photo_cache([f"{d}/{i}.png" for i in range(3)], f"{d}/c", side=32,
    ...                           progress=False)
    >>> cache.images.shape, cache.images.dtype.name
    ((3, 32, 32, 3), 'uint8')
    >>> crops = CachedCrops([(cache, 16, 1.0)], batch_size=2, steps=4, seed=0)
    >>> x, y = crops[0]
    >>> x.shape, y.shape
    ((2, 16, 16, 1), (2, 16, 16, 2))
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from kcolor import io
from kcolor.datasets.arrays import lab_pair
from kcolor.errors import DataError, ImageReadError

__all__ = ["CachedCrops", "PhotoCache", "build_photo_cache"]

_FORMAT = "kcolor-photo-cache/1"


def _cover_square(rgb: np.ndarray, side: int) -> np.ndarray:
    """Resize so the shorter side is ``side`` (Pillow's antialiased bicubic), centre crop."""
    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    nh, nw = max(side, round(h * scale)), max(side, round(w * scale))
    im = Image.fromarray(rgb)
    if (nh, nw) != (h, w):
        im = im.resize((nw, nh), Image.Resampling.BICUBIC, reducing_gap=3.0)
    top, left = (nh - side) // 2, (nw - side) // 2
    return np.asarray(im.crop((left, top, left + side, top + side)))


class PhotoCache:
    """A cache written by :func:`build_photo_cache`, opened read-only.

    Args:
        path: the cache's stem (``PATH.u8`` holds the pixels, ``PATH.json`` the header).

    Attributes:
        images: ``numpy.memmap`` ``(N, side, side, 3)`` uint8.
        paths: the source file of each image.
        side: the images' side.
        header: the JSON header (format, side, count, paths, skipped, digest).

    Raises:
        kcolor.errors.DataError: a missing, truncated or foreign cache file.
    """

    def __init__(self, path):
        self.path = Path(path)
        header_file = self.path.with_suffix(".json")
        data_file = self.path.with_suffix(".u8")
        try:
            self.header = json.loads(header_file.read_text())
        except (OSError, ValueError) as e:
            raise DataError(f"{header_file}: not a readable photo cache header ({e})") from e
        if self.header.get("format") != _FORMAT:
            raise DataError(f"{header_file}: not a kcolor photo cache (format {_FORMAT!r})")
        self.side = int(self.header["side"])
        self.paths = list(self.header["paths"])
        shape = (len(self.paths), self.side, self.side, 3)
        want = int(np.prod(shape))
        size = data_file.stat().st_size if data_file.exists() else -1
        if size != want:
            raise DataError(
                f"{data_file}: {size} bytes, expected {want} for {shape[0]} photos "
                f"at {self.side} px (an unfinished or damaged cache: build it again)"
            )
        self.images = np.memmap(data_file, dtype=np.uint8, mode="r", shape=shape)

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"PhotoCache({str(self.path)!r}: {len(self)} photos at {self.side} px)"


def _digest(paths, side) -> str:
    h = hashlib.sha256(f"{_FORMAT}:{side}".encode())
    for p in paths:
        h.update(os.fspath(p).encode() + b"\0")
    return h.hexdigest()[:16]


def _load(job):
    path, side = job
    try:
        return _cover_square(io.load_image(path, draft_size=2 * side), side), ""
    except ImageReadError as e:
        return None, e.reason


def build_photo_cache(
    paths, out, *, side: int, workers: int | None = None, progress: bool = True
) -> PhotoCache:
    """Decode ``paths`` once into the cache ``out`` (``out.u8`` + ``out.json``).

    An existing cache of the same photos and side is reused as it is. Unreadable photos
    are left out and listed in the header's ``skipped``. The file is written under a
    temporary name and renamed when complete, so an interrupted build leaves no cache.

    Args:
        paths: the photo files, in the cache's order.
        out: the cache's stem.
        side: each photo is resized to cover ``side x side`` and centre-cropped.
        workers: decoding processes (default: the CPU count; 1 decodes here).
        progress: a progress bar on stderr.

    Returns:
        The :class:`PhotoCache`.
    """
    from tqdm.auto import tqdm

    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise DataError("no photos to cache")
    out = Path(out)
    digest = _digest(paths, side)
    try:
        cache = PhotoCache(out)
        if cache.header.get("digest") == digest:
            return cache
    except (DataError, OSError):
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".u8.tmp")
    kept, skipped = [], []
    workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    jobs = [(p, int(side)) for p in paths]
    bar = tqdm(
        total=len(jobs),
        desc=f"caching {out.name} at {side} px",
        unit="photo",
        disable=not progress or not sys.stderr.isatty(),
        file=sys.stderr,
    )
    pool = None
    try:
        if workers > 1:
            import multiprocessing

            pool = multiprocessing.get_context().Pool(workers)
            results = pool.imap(_load, jobs, chunksize=64)
        else:
            results = map(_load, jobs)
        with open(tmp, "wb") as f:
            for path, (rgb, reason) in zip(paths, results, strict=True):
                bar.update()
                if rgb is None:
                    skipped.append([path, reason])
                    continue
                f.write(np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())
                kept.append(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    if not kept:
        tmp.unlink(missing_ok=True)
        raise DataError(f"none of the {len(paths)} photos could be read")
    os.replace(tmp, out.with_suffix(".u8"))
    header = {
        "format": _FORMAT,
        "side": int(side),
        "count": len(kept),
        "digest": digest,
        "geometry": "resize to cover (bicubic), centre crop",
        "paths": kept,
        "skipped": skipped,
    }
    out.with_suffix(".json").write_text(json.dumps(header))
    return PhotoCache(out)


class CachedCrops(keras.utils.PyDataset):
    """Training batches ``(encoded L, encoded ab)`` of random crops from photo caches.

    Each batch comes from one source, chosen at random with the sources' weights, so one
    run mixes sizes (a 64-px batch of small photos, a 224-px batch of large ones) without
    mixing them in one batch. A crop covers ``crop_scale`` of the cached square's area
    (at least enough that it is enlarged by no more than ``max_upscale``: a small photo
    is not blown up into a blur), with an aspect ratio in ``[3/4, 4/3]``, resized
    (antialiased) to the source's output size and flipped left-right half the time. Batch ``i`` is a function of
    ``(seed, start + i)`` only, so a resumed run sees the batches it would have seen.

    Args:
        sources: ``[(cache, size, weight)]`` or ``[(cache, size, weight, batch_size)]``.
        batch_size: photos per batch where a source gives none.
        steps: batches per epoch (``len``).
        seed: seeds every draw.
        start: the global step of this dataset's batch 0 (for resuming).
        crop_scale: the range of a crop's share of the cached square's area.
        max_upscale: the most a crop is enlarged (raises ``crop_scale``'s lower end).
        lab_backend: ``"numpy"`` or ``"torch"`` (see :func:`kcolor.datasets.arrays.lab_pair`).
        workers, use_multiprocessing, max_queue_size: as ``keras.utils.PyDataset``.

    Attributes:
        seen: photos per output size handed out so far by :meth:`__getitem__`.
    """

    def __init__(
        self,
        sources,
        *,
        batch_size: int = 16,
        steps: int = 100,
        seed: int = 0,
        start: int = 0,
        crop_scale=(0.35, 1.0),
        max_upscale: float = 1.25,
        lab_backend: str = "numpy",
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self.sources = []
        for s in sources:
            cache, size, weight, *rest = s
            b = int(rest[0]) if rest else int(batch_size)
            if float(weight) <= 0 or len(cache) == 0:
                continue
            self.sources.append((cache, int(size), float(weight), b))
        if not self.sources:
            raise DataError("CachedCrops needs at least one non-empty source with weight > 0")
        w = np.array([s[2] for s in self.sources])
        self.weights = w / w.sum()
        self.steps = int(steps)
        self.seed = int(seed)
        self.start = int(start)
        self.crop_scale = (float(crop_scale[0]), float(crop_scale[1]))
        self.max_upscale = float(max_upscale)
        self.lab_backend = lab_backend
        self.seen: dict[int, int] = {}

    def __len__(self) -> int:
        return self.steps

    def source_of(self, step: int) -> int:
        """The source index of global step ``step``."""
        rng = np.random.default_rng((self.seed, 104729, int(step)))
        return int(rng.choice(len(self.sources), p=self.weights))

    def _crop(self, img: np.ndarray, size: int, rng) -> np.ndarray:
        side = img.shape[0]
        low = min(1.0, max(self.crop_scale[0], (size / (side * self.max_upscale)) ** 2))
        area = side * side * rng.uniform(low, max(low, self.crop_scale[1]))
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        least = min(side, size / self.max_upscale)  # no side of the crop enlarged more
        w = int(round(np.clip(np.sqrt(area * aspect), least, side)))
        h = int(round(np.clip(np.sqrt(area / aspect), least, side)))
        x0 = int(rng.integers(0, side - w + 1))
        y0 = int(rng.integers(0, side - h + 1))
        im = Image.fromarray(img)
        if (w, h) == (size, size):
            out = np.asarray(im.crop((x0, y0, x0 + w, y0 + h)))
        else:
            out = np.asarray(
                im.resize(
                    (size, size),
                    Image.Resampling.BILINEAR,
                    box=(x0, y0, x0 + w, y0 + h),
                    reducing_gap=None,
                )
            )
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return out

    def rgb_batch(self, index: int) -> np.ndarray:
        """Batch ``index`` as uint8 RGB ``(N, size, size, 3)``."""
        step = self.start + int(index)
        k = self.source_of(step)
        cache, size, _, batch = self.sources[k]
        rng = np.random.default_rng((self.seed, 7919, step))
        items = np.sort(rng.choice(len(cache), size=batch, replace=len(cache) < batch))
        images = cache.images[items]  # one read, in file order
        out = np.stack([self._crop(np.asarray(img), size, rng) for img in images])
        self.seen[size] = self.seen.get(size, 0) + len(out)
        return out

    def __getitem__(self, index: int):
        return lab_pair(self.rgb_batch(index), self.lab_backend)
