"""Near-duplicate photos: close perceptual hashes, grouped with union-find.

Two photos are near-duplicates when their ``imagehash.phash`` differ in at most
``max_distance`` of 64 bits **and** their ``imagehash.dhash`` in at most
``max_dhash_distance`` (the second hash, of another kind, vetoes the chance matches one hash
alone makes among tens of thousands of photos). See :func:`near_duplicates` for the
``duplicate_of`` and ``group`` columns this gives.

Finding the pairs compares every hash with every other, vectorised in blocks (XOR and a
bit count on ``uint64``): exact, memory bounded by the block, quadratic in time.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_DHASH_DISTANCE",
    "MAX_DISTANCE",
    "close_pairs",
    "duplicate_of",
    "hash_values",
    "manifest_pairs",
    "near_duplicates",
    "union_find",
]

#: Most phash bits (of 64) two near-duplicates differ in.
MAX_DISTANCE = 8
#: Most dhash bits (of 64) two near-duplicates differ in.
MAX_DHASH_DISTANCE = 10

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def _popcount(x: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _POPCOUNT8[x.view(np.uint8)].reshape(*x.shape, 8).sum(-1, dtype=np.uint8)


def hash_values(hex_hashes) -> tuple[np.ndarray, np.ndarray]:
    """``(values, valid)``: 64-bit hexadecimal hashes as ``uint64``, and which were present."""
    hex_hashes = ["" if h is None else str(h) for h in hex_hashes]
    valid = np.array([len(h) == 16 for h in hex_hashes], dtype=bool)
    values = np.array(
        [int(h, 16) if ok else 0 for h, ok in zip(hex_hashes, valid, strict=False)], np.uint64
    )
    return values, valid


def close_pairs(
    a: np.ndarray,
    b: np.ndarray | None = None,
    max_distance: int = MAX_DISTANCE,
    block: int | None = None,
):
    """Index pairs of ``uint64`` hashes within ``max_distance`` bits of each other.

    Args:
        a: hashes, shape ``(n,)``.
        b: other hashes; ``None`` compares ``a`` with itself (each pair once, ``i < j``).
        max_distance: most bits that may differ.
        block: rows of ``a`` compared at a time (memory is ``block * len(b)`` bytes x 9);
            default: as many as keep that under about 36 MB.

    Returns:
        ``(i, j, distance)`` int arrays: ``a[i]`` is close to ``b[j]`` (or ``a[j]``).
    """
    a = np.asarray(a, dtype=np.uint64)
    same = b is None
    b = a if same else np.asarray(b, dtype=np.uint64)
    if block is None:
        block = int(min(1024, max(1, 2**22 // max(1, len(b)))))
    out_i, out_j, out_d = [], [], []
    for start in range(0, len(a), block):
        rows = a[start : start + block]
        cols = b[start:] if same else b
        offset = start if same else 0
        dist = _popcount(rows[:, None] ^ cols[None, :])
        close = dist <= max_distance
        if same:  # each pair once: column (global) index above the row's
            close &= np.arange(len(cols))[None, :] > np.arange(len(rows))[:, None]
        ii, jj = np.nonzero(close)
        out_i.append(ii + start)
        out_j.append(jj + offset)
        out_d.append(dist[ii, jj])
    if not out_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (
        np.concatenate(out_i).astype(np.int64),
        np.concatenate(out_j).astype(np.int64),
        np.concatenate(out_d).astype(np.int64),
    )


def union_find(n: int, i, j) -> np.ndarray:
    """The root of each of ``n`` items after joining the pairs ``(i[k], j[k])``: the group's
    smallest index."""
    parent = list(range(n))

    def find(x):
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for x, y in zip(np.asarray(i).tolist(), np.asarray(j).tolist(), strict=False):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    return np.array([find(x) for x in range(n)], dtype=np.int64)


def near_pairs(
    phash_a,
    dhash_a,
    phash_b=None,
    dhash_b=None,
    *,
    max_distance=MAX_DISTANCE,
    max_dhash_distance=MAX_DHASH_DISTANCE,
):
    """``(i, j, phash distance)`` of the near-duplicate pairs (both hashes close)."""
    i, j, d = close_pairs(phash_a, phash_b, max_distance)
    db = dhash_a if dhash_b is None else dhash_b
    keep = _popcount(np.asarray(dhash_a, np.uint64)[i] ^ np.asarray(db, np.uint64)[j])
    keep = keep <= max_dhash_distance
    return i[keep], j[keep], d[keep]


def manifest_pairs(df_a, df_b, *, max_distance=MAX_DISTANCE, max_dhash_distance=MAX_DHASH_DISTANCE):
    """Near-duplicate pairs between two manifests (``hash`` and ``dhash`` columns).

    Rows without both hashes (unreadable files) never pair.

    Returns:
        ``(i, j, d)``: row positions in ``df_a`` and ``df_b`` of each pair, and their
        ``phash`` distance.
    """
    pa, oka = hash_values(df_a["hash"] if "hash" in df_a.columns else [""] * len(df_a))
    da, okd_a = hash_values(df_a["dhash"] if "dhash" in df_a.columns else [""] * len(df_a))
    pb, okb = hash_values(df_b["hash"] if "hash" in df_b.columns else [""] * len(df_b))
    db, okd_b = hash_values(df_b["dhash"] if "dhash" in df_b.columns else [""] * len(df_b))
    ia, ib = np.flatnonzero(oka & okd_a), np.flatnonzero(okb & okd_b)
    if not len(ia) or not len(ib):
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    i, j, d = near_pairs(
        pa[ia],
        da[ia],
        pb[ib],
        db[ib],
        max_distance=max_distance,
        max_dhash_distance=max_dhash_distance,
    )
    return ia[i], ib[j], d


def near_duplicates(
    df, *, max_distance: int = MAX_DISTANCE, max_dhash_distance: int = MAX_DHASH_DISTANCE
) -> tuple[list[str], list[str]]:
    """``(duplicate_of, group)`` for each row of a manifest (``hash`` and ``dhash`` columns).

    * ``duplicate_of``: the ``path`` of the first earlier row that is a near-duplicate of
      this one and is itself an original (has no ``duplicate_of``); ``""`` for originals,
      photos without near-duplicates and unreadable files. So every photo named as an
      original is within the thresholds of each of its copies.
    * ``group``: the ``path`` of the first row of the photo's connected group (near-duplicates
      of near-duplicates, by union-find); ``""`` for photos without near-duplicates. Splits
      keep a group together, so no chain of near-duplicates crosses two splits.
    """
    phash, ok = hash_values(df["hash"])
    dhash, ok_d = hash_values(df["dhash"]) if "dhash" in df.columns else (phash, ok)
    ok &= ok_d
    index = np.flatnonzero(ok)
    i, j, _ = near_pairs(
        phash[index],
        dhash[index],
        max_distance=max_distance,
        max_dhash_distance=max_dhash_distance,
    )
    paths = df["path"].tolist()
    duplicate = [""] * len(df)
    group = [""] * len(df)
    roots = union_find(len(index), i, j)
    in_group = np.zeros(len(index), dtype=bool)
    in_group[i] = in_group[j] = True
    for k in np.flatnonzero(in_group).tolist():
        group[index[k]] = paths[index[roots[k]]]
    leader = np.ones(len(index), dtype=bool)
    order = np.lexsort((i, j))  # by the later row, then the earlier one
    for a, b in zip(i[order].tolist(), j[order].tolist(), strict=True):
        if leader[b] and leader[a]:  # b's first earlier original
            leader[b] = False
            duplicate[index[b]] = paths[index[a]]
    return duplicate, group


def duplicate_of(df, **kwargs) -> list[str]:
    """The ``duplicate_of`` column of :func:`near_duplicates`."""
    return near_duplicates(df, **kwargs)[0]
