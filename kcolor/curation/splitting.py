"""Train / validation / test splits of a manifest: deterministic, stratified, leak-free.

How rows are assigned:

1. Rows are grouped by near-duplicate group (:func:`kcolor.curation.cleaning.group_keys`);
   a group is one unit and goes to one split whole, so near-duplicates never straddle
   splits. A unit belongs to the folder and label of its original (the row that the
   others' ``duplicate_of`` names; else its first path).
2. Within each folder, each label's units are shuffled and given quantiles
   ``q = (rank + u) / n`` (``n`` units of that label, ``u`` one random offset per label),
   so every label's units spread evenly over ``[0, 1)``.
3. The folder's units, sorted by ``q``, fill ``test`` up to ``round(test * rows)`` rows,
   then ``val`` up to ``round(val * rows)``; the rest is ``train``. Each folder gets its
   share (to within a group's size), and each label about its share (exactly, when a label
   has enough units; a label with one unit goes to a split at random).

Labels come from the manifest's ``label`` column (see :mod:`kcolor.curation.labels`), else
from the file names. The randomness of a folder depends only on ``seed`` and the folder's
name, and units are ordered by their paths first, so the split does not depend on the
manifest's row order nor on the other folders.
"""

from __future__ import annotations

import zlib

import numpy as np

from kcolor.curation.cleaning import group_keys
from kcolor.curation.labels import label_from_name
from kcolor.curation.manifest import read_manifest
from kcolor.errors import DataError

__all__ = ["SPLITS", "split", "split_table"]

SPLITS = ("train", "val", "test")


def split(manifest, *, val: float = 0.05, test: float = 0.05, seed: int = 0):
    """The manifest with a ``split`` column: ``"train"``, ``"val"`` or ``"test"``.

    Args:
        manifest: a manifest file or ``DataFrame`` (see :func:`kcolor.curation.read_manifest`).
        val: fraction of each folder's rows for validation.
        test: fraction of each folder's rows for testing.
        seed: the random seed; the same manifest and seed always give the same split.

    Raises:
        kcolor.errors.DataError: fractions outside ``[0, 1)`` or summing to 1 or more, or an
            empty manifest.
    """
    df = read_manifest(manifest)
    for name, value in (("val", val), ("test", test)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"--{name} must be a fraction in [0, 1), got {value}")
    if val + test >= 1.0:
        raise DataError(f"val + test must leave rows for training, got {val} + {test}")
    if not len(df):
        raise DataError("the manifest has no rows to split")
    groups = group_keys(df).to_numpy()
    folders = df["folder"].to_numpy() if "folder" in df.columns else np.array([""] * len(df))
    if "label" in df.columns:
        labels = df["label"].to_numpy()
    else:
        labels = np.array([label_from_name(p) for p in df["path"]], dtype=object)
    # one unit per group, represented by its original (the row whose path is the group's
    # key), else by its first path: independent of the row order
    paths = df["path"].to_numpy()
    by_rep = np.lexsort((paths, groups != paths))
    _, at = np.unique(groups[by_rep], return_index=True)
    first = np.sort(by_rep[at])
    unit_of_row = {g: k for k, g in enumerate(groups[first])}
    sizes = np.bincount([unit_of_row[g] for g in groups], minlength=len(first))
    unit_split = np.empty(len(first), dtype=object)
    unit_folder = folders[first]
    for folder in sorted(set(unit_folder.tolist())):
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(str(folder).encode())])
        units = np.flatnonzero(unit_folder == folder)
        units = units[np.argsort(groups[first][units], kind="stable")]  # by path: order-free
        unit_labels = labels[first][units]
        q = np.empty(len(units))
        for label in sorted(set(unit_labels.tolist())):
            members = np.flatnonzero(unit_labels == label)
            ranks = rng.permutation(len(members))
            q[members] = (ranks + rng.random()) / len(members)
        order = units[np.lexsort((rng.random(len(units)), q))]
        rows = int(sizes[units].sum())
        want = {"test": round(test * rows), "val": round(val * rows)}
        filled = {"test": 0, "val": 0}
        for unit in order:
            for name in ("test", "val"):
                if filled[name] < want[name]:
                    unit_split[unit] = name
                    filled[name] += int(sizes[unit])
                    break
            else:
                unit_split[unit] = "train"
    out = df.copy()
    out["split"] = [unit_split[unit_of_row[g]] for g in groups]
    return out


def split_table(df):
    """Rows per folder and split (with totals), from a frame with a ``split`` column."""
    import pandas as pd

    folders = df["folder"] if "folder" in df.columns else pd.Series([""] * len(df))
    table = pd.crosstab(folders, pd.Categorical(df["split"], categories=SPLITS), dropna=False)
    table.columns = list(SPLITS)
    table.index.name = "folder"
    table["total"] = table.sum(axis=1)
    table.loc["all"] = table.sum(axis=0)
    return table
