"""Manifests: one ``pandas`` row per photo file, in CSV or Parquet.

:func:`read_manifest` and :func:`write_manifest` keep every text column text (a hash of
only digits, a label ``NA``, an empty ``error``) and the numeric columns numeric, so a
manifest reads back exactly as it was written. Relative paths in a manifest are taken
relative to the manifest file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from kcolor.errors import DataError
from kcolor.io import atomic_path

__all__ = ["COLUMNS", "manifest_paths", "normalise", "read_manifest", "write_manifest"]

#: The columns :func:`kcolor.curation.scan` writes, in order (see :mod:`kcolor.curation.scanner`).
COLUMNS = (
    "path",
    "folder",
    "label",
    "bytes",
    "format",
    "mode",
    "width",
    "height",
    "grey",
    "chroma",
    "colourfulness",
    "mean_l",
    "hash",
    "dhash",
    "duplicate_of",
    "group",
    "error",
)

_TEXT = (
    "path",
    "folder",
    "label",
    "format",
    "mode",
    "hash",
    "dhash",
    "duplicate_of",
    "group",
    "error",
)
_INT = ("bytes", "width", "height")
_FLOAT = ("chroma", "colourfulness", "mean_l")


def normalise(df):
    """The manifest ``df`` with its columns' dtypes made canonical (a copy; extra columns kept).

    Text columns become ``str`` with ``""`` for missing, ``bytes``/``width``/``height``
    nullable ``Int64``, ``grey`` nullable ``boolean``, the measures ``float64``.
    """
    import pandas as pd

    df = df.copy()
    for name in _TEXT:
        if name in df.columns:
            df[name] = df[name].astype(object).where(df[name].notna(), "").astype(str)
    for name in _INT:
        if name in df.columns:
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("Int64")
    for name in _FLOAT:
        if name in df.columns:
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
    if "grey" in df.columns:
        grey = df["grey"]
        if grey.dtype == object or str(grey.dtype) in ("str", "string"):
            grey = grey.map(
                lambda v: (
                    {"true": True, "false": False}.get(str(v).strip().lower(), pd.NA)
                    if not isinstance(v, bool)
                    else v
                )
            )
        df["grey"] = grey.astype("boolean")
    return df


def read_manifest(path_or_df):
    """A manifest as a ``pandas.DataFrame``: from a ``.csv`` / ``.parquet`` file, or a frame.

    Args:
        path_or_df: a manifest file (CSV, or Parquet by its extension) or a ``DataFrame``
            with at least a ``path`` column.

    Returns:
        The manifest with canonical dtypes (:func:`normalise`); relative paths made
        absolute against the manifest file's folder.

    Raises:
        kcolor.errors.DataError: the file is missing, unreadable, or has no ``path`` column.

    Example:
        >>> df = read_manifest("splits/train.csv")            # doctest: +SKIP
    """
    import pandas as pd

    base = None
    if isinstance(path_or_df, pd.DataFrame):
        df, where = path_or_df, "the manifest"
    else:
        where = os.fspath(path_or_df)
        if not os.path.isfile(where):
            raise DataError(f"{where}: manifest not found")
        base = os.path.dirname(os.path.abspath(where))
        try:
            if where.lower().endswith((".parquet", ".pq")):
                df = pd.read_parquet(where)
            else:
                df = pd.read_csv(
                    where,
                    dtype={c: str for c in _TEXT},
                    keep_default_na=False,
                    na_values={c: [""] for c in (*_INT, *_FLOAT, "grey")},
                )
        except ImportError as e:
            raise DataError(f"{where}: reading Parquet needs pyarrow ({e})") from None
        except Exception as e:
            raise DataError(f"{where}: not a readable manifest ({type(e).__name__}: {e})") from None
    if "path" not in df.columns:
        raise DataError(f"{where}: no 'path' column (columns: {', '.join(map(str, df.columns))})")
    df = normalise(df)
    if base is not None:
        df["path"] = [p if not p or os.path.isabs(p) else os.path.join(base, p) for p in df["path"]]
    return df.reset_index(drop=True)


def write_manifest(df, path) -> Path:
    """Write ``df`` to ``path`` (Parquet when it ends in ``.parquet``, else CSV); make folders.

    Raises:
        kcolor.errors.DataError: Parquet without pyarrow installed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = normalise(df)
    with atomic_path(path, suffix=path.suffix) as tmp:
        if path.suffix.lower() in (".parquet", ".pq"):
            try:
                df.to_parquet(tmp, index=False)
            except ImportError as e:
                raise DataError(
                    f"{path}: writing Parquet needs pyarrow (pip install pyarrow): {e}"
                ) from None
        else:
            df.to_csv(tmp, index=False)
    return path


def manifest_paths(df, *, check: bool = True) -> list[Path]:
    """The manifest's files, in its order, as ``pathlib.Path`` (after :func:`read_manifest`).

    Args:
        df: a manifest ``DataFrame`` (or anything :func:`read_manifest` takes).
        check: make sure every file exists.

    Raises:
        kcolor.errors.DataError: no rows, or files are missing (moved or deleted): the
            message gives how many and names the first five.
    """
    where = "" if hasattr(df, "columns") else f"{os.fspath(df)}: "
    df = read_manifest(df)
    paths = [Path(p) for p in df["path"]]
    if not paths:
        raise DataError(f"{where}the manifest has no rows")
    if check:
        missing = [p for p in paths if not p.is_file()]
        if missing:
            first = ", ".join(os.fspath(p) for p in missing[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise DataError(
                f"{where}{len(missing)} of the manifest's {len(paths)} files are missing "
                f"(moved or deleted since the scan?): {first}{more}"
            )
    return paths
