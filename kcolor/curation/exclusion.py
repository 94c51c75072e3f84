"""Held-out photos kept out of training: exclusion by path, by folder label and by hash.

A held-out set (``bsds500/test``, say) is named by a pattern. A manifest row is **excluded**
when the pattern matches

* its ``folder`` label (a shell pattern: ``bsds500/test``, ``*/test``), or
* its path: the pattern matches the trailing folders of the row's directory
  (``bsds500/test`` matches ``/any/where/bsds500/test/x.jpg``), or, when the pattern is a
  folder on disk, the row's file lies under it (the same file, however it was named when
  scanned).

A row is a **leak** when it is a near-duplicate (:mod:`kcolor.curation.duplicates`: both
perceptual hashes close) of an excluded row, or of a photo in a pattern's folder on disk
that the manifest does not hold: a copy of a test photo under another name is caught too.

A pattern that matches nothing (no row by label or path, and no folder on disk) is an
error that lists the folder labels the manifest does have: a typo must not let the test
set through silently.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"path": ["/d/bsds500/test/1.jpg", "/d/mine/a.jpg"],
    ...                    "folder": ["d/bsds500/test", "d/mine"],
    ...                    "hash": ["", ""], "dhash": ["", ""]})
    >>> found = find_excluded(df, ["bsds500/test"])
    >>> found.excluded.tolist(), found.leak.tolist()
    ([True, False], [False, False])
    >>> find_excluded(df, ["no/such/folder"])
    Traceback (most recent call last):
    ...
    kcolor.errors.DataError: --exclude no/such/folder matches no row of the manifest (by folder label or path) and is not a folder on disk; the manifest's folder labels are: d/bsds500/test, d/mine
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import PurePath

import numpy as np

from kcolor.curation.duplicates import MAX_DHASH_DISTANCE, MAX_DISTANCE, manifest_pairs
from kcolor.errors import DataError

__all__ = ["ExclusionResult", "find_excluded", "held_out_path", "leak_check"]

#: Columns of a held-out list (``CLEAN.held-out.csv``, written by ``kcolor data clean``).
HELD_OUT_COLUMNS = ("path", "folder", "hash", "dhash", "pattern")


@dataclass
class ExclusionResult:
    """What :func:`find_excluded` found.

    Attributes:
        excluded: per row, whether a pattern matched it by label or path.
        leak: per row (not excluded), whether it near-duplicates a held-out photo.
        counts: per pattern ``{"pattern", "by_label", "by_path", "on_disk", "leak"}``.
        held_out: the held-out photos (rows excluded plus photos of on-disk folders),
            columns :data:`HELD_OUT_COLUMNS`.
    """

    excluded: np.ndarray
    leak: np.ndarray
    counts: list = field(default_factory=list)
    held_out: object = None

    def describe(self) -> list[str]:
        """One line per pattern: what it excluded and how."""
        lines = []
        for c in self.counts:
            how = []
            if c["by_label"]:
                how.append(f"{c['by_label']} by folder label")
            if c["by_path"]:
                how.append(f"{c['by_path']} more by path")
            disk = f"; {c['on_disk']} photo(s) of the folder on disk hashed" if c["on_disk"] else ""
            lines.append(
                f"excluded {c['pattern']}: {c['by_label'] + c['by_path']} row(s)"
                f"{' (' + ', '.join(how) + ')' if how else ''}, "
                f"{c['leak']} near-duplicate(s) elsewhere dropped as leaks{disk}"
            )
        return lines


def _dir_matches(parent: str, pattern: str) -> bool:
    """Whether the trailing folders of ``parent`` (posix) match ``pattern``."""
    pattern = pattern.strip("/")
    return fnmatch.fnmatchcase("/" + parent.strip("/") + "/", "*/" + pattern + "/")


def _near(df_a, df_b, max_distance, max_dhash_distance) -> np.ndarray:
    """Per row of ``df_a``: whether it near-duplicates any row of ``df_b``."""
    out = np.zeros(len(df_a), dtype=bool)
    if len(df_a) and len(df_b):
        i, _, _ = manifest_pairs(
            df_a, df_b, max_distance=max_distance, max_dhash_distance=max_dhash_distance
        )
        out[i] = True
    return out


def find_excluded(
    df,
    patterns,
    *,
    max_distance: int = MAX_DISTANCE,
    max_dhash_distance: int = MAX_DHASH_DISTANCE,
    scan_kwargs=None,
    groups=None,
) -> ExclusionResult:
    """Which rows of manifest ``df`` the exclusion ``patterns`` drop, and why.

    Args:
        df: a manifest ``DataFrame`` (``path``; ``folder``, ``hash``, ``dhash`` used when
            present).
        patterns: folder labels, shell patterns or folders on disk.
        max_distance, max_dhash_distance: near-duplicate thresholds
            (:mod:`kcolor.curation.duplicates`).
        scan_kwargs: for :func:`kcolor.curation.scan` when a pattern is a folder on disk
            (``workers``, ``progress``).
        groups: each row's near-duplicate group (:func:`kcolor.curation.cleaning.group_keys`);
            a row sharing a group with an excluded row is a leak too.

    Raises:
        kcolor.errors.DataError: a pattern matches nothing and is not a folder on disk.
    """
    import pandas as pd

    patterns = [patterns] if isinstance(patterns, str) else [str(p) for p in patterns]
    n = len(df)
    paths = df["path"].astype(str).tolist()
    folders = df["folder"].astype(str).tolist() if "folder" in df.columns else [""] * n
    parents = [PurePath(p).parent.as_posix() for p in paths]
    excluded = np.zeros(n, dtype=bool)
    leak = np.zeros(n, dtype=bool)
    held = []
    counts = []
    real = None
    for pattern in patterns:
        pat = pattern.rstrip("/") or pattern
        by_label = np.array([fnmatch.fnmatchcase(f, pat) for f in folders], dtype=bool)
        by_path = np.array([_dir_matches(p, pat) for p in parents], dtype=bool)
        on_disk = None
        if os.path.isdir(pattern):
            root = os.path.realpath(pattern)
            if real is None:
                real = [os.path.realpath(p) for p in paths]
            by_path |= np.array([r.startswith(root + os.sep) for r in real], dtype=bool)
            on_disk = _scan_folder(pattern, scan_kwargs)
        hit = by_label | by_path
        if not hit.any() and on_disk is None:
            labels = sorted(set(folders)) or ["(no folder column)"]
            shown = ", ".join(labels[:20]) + (
                f", ... ({len(labels)} in all)" if len(labels) > 20 else ""
            )
            raise DataError(
                f"--exclude {pattern} matches no row of the manifest (by folder label or path) "
                f"and is not a folder on disk; the manifest's folder labels are: {shown}"
            )
        new_leak = _near(df, df[hit], max_distance, max_dhash_distance) & ~hit
        if on_disk is not None and len(on_disk):
            new_leak |= _near(df, on_disk, max_distance, max_dhash_distance) & ~hit
        if groups is not None and hit.any():
            g = np.asarray(groups)
            new_leak |= np.isin(g, g[hit]) & ~hit
        new_leak &= ~excluded
        counts.append(
            {
                "pattern": pattern,
                "by_label": int((by_label & ~excluded).sum()),
                "by_path": int((by_path & ~by_label & ~excluded).sum()),
                "on_disk": 0 if on_disk is None else len(on_disk),
                "leak": int((new_leak & ~leak).sum()),
            }
        )
        part = df[hit][[c for c in ("path", "folder", "hash", "dhash") if c in df.columns]].copy()
        part["pattern"] = pattern
        held.append(part)
        if on_disk is not None and len(on_disk):
            extra = on_disk[["path", "folder", "hash", "dhash"]].copy()
            extra["pattern"] = pattern
            held.append(extra)
        excluded |= hit
        leak |= new_leak
    leak &= ~excluded
    held_out = (
        pd.concat(held, ignore_index=True) if held else pd.DataFrame(columns=HELD_OUT_COLUMNS)
    )
    for c in HELD_OUT_COLUMNS:
        if c not in held_out.columns:
            held_out[c] = ""
    held_out = held_out[list(HELD_OUT_COLUMNS)].drop_duplicates("path").reset_index(drop=True)
    return ExclusionResult(excluded, leak, counts, held_out)


def _scan_folder(folder, scan_kwargs):
    """Hashes of the photos in a held-out folder on disk (cached by the scanner's callers)."""
    from kcolor.curation.scanner import scan

    kwargs = {"progress": False, **(scan_kwargs or {})}
    try:
        scanned = scan([folder], duplicates=False, **kwargs)
    except DataError:
        import pandas as pd

        return pd.DataFrame(columns=["path", "folder", "hash", "dhash"])
    return scanned[scanned["error"] == ""].reset_index(drop=True)


def held_out_path(manifest) -> str:
    """Where ``kcolor data clean`` records the held-out photos of ``manifest``."""
    stem, _ = os.path.splitext(os.fspath(manifest))
    return stem + ".held-out.csv"


def leak_check(
    df, held_out, *, max_distance: int = MAX_DISTANCE, max_dhash_distance: int = MAX_DHASH_DISTANCE
):
    """Rows of ``df`` that are a held-out photo (same file) or near-duplicate one.

    Returns:
        A ``DataFrame`` of the leaking rows of ``df`` (``path``, ``folder``) with a ``why``
        column (``"same file"`` or ``"near-duplicate"``).
    """
    held_paths = {os.path.realpath(p) for p in held_out["path"].astype(str)}
    same = np.array([os.path.realpath(p) in held_paths for p in df["path"].astype(str)], bool)
    near = _near(df, held_out, max_distance, max_dhash_distance) & ~same
    cols = [c for c in ("path", "folder") if c in df.columns]
    out = df[same | near][cols].copy()
    out["why"] = np.where(same[same | near], "same file", "near-duplicate")
    return out.reset_index(drop=True)
