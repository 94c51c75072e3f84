"""The photos of a run: find them (grey ones dropped), split off the held-out ones, read
``kcolor data`` manifests, and make the training and held-out datasets.

Example:
    >>> from kcolor.training.photos import split_photos
    >>> train, val = split_photos([f"{i}.png" for i in range(10)], 0.2, seed=0)
    >>> len(train), len(val), sorted(set(train) & set(val))
    (8, 2, [])
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from kcolor import io
from kcolor.errors import DataError
from kcolor.training.config import TrainConfig


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kcolor"


def find_photos(sources, *, recursive: bool = False, drop_grey: bool = True) -> tuple[list, int]:
    """Deprecated name of :func:`find_colour_photos` (kcolor's one photo finder is
    :func:`kcolor.io.find_photos`)."""
    import warnings

    warnings.warn(
        "kcolor.training.find_photos is deprecated: use kcolor.training.find_colour_photos "
        "(or kcolor.io.find_photos for every readable photo)",
        DeprecationWarning,
        stacklevel=2,
    )
    return find_colour_photos(sources, recursive=recursive, drop_grey=drop_grey)


def find_colour_photos(
    sources, *, recursive: bool = False, drop_grey: bool = True
) -> tuple[list, int]:
    """(the colour photos of ``sources`` that training uses, how many grey ones were dropped).

    The files come from :func:`kcolor.io.find_photos`; with ``drop_grey`` every photo is
    decoded once to check its colour, and the result is cached in ``~/.cache/kcolor/``
    (keyed by the file list, sizes and dates).
    """
    from kcolor.datasets import ImageFolderDataset
    from kcolor.datasets.folder import GREY_REASON, describe_sources, skipped_summary

    files, _ = io.find_photos([os.fspath(s) for s in sources], recursive=recursive)
    if not drop_grey:
        return sorted(files), 0
    stamp = [(str(f), f.stat().st_size, int(f.stat().st_mtime)) for f in files]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:20]
    cached = _cache_dir() / f"colour_photos_{key}.json"
    if cached.is_file():
        try:
            record = json.loads(cached.read_text())
            return [Path(p) for p in record["colour"]], int(record["grey"])
        except (OSError, ValueError, KeyError):
            pass
    try:
        probe = ImageFolderDataset(files, size=8, drop_grey=True)
    except DataError as err:  # no colour photo: say so in `kcolor train`'s words
        skipped = getattr(err, "skipped", [])
        grey = sum(1 for _, reason in skipped if reason == GREY_REASON)
        if not grey:
            raise
        where = describe_sources(sources)
        keep = "pass --keep-grey (drop_grey=False) to train on them anyway"
        if grey == len(skipped):
            raise DataError(
                f"all {grey} photos in {where} are greyscale: a colouriser learns "
                f"from colour photos. Add colour photos, or {keep}"
            ) from None
        unreadable = [(p, r) for p, r in skipped if r != GREY_REASON]
        raise DataError(
            f"no colour photos in {where}: {grey} greyscale ({keep}), "
            f"{len(unreadable)} unreadable: {skipped_summary(unreadable)}"
        ) from None
    grey = sum(1 for _, reason in probe.skipped if reason == GREY_REASON)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"colour": [str(p) for p in probe.paths], "grey": grey}))
    except OSError:
        pass
    return list(probe.paths), grey


def split_photos(paths, val_split: float, seed: int, *, max_images: int = 0, val_max: int = 0):
    """Split ``paths`` into sorted (train, held-out) lists: a seeded permutation, the first
    ``val_split`` share held out (at least one photo, if any), then the caps applied."""
    paths = sorted(paths)
    order = np.random.default_rng(seed).permutation(len(paths))
    n_val = int(round(val_split * len(paths))) if len(paths) > 1 and val_split > 0 else 0
    n_val = min(max(n_val, 1 if val_split > 0 and len(paths) > 1 else 0), len(paths) - 1)
    val = sorted(paths[i] for i in order[:n_val])
    train = [paths[i] for i in order[n_val:]]
    if max_images:
        train = train[:max_images]
    if val_max:
        val = val[:val_max]
    return sorted(train), val


def _manifest_paths(manifest) -> list:
    from kcolor import curation as kdata

    return list(kdata.manifest_paths(kdata.read_manifest(manifest)))


def _sample(paths, n: int, seed: int) -> list:
    """``n`` of ``paths`` drawn with ``seed`` (all of them when ``n`` is 0), sorted."""
    paths = sorted(paths)
    if not n or len(paths) <= n:
        return paths
    keep = np.random.default_rng(seed).permutation(len(paths))[:n]
    return sorted(paths[i] for i in keep)


def config_photos(config: TrainConfig) -> tuple[list, list, int]:
    """(training photos, held-out photos, grey dropped) for ``config``."""
    if config.manifest:
        paths, grey = _manifest_paths(config.manifest), 0
    else:
        paths, grey = find_colour_photos(
            config.data, recursive=config.recursive, drop_grey=config.drop_grey
        )
    if config.val_manifest:
        # Caps take a seeded sample (a manifest is sorted by folder: its head is one folder).
        train = _sample(paths, config.max_images, config.seed)
        val = _sample(_manifest_paths(config.val_manifest), config.val_max, config.seed)
        return train, val, grey
    train, val = split_photos(
        paths, config.val_split, config.seed, max_images=config.max_images, val_max=config.val_max
    )
    if not train:
        raise DataError("no photos left to train on after the split")
    return train, val, grey


def make_datasets(config: TrainConfig, train_paths, val_paths):
    """(augmented training set, un-augmented held-out set or ``None``); with
    ``config.sizes``, the training set mixes batches of every size."""
    from kcolor.datasets import ImageFolderDataset

    def crops(size):
        return ImageFolderDataset(
            train_paths,
            size=size,
            batch_size=config.batch_size,
            augment=config.augment,
            seed=config.seed,
            repeat=config.repeat,
            workers=config.workers,
            use_multiprocessing=config.workers > 1,
        )

    train = crops(config.size)
    if config.sizes:
        from kcolor.datasets.mixed import MixedSizes

        train = MixedSizes([train, *(crops(s) for s in config.sizes)])
    val = (
        ImageFolderDataset(val_paths, size=config.size, batch_size=config.batch_size)
        if val_paths
        else None
    )
    return train, val
