"""Drop manifest rows by rule, keeping a record of which rule dropped each.

The rules, applied in this order (a row is counted under the first rule that drops it):

* ``excluded``: rows of the held-out sets given in ``exclude`` (by folder label, by path,
  or under a folder on disk: :mod:`kcolor.curation.exclusion`), e.g. test folders; always
  applied when ``exclude`` is given;
* ``leak``: rows that near-duplicate a held-out photo (in the manifest or in an excluded
  folder on disk), or share a near-duplicate group (:func:`group_keys`) with one: copies of
  held-out photos under other names; applied with ``excluded``;
* ``errors``: files that could not be read;
* ``grey``: photos without colour (``grey``, or ``chroma < grey_threshold`` when given);
* ``small``: photos whose shorter side is below ``min_side`` pixels;
* ``duplicates``: all but one photo of each original and its copies (:func:`cluster_keys`:
  the first that the rules above left, in manifest order).
"""

from __future__ import annotations

import numpy as np

from kcolor.curation.exclusion import find_excluded
from kcolor.curation.manifest import read_manifest
from kcolor.errors import DataError

__all__ = ["RULES", "clean", "cluster_keys", "group_keys", "summary_table"]

#: The rules ``drop`` may name, in the order they apply.
RULES = ("errors", "grey", "small", "duplicates")


def cluster_keys(df):
    """Each row's original: its ``duplicate_of``, or its own ``path``."""
    if "duplicate_of" not in df.columns:
        return df["path"].copy()
    dup = df["duplicate_of"]
    return dup.where(dup != "", df["path"])


def group_keys(df):
    """Each row's near-duplicate group: its ``group``, else its original (:func:`cluster_keys`)."""
    clusters = cluster_keys(df)
    if "group" not in df.columns:
        return clusters
    return df["group"].where(df["group"] != "", clusters)


def clean(
    manifest,
    drop=RULES,
    *,
    min_side: int = 64,
    grey_threshold: float | None = None,
    exclude=(),
    scan_kwargs=None,
):
    """Split a manifest into the rows kept and the rows dropped, with the reason.

    Args:
        manifest: a manifest (file or ``DataFrame``, see :func:`kcolor.curation.read_manifest`).
        drop: the rules to apply, any of :data:`RULES` (a comma-separated string works).
        min_side: for ``small``: the fewest pixels the shorter side may have.
        grey_threshold: for ``grey``: re-decide greyness as ``chroma < grey_threshold``
            instead of using the manifest's ``grey`` column.
        exclude: held-out sets: folder labels, shell patterns (``bsds500/test``,
            ``*/test``) or folders on disk, whose rows, and their near-duplicates
            anywhere, are dropped (:func:`kcolor.curation.exclusion.find_excluded`).
        scan_kwargs: for scanning an excluded folder on disk that the manifest lacks.

    Returns:
        ``(kept, dropped)``: two ``DataFrame`` in manifest order; ``dropped`` has a
        ``reason`` column (the rule's name). With ``exclude``, ``dropped.attrs["exclusion"]``
        is the :class:`~kcolor.curation.exclusion.ExclusionResult` (what each pattern matched,
        and the held-out photos).

    Raises:
        kcolor.errors.DataError: an unknown rule, a column the rules need is missing, or an
            ``exclude`` pattern that matches nothing.
    """
    df = read_manifest(manifest)
    if isinstance(drop, str):
        drop = [d.strip() for d in drop.split(",") if d.strip()]
    drop = list(drop)
    unknown = sorted(set(drop) - set(RULES))
    if unknown:
        raise DataError(f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}")
    needs = {
        "errors": ["error"],
        "grey": ["chroma" if grey_threshold is not None else "grey"],
        "small": ["width", "height"],
    }
    for rule in drop:
        missing = [c for c in needs.get(rule, []) if c not in df.columns]
        if missing:
            raise DataError(f"rule {rule!r} needs the column(s) {', '.join(missing)}")
    reason = np.array([""] * len(df), dtype=object)

    def mark(mask, name):
        mask = np.asarray(mask, dtype=bool) & (reason == "")
        reason[mask] = name

    groups = group_keys(df)
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    found = None
    if exclude:
        found = find_excluded(df, exclude, groups=groups.to_numpy(), scan_kwargs=scan_kwargs)
        mark(found.excluded, "excluded")
        mark(found.leak, "leak")
    if "errors" in drop:
        mark(df["error"] != "", "errors")
    if "grey" in drop:
        if grey_threshold is not None:
            grey = (df["chroma"] < grey_threshold).fillna(False)
        else:
            grey = df["grey"].fillna(False)
        mark(grey.to_numpy(dtype=bool), "grey")
    if "small" in drop:
        side = np.minimum(df["width"].fillna(0), df["height"].fillna(0)).to_numpy(dtype=float)
        mark(
            (side < min_side) & (df["error"] == "").to_numpy()
            if "error" in df.columns
            else side < min_side,
            "small",
        )
    if "duplicates" in drop:
        alive = reason == ""
        first = ~cluster_keys(df)[alive].duplicated(keep="first")
        later = np.zeros(len(df), dtype=bool)
        later[np.flatnonzero(alive)[~first.to_numpy()]] = True
        mark(later, "duplicates")
    dropped = df[reason != ""].copy()
    dropped.insert(len(dropped.columns), "reason", reason[reason != ""].astype(str))
    dropped = dropped.reset_index(drop=True)
    if found is not None:
        dropped.attrs["exclusion"] = found
    return df[reason == ""].reset_index(drop=True), dropped


def summary_table(total: int, dropped, rules=RULES, exclude=False):
    """A ``DataFrame`` ``rule, dropped, remaining``: how many rows each rule (of ``rules``,
    and ``excluded``/``leak`` when ``exclude`` or when they dropped any) dropped, in the order
    they apply."""
    import pandas as pd

    order = ["excluded", "leak", *RULES]
    counts = dropped["reason"].value_counts() if len(dropped) else {}
    rows, left = [], total
    for rule in order:
        n = int(counts.get(rule, 0))
        if n or rule in rules or (exclude and rule in ("excluded", "leak")):
            left -= n
            rows.append((rule, n, left))
    return pd.DataFrame(rows, columns=["rule", "dropped", "remaining"])
