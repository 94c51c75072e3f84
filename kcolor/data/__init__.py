"""Preparing photo sets with pandas: scan folders into a manifest, clean it, split it.

* :func:`scan` - one row per file: size, mode, greyness, colourfulness, perceptual hash,
  near-duplicates, read errors (:mod:`kcolor.data.scanner`);
* :func:`clean` - drop rows by rule (errors, grey, duplicates, small) with a report;
* :func:`split` - deterministic train/val/test, stratified, near-duplicate groups kept whole;
* :func:`find_overlap` - photos of a folder that near-duplicate a manifest's (leakage check);
* :func:`read_manifest`, :func:`write_manifest`, :func:`manifest_paths` - manifest files.

The ``kcolor data`` command (:mod:`kcolor.data.cli`) runs them from the shell. Nothing here
imports Keras or torch; pandas and matplotlib load on first use.

Example:
    >>> from kcolor import data
    >>> manifest = data.scan(["photos/"])                          # doctest: +SKIP
    >>> kept, dropped = data.clean(manifest, drop=("errors", "grey", "duplicates"))  # doctest: +SKIP
    >>> splits = data.split(kept, val=0.05, test=0.05, seed=0)     # doctest: +SKIP
"""

from __future__ import annotations

_LAZY = {
    "scan": "kcolor.data.scanner",
    "clean": "kcolor.data.cleaning",
    "split": "kcolor.data.splitting",
    "find_overlap": "kcolor.data.overlap",
    "read_manifest": "kcolor.data.manifest",
    "write_manifest": "kcolor.data.manifest",
    "manifest_paths": "kcolor.data.manifest",
    "COLUMNS": "kcolor.data.manifest",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    # Lazy, so that `kcolor --help` (which registers `kcolor data`) does not load pandas.
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kcolor.data' has no attribute {name!r}")
