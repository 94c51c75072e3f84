"""Leakage check: the photos of some folders that near-duplicate a manifest's photos.

A file of the folders that is itself in the manifest (the same path, symbolic links
resolved) is a *shared file*, counted apart: it is not reported as a near-duplicate, neither
of itself nor of the manifest's other copies of the photo (``overlap.attrs["shared"]``).
"""

from __future__ import annotations

import os

import numpy as np

from kcolor.curation.duplicates import (
    MAX_DHASH_DISTANCE,
    MAX_DISTANCE,
    hash_values,
    manifest_pairs,
)
from kcolor.curation.manifest import read_manifest
from kcolor.curation.scanner import scan

__all__ = ["find_overlap"]

OVERLAP_COLUMNS = ("path", "match", "match_folder", "distance", "dhash_distance")


def find_overlap(
    manifest,
    dirs,
    *,
    max_distance: int = MAX_DISTANCE,
    max_dhash_distance: int = MAX_DHASH_DISTANCE,
    **scan_kwargs,
):
    """Photos under ``dirs`` that are near-duplicates of photos in ``manifest``.

    A file that is itself in the manifest (the same path on disk, after resolving symbolic
    links) is a shared file: listed in ``overlap.attrs["shared"]``, and never a row of
    ``overlap`` (it would match itself, and every copy of it in the manifest).

    Args:
        manifest: a manifest file or ``DataFrame`` with ``hash`` and ``dhash`` columns.
        dirs: folders (or files) to check.
        max_distance, max_dhash_distance: as in :mod:`kcolor.curation.duplicates`.
        **scan_kwargs: for :func:`kcolor.curation.scan` (``workers``, ``progress`` ...).

    Returns:
        ``(overlap, scanned)``: ``overlap`` a ``DataFrame`` with one row per matching pair,
        columns ``path, match, match_folder, distance, dhash_distance``, sorted by
        ``path`` then ``distance``, and ``overlap.attrs["shared"]`` the paths under ``dirs``
        that are in the manifest, in scan order; ``scanned`` the manifest of ``dirs``.
    """
    import pandas as pd

    ref = read_manifest(manifest)
    scanned = scan(dirs, duplicates=False, **scan_kwargs)
    qrows, rrows, d = manifest_pairs(
        scanned, ref, max_distance=max_distance, max_dhash_distance=max_dhash_distance
    )
    qpaths = scanned["path"].to_numpy()[qrows]
    rpaths = ref["path"].to_numpy()[rrows]
    dh_q, _ = hash_values(scanned["dhash"].to_numpy()[qrows])
    dh_r, _ = hash_values(ref["dhash"].to_numpy()[rrows])
    dd = np.array([bin(int(x)).count("1") for x in np.bitwise_xor(dh_q, dh_r)], dtype=np.int64)
    folders = ref["folder"].to_numpy()[rrows] if "folder" in ref.columns else [""] * len(rrows)
    out = pd.DataFrame(
        {
            "path": qpaths,
            "match": rpaths,
            "match_folder": folders,
            "distance": d,
            "dhash_distance": dd,
        }
    )
    in_manifest = {os.path.realpath(p) for p in ref["path"] if p}
    shared = [p for p in scanned["path"] if p and os.path.realpath(p) in in_manifest]
    if len(out):
        out = out[~out["path"].isin(set(shared))]
    out = out.sort_values(["path", "distance", "match"], kind="stable").reset_index(drop=True)
    out.attrs["shared"] = shared
    return out, scanned
